//! One value of one series at one instant: what every source yields and the store keeps.
//!
//! The names of a sample are shared (`Arc<str>`): a source makes each series' label and unit
//! once and hands the same ones over at every tick, so that a tick's thousands of samples
//! cost no strings of their own.

use std::sync::Arc;

/// One value of one series at one instant: a row of the `samples` view.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The source's name (`mmstats`, `perf`, ...).
    pub source: &'static str,
    /// The process it belongs to, as `comm:pid`, or `tree` for the whole tree.
    pub process: Arc<str>,
    /// The series' label (`web.requests`, `web.requests.rate`, `perf.task_clock`, ...).
    pub label: Arc<str>,
    /// What kind of series: the field's kind (`counter`, `gauge`, ...), `rate` for a change
    /// per second, `interval` for a statistic of what was recorded during the interval.
    pub kind: &'static str,
    /// The unit (`requests`, `requests/s`, `nanoseconds`, `cores`, ...; may be empty).
    pub unit: Arc<str>,
    /// The value.
    pub value: f64,
}
