//! `slurpstats`: print every field of mmstats files. See `slurpstats --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mmstats_tool::main::<slurpstats::cli::Cli>("slurpstats", |cli| slurpstats::report::run(&cli))
}
