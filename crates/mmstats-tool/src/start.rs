//! A tool's `main`, written once.

use std::process::ExitCode;

use clap::Parser;

use crate::generated;

/// Runs a tool: answers `--completions SHELL` and `--man` from the command's clap definition
/// ([`generated`]), else raises the open-file limit ([`crate::raise_open_file_limit`]),
/// parses the arguments (clap prints usage errors and `--help` itself) and runs `run`,
/// turning its result into the exit status ([`crate::exit_code`]).
pub fn main<C: Parser>(tool: &str, run: impl FnOnce(C) -> anyhow::Result<ExitCode>) -> ExitCode {
    match generated::request(std::env::args_os().skip(1)) {
        Ok(Some(request)) => {
            let mut out = std::io::stdout().lock();
            let written = generated::write(C::command(), request, &mut out);
            return crate::exit_code(
                tool,
                written.map(|()| ExitCode::SUCCESS).map_err(Into::into),
            );
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("{tool}: {e}");
            return ExitCode::from(2);
        }
    }
    // Thousands of files stay open at once; the default soft limit is often 1,024. A tool
    // that cannot raise it still runs, with fewer files.
    let _ = crate::raise_open_file_limit();
    let cli = C::parse();
    crate::exit_code(tool, run(cli))
}
