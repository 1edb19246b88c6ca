//! `slurpstats`: print every field of mmstats files, as aligned text (the default), one JSON
//! document, NDJSON or CSV. The formats come from `mmstats_render`, shared with the
//! other tools.
//!
//! ```
//! use clap::Parser;
//! let cli = slurpstats::cli::Cli::parse_from(["slurpstats", "--json", "--filter", "web."]);
//! assert_eq!(cli.filter, ["web."]);
//! ```

pub mod cli;
pub mod report;
