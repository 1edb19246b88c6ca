//! How a `metrics` unit becomes a FORMAT.md §3.3 unit, and the factor that turns recorded
//! values into the stored integers or floats.

use metrics::Unit;

/// A metric's unit in the file and the factor its values are multiplied by when stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mapped {
    /// The FORMAT.md unit word (empty for plain counts).
    pub(crate) unit: String,
    /// Recorded value × `scale` = stored value.
    pub(crate) scale: f64,
}

/// Whether the metric is a histogram (its values are stored as integers) or a counter or gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Integer counters: scaled only by exact integer factors (bytes of a kibibyte).
    Counter,
    /// Floating-point gauges: stored in the unit as given.
    Gauge,
    /// Histograms: durations become nanoseconds, sizes bytes, anything else is rounded.
    Histogram,
}

/// Maps `unit` (or, for a histogram without one, a name ending in `_seconds` or `.seconds`)
/// for a metric of `target`.
pub(crate) fn map(unit: Option<Unit>, name: &str, target: Target) -> Mapped {
    let unit = unit.or_else(|| {
        (target == Target::Histogram && (name.ends_with("_seconds") || name.ends_with(".seconds")))
            .then_some(Unit::Seconds)
    });
    let m = |unit: &str, scale: f64| Mapped {
        unit: unit.to_string(),
        scale,
    };
    let time = |word: &str, ns: f64| {
        if target == Target::Histogram {
            m("nanoseconds", ns)
        } else {
            m(word, 1.0)
        }
    };
    let bytes = |factor: f64| m("bytes", factor);
    match unit {
        None | Some(Unit::Count) => m("", 1.0),
        Some(Unit::Percent) => m("percent", 1.0),
        Some(Unit::Seconds) => time("seconds", 1e9),
        Some(Unit::Milliseconds) => time("milliseconds", 1e6),
        Some(Unit::Microseconds) => time("microseconds", 1e3),
        Some(Unit::Nanoseconds) => time("nanoseconds", 1.0),
        Some(Unit::Bytes) => bytes(1.0),
        Some(Unit::Kibibytes) => bytes(1024.0),
        Some(Unit::Mebibytes) => bytes(1024.0 * 1024.0),
        Some(Unit::Gibibytes) => bytes(1024.0 * 1024.0 * 1024.0),
        Some(Unit::Tebibytes) => bytes(1024.0f64.powi(4)),
        // Rates have no FORMAT.md unit: shown with their canonical label, not converted.
        Some(other) => m(other.as_canonical_label(), 1.0),
    }
}

/// A histogram value already multiplied by its scale, in the histogram's integer domain:
/// rounded to the nearest integer (halves away from zero, as [`f64::round`]), 0 for a
/// negative value, `u64::MAX` from `u64::MAX` up, `None` (not recorded) for NaN.
///
/// Computed with a truncation and a compare rather than `f64::round`, which x86-64 without
/// SSE4.1 compiles to a call into the C library on every record.
#[inline]
pub(crate) fn histogram_integer(x: f64) -> Option<u64> {
    /// 2⁶³: below it, a positive value truncates exactly as an `i64`.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x > 0.0 {
        if x < TWO_63 {
            let t = x as i64;
            // Exact: below 2⁵³ `t` converts back exactly, and from 2⁵³ on `x` is an integer.
            let rest = x - t as f64;
            Some(t as u64 + u64::from(rest >= 0.5))
        } else {
            // From 2⁶³ on every f64 is an integer; `as` saturates at u64::MAX and beyond.
            Some(x as u64)
        }
    } else if x.is_nan() {
        None
    } else {
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the histogram domain is documented to be, written the plain way.
    fn reference(x: f64) -> Option<u64> {
        let r = x.round();
        if r.is_nan() {
            None
        } else if r <= 0.0 {
            Some(0)
        } else if r >= u64::MAX as f64 {
            Some(u64::MAX)
        } else {
            Some(r as u64)
        }
    }

    #[test]
    fn histogram_values_round_to_the_nearest_integer_at_every_edge() {
        let mut cases = vec![
            0.0,
            -0.0,
            -1.0,
            -0.5,
            f64::MIN,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            1e-300,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            2_500_000.499_9,
            12_500_000.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            9_223_372_036_854_774_784.0,
            9_223_372_036_854_775_808.0,
            18_446_744_073_709_549_568.0,
            18_446_744_073_709_551_616.0,
            1e30,
        ];
        // Every value of a seconds histogram's typical range, scaled to nanoseconds.
        cases.extend((0..2000).map(|i| f64::from(i) * 0.000_123_456_789 * 1e9));
        cases.extend((0..2000).map(|i| f64::from(i) * 0.25));
        for x in cases {
            assert_eq!(histogram_integer(x), reference(x), "{x:e}");
        }
        assert_eq!(histogram_integer(f64::NAN), None);
        assert_eq!(histogram_integer(0.0025 * 1e9), Some(2_500_000));
        assert_eq!(histogram_integer(1e30), Some(u64::MAX));
        assert_eq!(histogram_integer(-3.0), Some(0));
    }

    #[test]
    fn durations_of_histograms_become_nanoseconds() {
        let h = |u, name| map(u, name, Target::Histogram);
        assert_eq!(
            h(Some(Unit::Seconds), "x"),
            Mapped {
                unit: "nanoseconds".into(),
                scale: 1e9
            }
        );
        assert_eq!(h(Some(Unit::Milliseconds), "x").scale, 1e6);
        assert_eq!(h(None, "http_request_duration_seconds").scale, 1e9);
        assert_eq!(
            h(None, "sizes"),
            Mapped {
                unit: String::new(),
                scale: 1.0
            }
        );
        assert_eq!(map(Some(Unit::Seconds), "x", Target::Gauge).unit, "seconds");
        assert_eq!(
            map(Some(Unit::Kibibytes), "x", Target::Counter).scale,
            1024.0
        );
        assert_eq!(
            map(Some(Unit::BitsPerSecond), "x", Target::Gauge).unit,
            "bps"
        );
    }
}
