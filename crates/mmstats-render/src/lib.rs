//! Every output of the mmstats tools, over what [`mmstats_reader`] reads: plain text for
//! people ([`text`]), JSON for programs ([`json`]), CSV ([`csv`]), and the Prometheus text
//! format and OpenMetrics ([`prometheus`], with [`node`] naming host and process resources),
//! and the one way every tool shows a number ([`units`]).
//! No tool formats stats output itself, and the reader never formats anything.
//!
//! Each renderer works on one snapshot (or one sample) at a time and writes into any
//! `std::io::Write` or `String` it is given, so a tool can stream file by file.
//!
//! ```
//! use std::time::SystemTime;
//!
//! let doc = mmstats_render::json::document(&[], &[], SystemTime::UNIX_EPOCH);
//! assert_eq!(doc["files"].as_array().map(Vec::len), Some(0));
//! assert_eq!(mmstats_render::units::compact(1_536.0, "bytes"), "1.50KiB");
//! ```
#![forbid(unsafe_code)]

pub mod csv;
pub mod json;
pub mod node;
pub mod prometheus;
pub mod text;
pub mod units;
