//! `pollstats`: watch mmstats fields over time. See `pollstats --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pollstats::cli::Cli::parse();
    pollstats::exit::code("pollstats", pollstats::run(&cli))
}
