//! Turning a run's result into an exit status: errors printed with their causes, and a closed
//! pipe (`slurpstats | head`) treated as success, quietly.

use std::io;
use std::process::ExitCode;

/// True if any error in the chain is a broken pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The exit status for a run: its own on success, 0 on a broken pipe, else 2 after printing
/// `tool: error` and each cause.
pub fn code(tool: &str, result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn broken_pipe_found_anywhere_in_the_chain() {
        let e: anyhow::Result<()> =
            Err(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e.unwrap_err()));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
        let r: anyhow::Result<ExitCode> = Err(io::Error::from(io::ErrorKind::BrokenPipe).into());
        assert_eq!(code("t", r), ExitCode::SUCCESS);
        assert_eq!(code("t", Err(anyhow::anyhow!("bad"))), ExitCode::from(2));
    }
}
