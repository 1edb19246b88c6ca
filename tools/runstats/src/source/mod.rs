//! Where samples come from: each source yields the samples of one tick for the processes of
//! the recorded tree.
//!
//! The sources: [`mmstats`] (stats files and JVM hsperfdata), [`perf`] (perf counters),
//! [`resource`] (host and per-process resources from `/proc`). A new source implements
//! [`Source`] and is added in [`crate::record::record`]; nothing else changes: the store,
//! export and report handle any source by its name.

pub mod mmstats;
pub mod perf;
pub mod resource;

use serde::Serialize;

pub use crate::sample::Sample;
use crate::tree::Tree;

/// A series, event or file that a source could not record, and why: reported in `run.json`
/// and the report, never stored as zeros.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Unavailable {
    /// The source.
    pub source: String,
    /// What could not be recorded.
    pub what: String,
    /// Why.
    pub reason: String,
}

/// A source of samples, polled once per tick.
pub trait Source {
    /// Its name, stored with every sample.
    fn name(&self) -> &'static str;

    /// Appends the samples of this tick (`now_ms`: Unix milliseconds) for the processes of
    /// `tree` to `out`. Problems with one file or counter are kept for [`Source::problems`],
    /// never returned: a source carries on.
    fn sample(&mut self, tree: &Tree, now_ms: i64, out: &mut Vec<Sample>);

    /// What this source could not record, and why (stable across calls).
    fn unavailable(&self) -> Vec<Unavailable>;

    /// Problems met since the last call (a corrupt file, a counter that could not be read),
    /// each once, for the user to see.
    fn problems(&mut self) -> Vec<String> {
        Vec::new()
    }
}
