//! `mmash`: serves mmstats files over HTTP (see the crate's library docs).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = mmash::cli::Cli::parse();
    match mmash::server::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mmash: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
