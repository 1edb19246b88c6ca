//! How every tool shows a number: the one units rule of slurpstats, pollstats (rows and the
//! full-screen view), runstats' reports and mmash's values.
//!
//! - **Bytes** in IEC binary multiples: `512B`, `1.50KiB`, `12.3MiB`, `3.00GiB`, `1.00TiB`
//!   (and `PiB` beyond), never `kB` or `G` for bytes ([`bytes`]).
//! - **Durations** by magnitude: `153ns`, `1.53µs`, `1.53ms`, `1.53s`; from a minute on
//!   `2m03s`, `1h02m`, `3d04h` ([`duration`]). A value in a time unit (FORMAT.md §3.3) is a
//!   duration, whatever unit it was recorded in.
//! - **Plain counts and rates** with SI multiples: `950`, `1.50k`, `12.3M`, `4.00G` (and `T`,
//!   `P`, `E` beyond) ([`count`]); percentages with `%`.
//! - **Identifiers, pids, ports, versions and years are never scaled**: constants
//!   ([`never_scaled`]) and the pid, tid and port columns are shown whole ([`number`]).
//!
//! Narrow columns use [`compact`] (three significant digits); listings use [`quantity`]
//! (the exact number with its unit, bytes with their scaled form beside them).
//!
//! ```
//! use mmstats_render::units::{compact, duration, quantity};
//!
//! assert_eq!(duration(0.001_53), "1.53ms");
//! assert_eq!(quantity(1_530_000.0, "nanoseconds"), "1.53ms");
//! assert_eq!(quantity(3.0, "requests"), "3 requests");
//! assert_eq!(compact(1_536.0, "bytes"), "1.50KiB");
//! assert_eq!(compact(12_345_678.0, "rows"), "12.3M");
//! ```

use mmstats_reader::{FieldMeta, Kind};

/// True for values that are identifiers, versions or years rather than amounts: constants
/// (FORMAT.md §3.2) are shown whole ([`number`]), never with k/M/G or KiB.
pub fn never_scaled(kind: Kind) -> bool {
    kind == Kind::Constant
}

/// How many seconds one of `unit` is, for the time units of FORMAT.md §3.3.
pub fn seconds_per(unit: &str) -> Option<f64> {
    match unit {
        "seconds" => Some(1.0),
        "milliseconds" => Some(1e-3),
        "microseconds" => Some(1e-6),
        "nanoseconds" => Some(1e-9),
        _ => None,
    }
}

/// The unit a field's values are in: its declared unit, or `nanoseconds` for a timer without one.
pub fn field_unit(meta: &FieldMeta) -> &str {
    if meta.unit.is_empty() && meta.kind == Kind::Timer {
        "nanoseconds"
    } else {
        &meta.unit
    }
}

/// The unit of a derived value `suffix` of a field (see [`Value::derived_values`](mmstats_reader::Value::derived_values)): counts have none,
/// rates are per second, the rest are in the field's unit.
pub fn derived_unit<'a>(meta: &'a FieldMeta, suffix: &str) -> &'a str {
    match suffix {
        "count" => "",
        "rate" => "1/s",
        _ => field_unit(meta),
    }
}

/// Formats a float readably: integral values without decimals, others with up to six
/// significant decimals, tiny or huge ones in exponent form.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    if x.abs() >= 1e15 || x.abs() < 1e-4 {
        return format!("{x:.3e}");
    }
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Three significant digits: `1.53`, `15.3`, `153`.
fn three_digits(x: f64) -> String {
    let a = x.abs();
    if a < 9.995 {
        format!("{x:.2}")
    } else if a < 99.95 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// A duration in seconds as people read it: `153ns`, `1.53µs`, `1.53ms`, `1.53s`, `2m03s`,
/// `1h02m`, `3d04h`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return format!("{seconds}");
    }
    if seconds < 0.0 {
        return format!("-{}", duration(-seconds));
    }
    if seconds == 0.0 {
        return "0s".into();
    }
    let ns = seconds * 1e9;
    if ns < 999.5 {
        return format!("{}ns", three_digits(ns).trim_end_matches(".00"));
    }
    for (scale, suffix) in [(1e-6, "µs"), (1e-3, "ms"), (1.0, "s")] {
        let v = seconds / scale;
        if (suffix != "s" && v < 999.5) || v < 59.995 {
            return format!("{}{suffix}", three_digits(v));
        }
    }
    let total = seconds.round() as u64;
    let (d, h, m, s) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m{s:02}s")
    }
}

