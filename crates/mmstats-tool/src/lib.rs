//! What every mmstats tool (slurpstats, pollstats, cleanstats, mmash, runstats) shares as a
//! command: its `main` ([`main`]: parse, generate completions or a man page when asked,
//! run, turn the result into an exit status), the process-wide open-file limit
//! ([`raise_open_file_limit`]), the flags every reader tool has ([`DirTrust`]), and the
//! shell completions and man pages generated from each tool's clap definition
//! ([`generated`]).
//!
//! ```
//! use std::process::ExitCode;
//!
//! fn run() -> anyhow::Result<ExitCode> {
//!     Ok(ExitCode::SUCCESS)
//! }
//!
//! let status = mmstats_tool::exit_code("slurpstats", run());
//! assert_eq!(status, ExitCode::SUCCESS);
//! ```
#![forbid(unsafe_code)]

pub use exit::{code as exit_code, is_broken_pipe};
pub use flags::DirTrust;
pub use limit::raise_open_file_limit;
pub use start::main;

mod exit;
mod flags;
pub mod generated;
mod limit;
mod start;
