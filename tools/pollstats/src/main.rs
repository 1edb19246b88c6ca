//! `pollstats`: watch mmstats fields over time. See `pollstats --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pollstats::cli::Cli::parse();
    mmstats_cli::exit_code("pollstats", pollstats::run(&cli))
}
