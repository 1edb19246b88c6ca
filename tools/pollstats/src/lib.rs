//! `pollstats`: watch mmstats fields over time, as vmstat-like rows or a full-screen view.
//!
//! ```
//! use clap::Parser;
//! let cli = pollstats::cli::Cli::parse_from(["pollstats", "-p", "web.", "requests,latency.p99"]);
//! assert_eq!(cli.labels(), ["web.requests", "web.latency.p99"]);
//! ```

pub mod cli;
pub mod columns;
pub mod jstat;
pub mod poll;
pub mod rate;
pub mod table;
pub mod tui;

use std::process::ExitCode;

/// Runs pollstats as the command line asks.
pub fn run(cli: &cli::Cli) -> anyhow::Result<ExitCode> {
    cli.dirs.apply();
    if let Some(view) = jstat::View::of(cli) {
        jstat::run(cli, view)
    } else if cli.tui {
        tui::run(cli)
    } else {
        poll::run(cli)
    }
}
