//! `runstats`: run a workload and record, export and report its stats. See `runstats --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mmstats_tool::main::<runstats::cli::Cli>("runstats", runstats::run)
}
