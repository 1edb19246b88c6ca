//! `runstats`: run a workload and record, export and report its stats. See `runstats --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = runstats::cli::Cli::parse();
    mmstats_cli::exit_code("runstats", runstats::run(cli))
}
