//! `slurpstats`: print every field of mmstats files. See `slurpstats --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = slurpstats::cli::Cli::parse();
    mmstats_cli::exit_code("slurpstats", slurpstats::report::run(&cli))
}
