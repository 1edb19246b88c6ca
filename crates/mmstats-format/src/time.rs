//! Times as files hold them: Unix seconds in a timestamp (FORMAT.md §5.1) and nanoseconds in
//! the header's `created_ns` (§2.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, negative before it: what a timestamp field stores.
pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The time `ns` nanoseconds from the Unix epoch (negative: before it), if representable.
pub fn time_from_ns(ns: i64) -> Option<SystemTime> {
    let d = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_before_the_epoch_are_negative() {
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(unix_seconds(before), -1.5);
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(2)), 2.0);
        assert_eq!(time_from_ns(-1_500_000_000), Some(before));
        assert_eq!(
            time_from_ns(2_000_000_000),
            Some(UNIX_EPOCH + Duration::from_secs(2))
        );
    }
}
