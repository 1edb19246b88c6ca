//! `pollstats`: watch mmstats fields over time. See `pollstats --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mmstats_tool::main::<pollstats::cli::Cli>("pollstats", |cli| pollstats::run(&cli))
}
