//! `cleanstats`: remove mmstats files whose writer is gone. See `cleanstats --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cleanstats::cli::Cli::parse();
    mmstats_cli::exit_code("cleanstats", cleanstats::sweep::run(&cli))
}
