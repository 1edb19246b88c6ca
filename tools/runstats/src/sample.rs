//! One value of one series at one instant: what every source yields and the store keeps.

/// One value of one series at one instant: a row of the `samples` view.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The source's name (`mmstats`, `perf`, ...).
    pub source: &'static str,
    /// The process it belongs to, as `comm:pid`, or `tree` for the whole tree.
    pub process: String,
    /// The series' label (`web.requests`, `web.requests.rate`, `perf.task_clock`, ...).
    pub label: String,
    /// What kind of series: the field's kind (`counter`, `gauge`, ...), `rate` for a change
    /// per second, `interval` for a statistic of what was recorded during the interval.
    pub kind: &'static str,
    /// The unit (`requests`, `requests/s`, `nanoseconds`, `cores`, ...; may be empty).
    pub unit: String,
    /// The value.
    pub value: f64,
}
