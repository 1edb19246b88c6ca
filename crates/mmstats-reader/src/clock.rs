//! Times as Unix seconds and nanoseconds, as files record them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A time `ns` nanoseconds from the Unix epoch, if representable.
pub(crate) fn time_from_ns(ns: i64) -> Option<SystemTime> {
    let d = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Unix seconds of a time (negative before the epoch).
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}
