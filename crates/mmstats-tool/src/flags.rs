//! Flags every reader tool has, declared once.

/// `--trust-dir`: read stats directories that another user owns or everyone can write to
/// (FORMAT.md §6.1 refuses them by default). Flatten it into a tool's arguments with
/// `#[command(flatten)]`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct DirTrust {
    /// Read stats directories even if another user owns them or everyone can write to them.
    #[arg(long)]
    pub trust_dir: bool,
}

impl DirTrust {
    /// Tells the reader whether to trust such directories, for the rest of the process.
    pub fn apply(self) {
        mmstats_reader::trust_dirs(self.trust_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        dirs: DirTrust,
    }

    #[test]
    fn the_flag_parses_and_defaults_to_off() {
        assert!(!Cli::parse_from(["t"]).dirs.trust_dir);
        assert!(Cli::parse_from(["t", "--trust-dir"]).dirs.trust_dir);
    }
}
