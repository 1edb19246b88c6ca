//! Command-line arguments.

use clap::Parser;

const AFTER_HELP: &str = "\
A file is removed only when nothing holds its lock and the process it names (pid, start time,
boot) is gone. Symlinks, directories and files that are not mmstats files are left alone.
Files of the original (version 1) format are judged by their sys.pid field. HotSpot JVMs'
performance data files (hsperfdata) are never removed, even when named: the JVM removes its own.

Examples:
  cleanstats                         clean the default stats directory
  cleanstats --dry-run               show what would be removed
  cleanstats '/dev/shm/mmstats-*/*.mmstats'
  crontab line, every ten minutes, silent unless something goes wrong:
    */10 * * * * cleanstats --quiet

Output: one 'removed <path>' line per removed file, then 'removed N, M alive, K skipped'.

Exit status:
  0  every file was examined (whether or not anything was removed)
  1  some file could not be examined or removed (reported on stderr)
  2  bad usage or a fatal error";

/// Remove mmstats files whose writer is gone.
#[derive(Debug, Clone, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Files or globs to clean [default: the default glob].
    #[arg(value_name = "PATH|GLOB")]
    pub paths: Vec<String>,

    /// Say what would be removed; remove nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Print nothing unless something goes wrong.
    #[arg(short, long)]
    pub quiet: bool,

    #[command(flatten)]
    /// Which stats directories to trust, as every reader tool reads them.
    pub dirs: mmstats_tool::DirTrust,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn parses() {
        let c = Cli::parse_from(["cleanstats", "-q", "-n", "a", "b*"]);
        assert!(c.quiet && c.dry_run);
        assert_eq!(c.paths, ["a", "b*"]);
        Cli::command().debug_assert();
    }
}
