//! `runstats`: run a workload, record everything it publishes until it exits, store it, and
//! report it with charts.
//!
//! `runstats -- COMMAND` starts the command stopped, attaches perf counters (inherited by
//! everything it forks), lets it run and samples every [`source::Source`] each interval: the
//! mmstats files of the processes in its tree ([`source::mmstats`]), the tree's perf
//! counters ([`source::perf`]), and the host's and the tree's processes' resources
//! ([`source::resource`]). Samples go to `samples.db` in the run directory ([`store`]
//! documents the schema), the run's description to `run.json` ([`run`](mod@run)); at the end
//! [`report`] writes `report.html` and one PNG per chart. [`export`] turns a run into CSV or
//! NDJSON.
//!
//! ```
//! use clap::Parser;
//! let cli = runstats::cli::Cli::parse_from(["runstats", "-d", "baseline", "--", "sleep", "1"]);
//! assert_eq!(cli.record.argv, ["sleep", "1"]);
//! assert_eq!(cli.record.description.as_deref(), Some("baseline"));
//! ```

pub mod cli;
pub mod derive;
pub mod export;
pub mod record;
pub mod report;
pub mod run;
pub mod sample;
pub mod source;
pub mod store;
pub mod tree;

use std::process::ExitCode;

/// Runs runstats as the command line asks.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(cli::Command::Exec { argv }) => record::exec(&argv),
        Some(cli::Command::Export(e)) => export::run(&e),
        Some(cli::Command::Report(r)) => {
            let out = match (&r.output, r.dirs.as_slice()) {
                (Some(o), _) => o.clone(),
                (None, [one]) => one.clone(),
                (None, _) => std::path::PathBuf::from("runstats-report"),
            };
            let html = report::write(&r.dirs, &r.charts, &out)?;
            println!("{}", html.display());
            Ok(ExitCode::SUCCESS)
        }
        None => record::record(&cli.record),
    }
}
