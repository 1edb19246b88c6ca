//! The full-screen view (`pollstats --tui`).

use std::process::ExitCode;

use crate::cli::Cli;

/// Runs the full-screen view until `q`.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let _ = cli;
    anyhow::bail!("--tui is not available yet")
}
