//! `mmash`: serve mmstats files over HTTP. See `mmash --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mmstats_tool::main::<mmash::cli::Cli>("mmash", |cli| {
        mmash::server::run(cli).map(|()| ExitCode::SUCCESS)
    })
}
