//! What every mmstats tool shares as a command: turning a run's result into an exit status,
//! printing an error with its causes, and ending quietly with success when the reader of its
//! output went away (`slurpstats | head`).
//!
//! ```
//! use std::process::ExitCode;
//!
//! fn run() -> anyhow::Result<ExitCode> {
//!     Ok(ExitCode::SUCCESS)
//! }
//!
//! let status = mmstats_cli::exit_code("slurpstats", run());
//! assert_eq!(status, ExitCode::SUCCESS);
//! ```
#![forbid(unsafe_code)]

pub use exit::{code as exit_code, is_broken_pipe};

mod exit;
