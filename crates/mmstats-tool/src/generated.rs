//! Shell completions and man pages, generated from a tool's clap definition by clap's own
//! crates (`clap_complete`, `clap_mangen`), so they never drift from the flags.
//!
//! Every tool answers two hidden requests before parsing its arguments (see [`crate::main`]):
//! `TOOL --completions SHELL` prints the completion script for `bash`, `zsh`, `fish`, `elvish`
//! or `powershell`, and `TOOL --man` prints the man page (roff).
//!
//! ```
//! let cmd = clap::Command::new("demo").arg(clap::Arg::new("json").long("json"));
//! let mut page = Vec::new();
//! mmstats_tool::generated::man(cmd.clone(), &mut page)?;
//! assert!(String::from_utf8_lossy(&page).contains("json"));
//! let mut script = Vec::new();
//! mmstats_tool::generated::completions(cmd, clap_complete::Shell::Bash, &mut script);
//! assert!(String::from_utf8_lossy(&script).contains("--json"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Write};

pub use clap_complete::Shell;

/// What the command line asks to be generated instead of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `--completions SHELL`.
    Completions(Shell),
    /// `--man`.
    Man,
}

/// Reads a generation request from the arguments after the program name: exactly
/// `--completions SHELL` or `--man`. Anything else is a normal run (`None`); an unknown shell
/// is an error naming the ones known.
pub fn request<I, S>(args: I) -> Result<Option<Request>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().collect();
    let arg = |i: usize| args.get(i).and_then(|a| a.as_ref().to_str());
    match (args.len(), arg(0)) {
        (1, Some("--man")) => Ok(Some(Request::Man)),
        (2, Some("--completions")) => {
            let shell = arg(1).unwrap_or_default();
            shell
                .parse::<Shell>()
                .map(|s| Some(Request::Completions(s)))
                .map_err(|_| {
                    format!(
                        "--completions: unknown shell {shell:?} (known: bash, zsh, fish, elvish, powershell)"
                    )
                })
        }
        _ => Ok(None),
    }
}

/// Writes `cmd`'s completion script for `shell`.
pub fn completions(mut cmd: clap::Command, shell: Shell, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Writes `cmd`'s man page (roff).
pub fn man(cmd: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(cmd).render(out)
}

/// Writes what `request` asks for.
pub fn write(cmd: clap::Command, request: Request, out: &mut dyn Write) -> io::Result<()> {
    match request {
        Request::Completions(shell) => {
            completions(cmd, shell, out);
            Ok(())
        }
        Request::Man => man(cmd, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_exactly_the_two_forms() {
        assert_eq!(request(["--man"]), Ok(Some(Request::Man)));
        assert_eq!(
            request(["--completions", "zsh"]),
            Ok(Some(Request::Completions(Shell::Zsh)))
        );
        assert_eq!(request(["--man", "x"]), Ok(None));
        assert_eq!(request(Vec::<&str>::new()), Ok(None));
        assert_eq!(request(["--json"]), Ok(None));
        let err = request(["--completions", "tcsh"]).unwrap_err();
        assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    }
}
