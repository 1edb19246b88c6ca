//! `cleanstats`: remove mmstats files whose writer is gone. See `cleanstats --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mmstats_tool::main::<cleanstats::cli::Cli>("cleanstats", |cli| cleanstats::sweep::run(&cli))
}