/// Bytes in binary multiples: `512B`, `1.50KiB`, `12.3MiB`.
pub fn bytes(b: f64) -> String {
    if b.abs() < 1023.5 {
        return format!("{}B", number(b.round()));
    }
    let (mut v, mut suffix) = (b / 1024.0, "KiB");
    for next in ["MiB", "GiB", "TiB", "PiB"] {
        if v.abs() < 1023.5 {
            break;
        }
        v /= 1024.0;
        suffix = next;
    }
    format!("{}{suffix}", three_digits(v))
}

/// A count in decimal multiples: `950`, `1.50k`, `12.3M`, `4.00G`.
pub fn count(x: f64) -> String {
    if x.abs() < 999.5 {
        return if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            three_digits(x)
        };
    }
    let (mut v, mut suffix) = (x / 1000.0, "k");
    for next in ["M", "G", "T", "P", "E"] {
        if v.abs() < 999.5 {
            break;
        }
        v /= 1000.0;
        suffix = next;
    }
    format!("{}{suffix}", three_digits(v))
}

/// A value scaled to fit a narrow column: durations humanised, bytes in KiB/MiB/GiB, other
/// counts with k/M/G suffixes, percent with `%`.
pub fn compact(x: f64, unit: &str) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if let Some(s) = seconds_per(unit) {
        return duration(x * s);
    }
    match unit {
        "bytes" => bytes(x),
        "percent" => format!("{}%", three_digits(x)),
        _ => count(x),
    }
}

/// A value with its unit at full precision, for listings: `1.53ms`, `1048576 bytes (1.00MiB)`,
/// `17 requests`, `42`.
pub fn quantity(x: f64, unit: &str) -> String {
    if let Some(s) = seconds_per(unit) {
        return duration(x * s);
    }
    match unit {
        "" => number(x),
        "bytes" if x.abs() >= 1024.0 => format!("{} bytes ({})", number(x), bytes(x)),
        "percent" => format!("{}%", number(x)),
        "1/s" => format!("{}/s", number(x)),
        _ => format!("{} {unit}", number(x)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_humanised() {
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(153e-9), "153ns");
        assert_eq!(duration(5e-9), "5ns");
        assert_eq!(duration(1.53e-6), "1.53µs");
        assert_eq!(duration(0.001_53), "1.53ms");
        assert_eq!(duration(0.0153), "15.3ms");
        assert_eq!(duration(1.53), "1.53s");
        assert_eq!(duration(123.0), "2m03s");
        assert_eq!(duration(3720.0), "1h02m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d04h");
        assert_eq!(duration(-0.002), "-2.00ms");
        // rounding across a boundary moves to the next unit
        assert_eq!(duration(999.9e-9), "1.00µs");
    }

    #[test]
    fn compact_scales_counts_bytes_and_durations() {
        assert_eq!(compact(0.0, ""), "0");
        assert_eq!(compact(950.0, "requests"), "950");
        assert_eq!(compact(0.5, ""), "0.50");
        assert_eq!(compact(1_500.0, ""), "1.50k");
        assert_eq!(compact(12_345_678.0, ""), "12.3M");
        assert_eq!(compact(4e9, ""), "4.00G");
        assert_eq!(compact(-2_000.0, ""), "-2.00k");
        assert_eq!(compact(512.0, "bytes"), "512B");
        assert_eq!(compact(1_536.0, "bytes"), "1.50KiB");
        assert_eq!(compact(3.0 * 1024.0 * 1024.0 * 1024.0, "bytes"), "3.00GiB");
        assert_eq!(compact(1_530_000.0, "nanoseconds"), "1.53ms");
        assert_eq!(compact(250.0, "milliseconds"), "250ms");
        assert_eq!(compact(12.5, "percent"), "12.5%");
        assert_eq!(compact(999.7, ""), "1.00k");
        assert_eq!(compact(1023.7, "bytes"), "1.00KiB");
        assert_eq!(compact(5e18, ""), "5.00E");
        assert_eq!(compact(5e21, ""), "5000E");
        assert_eq!(compact(2f64.powi(60) * 3.0, "bytes"), "3072PiB");
    }

    #[test]
    fn quantities_keep_precision_and_units() {
        assert_eq!(quantity(17.0, "requests"), "17 requests");
        assert_eq!(quantity(2.5, ""), "2.5");
        assert_eq!(quantity(1_048_576.0, "bytes"), "1048576 bytes (1.00MiB)");
        assert_eq!(quantity(100.0, "bytes"), "100 bytes");
        assert_eq!(quantity(3.25, "1/s"), "3.25/s");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(1e20), "1.000e20");
    }

    #[test]
    fn constants_are_never_scaled() {
        assert!(never_scaled(Kind::Constant));
        assert!(!never_scaled(Kind::Counter));
        assert!(!never_scaled(Kind::Gauge));
    }
}
