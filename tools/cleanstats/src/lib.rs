//! `cleanstats`: remove mmstats files whose writer is gone (FORMAT.md §6.3, §6.4).
//!
//! A file is removed only when its writer is dead by [`mmstats_reader::liveness`], cleanstats
//! itself holds the file's exclusive lock, and the name still names the file it locked. Symlinks
//! are never followed; directories and files that are not mmstats files are left alone.
//!
//! ```
//! use clap::Parser;
//! let cli = cleanstats::cli::Cli::parse_from(["cleanstats", "--dry-run"]);
//! assert!(cli.dry_run && cli.paths.is_empty());
//! ```

pub mod cli;
pub mod removal;
pub mod sweep;
