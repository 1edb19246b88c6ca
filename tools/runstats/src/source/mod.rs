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

impl Unavailable {
    /// `list` grouped by reason, in the order the reasons first appear: each reason with
    /// everything it kept out, as the console and the report say them ("perf.cycles,
    /// perf.instructions: not offered by ...").
    pub fn by_reason(list: &[Unavailable]) -> Vec<(&str, Vec<&str>)> {
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for u in list {
            match reasons.iter_mut().find(|(r, _)| *r == u.reason) {
                Some((_, whats)) => whats.push(&u.what),
                None => reasons.push((&u.reason, vec![&u.what])),
            }
        }
        reasons
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_series_group_by_reason_in_first_seen_order() {
        let u = |what: &str, reason: &str| Unavailable {
            source: "perf".into(),
            what: what.into(),
            reason: reason.into(),
        };
        let list = [
            u("perf.cycles", "not offered"),
            u("perf.ipc", "needs perf.instructions and perf.cycles"),
            u("perf.instructions", "not offered"),
        ];
        assert_eq!(
            Unavailable::by_reason(&list),
            [
                ("not offered", vec!["perf.cycles", "perf.instructions"]),
                ("needs perf.instructions and perf.cycles", vec!["perf.ipc"])
            ]
        );
        assert!(Unavailable::by_reason(&[]).is_empty());
    }
}
