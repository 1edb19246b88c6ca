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

#[cfg(test)]
mod tests {
    use super::*;

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
