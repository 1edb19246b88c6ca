//! Plain text for people: `slurpstats`' `==> path <==` blocks of aligned `label value` lines,
//! timestamps as UTC times, and the label filter every tool applies. Numbers are formatted
//! by [`crate::units`].
//!
//! ```
//! use mmstats_render::text::{utc_clock, utc_time};
//!
//! assert_eq!(utc_time(0.0), "1970-01-01T00:00:00.000Z");
//! assert_eq!(utc_clock(3_723.0), "01:02:03");
//! ```

use std::io::{self, Write};
use std::time::SystemTime;

use crate::units::{derived_unit, field_unit, number, quantity, seconds_per};
use mmstats_reader::{
    FieldMeta, FieldValue, FormatVersion, Kind, Liveness, Num, Snapshot, Value, ValueError,
};

/// Makes text from a file safe to print on a terminal: control characters (C0, DEL and C1,
/// which include ESC and CSI, the start of every terminal escape sequence) and the Unicode
/// bidirectional controls become visible escapes (`\x1b`, `\n`, `\u{202e}`), so a label, text
/// value or file name can never move the cursor, retitle the window, or reorder what is shown.
/// Every terminal output of every tool goes through it; text without such characters comes
/// back borrowed.
///
/// ```
/// use mmstats_render::text::escape;
/// assert_eq!(escape("status\x1b[2J"), "status\\x1b[2J");
/// assert_eq!(escape("plain.label"), "plain.label");
/// ```
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if unsafe_char(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Seconds since the Unix epoch (negative before it).
pub use mmstats_format::unix_seconds;

/// True if `label` starts with one of `prefixes`, or `prefixes` is empty. A prefix with a label
/// set (`http.requests{code=5xx}`) selects by name prefix and pairs instead
/// ([`mmstats_format::labels::selects`]).
pub fn label_matches(label: &str, prefixes: &[String]) -> bool {
    use mmstats_format::labels::{parse_series, selects};
    prefixes.is_empty()
        || prefixes.iter().any(|p| {
            // A filter with a label set (`http.requests{code=5xx}`) selects by name and pairs.
            if p.contains('{')
                && let (Some(sel), Some((name, pairs))) = (parse_series(p), parse_series(label))
            {
                return selects(&sel, name, &pairs);
            }
            label.starts_with(p.as_str())
        })
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Unix seconds as an RFC 3339 UTC time with milliseconds: `2026-11-23T09:14:07.123Z`.
pub fn utc_time(unix: f64) -> String {
    if !unix.is_finite() || unix.abs() > 1e14 {
        return number(unix);
    }
    let ms = (unix * 1000.0).round() as i64;
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// Unix seconds as a UTC time of day, `HH:MM:SS`.
pub fn utc_clock(unix: f64) -> String {
    let t = utc_time(unix);
    t.get(11..19).unwrap_or(&t).to_string()
}

/// A scalar value with its unit, as [`quantity`] does, but integers exactly and timestamps as
/// UTC times.
pub fn scalar(meta: &FieldMeta, n: Num) -> String {
    let unit = field_unit(meta);
    if meta.kind == Kind::Timestamp {
        let per = seconds_per(unit).unwrap_or(1.0);
        return utc_time(n.as_f64() * per);
    }
    match n {
        Num::U(_) | Num::I(_) if seconds_per(unit).is_none() && unit != "bytes" => {
            if unit.is_empty() {
                n.to_string()
            } else if unit == "percent" {
                format!("{n}%")
            } else {
                format!("{n} {unit}")
            }
        }
        _ => quantity(n.as_f64(), unit),
    }
}

/// The text of a field's value, or of why it could not be read: `17 requests`, `true`,
/// `<being written>`. Compound values are summarised; [`lines`] lists their parts instead.
pub fn value_text(meta: &FieldMeta, value: &Result<Value, ValueError>) -> String {
    match value {
        Err(e) => format!("<{e}>"),
        Ok(Value::Number(n)) => scalar(meta, *n),
        Ok(Value::Bool(b)) => b.to_string(),
        Ok(Value::Text(t)) => t.to_string(),
        Ok(v) => match v.primary() {
            Some(x) => quantity(x, field_unit(meta)),
            None => "-".into(),
        },
    }
}

/// The `label value` pairs of one field: one pair for scalars, texts and unreadable values;
/// for compound kinds (averages, histograms, timers, windows) one pair per derived value,
/// labelled `label.suffix` (`latency.p99`).
pub fn field_lines(
    field: &FieldValue,
    now: SystemTime,
    created: Option<SystemTime>,
) -> Vec<(String, String)> {
    let meta = &field.meta;
    match &field.value {
        Ok(
            v @ (Value::Average { .. }
            | Value::MovingAverage { .. }
            | Value::Histogram(_)
            | Value::Windowed(_)),
        ) => {
            let created = created.map(unix_seconds).unwrap_or(0.0);
            v.derived_values(meta.kind, unix_seconds(now), created)
                .into_iter()
                .map(|(suffix, x)| {
                    (
                        meta.derived_key(suffix),
                        quantity(x, derived_unit(meta, suffix)),
                    )
                })
                .collect()
        }
        other => vec![(meta.label.clone(), value_text(meta, other))],
    }
}

/// The header line of a file's block: `==> path <== format 2, pid 42, tid 43`.
pub fn header_line(snap: &Snapshot) -> String {
    let info = &snap.info;
    let mut s = format!(
        "==> {} <== format {}",
        escape(&snap.path.to_string_lossy()),
        match info.version {
            FormatVersion::V1 => "1",
            FormatVersion::V2 => "2",
            FormatVersion::Hsperf => "hsperfdata",
        }
    );
    if let Some(pid) = info.pid {
        s.push_str(&format!(", pid {pid}"));
    }
    match info.tid {
        Some(0) => s.push_str(", process totals"),
        Some(tid) => s.push_str(&format!(", tid {tid}")),
        None => {}
    }
    if info.closed {
        s.push_str(", closed");
    }
    if let Some(Liveness::Dead(why)) = &snap.liveness {
        s.push_str(&format!(", writer gone ({why})"));
    }
    s
}

/// Every line of a file's block below the header, filtered to labels starting with one of
/// `filters` (all when empty).
pub fn lines(snap: &Snapshot, now: SystemTime, filters: &[String]) -> Vec<(String, String)> {
    snap.fields
        .iter()
        .flat_map(|f| field_lines(f, now, snap.info.created))
        .filter(|(label, _)| label_matches(label, filters))
        .collect()
}

/// Writes one file's block: the header line, then `label value` lines aligned on the longest
/// label.
pub fn render(
    out: &mut dyn Write,
    snap: &Snapshot,
    now: SystemTime,
    filters: &[String],
) -> io::Result<()> {
    writeln!(out, "{}", header_line(snap))?;
    let lines: Vec<(String, String)> = lines(snap, now, filters)
        .into_iter()
        .map(|(l, v)| (escape(&l).into_owned(), escape(&v).into_owned()))
        .collect();
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (label, value) in lines {
        writeln!(out, "{label:<width$} {value}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FileInfo, HistogramValue, ValueType};
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    pub(crate) fn snap(fields: Vec<(FieldMeta, Result<Value, ValueError>)>) -> Snapshot {
        let info = FileInfo {
            pid: Some(1),
            tid: Some(2),
            uid: Some(1000),
            gid: Some(1000),
            start_time: Some(5),
            created: Some(UNIX_EPOCH + Duration::from_secs(1_000)),
            writer: "mmstats-rust 0.1.0".into(),
            ..FileInfo::new(FormatVersion::V2, (1, 2))
        };
        fields
            .into_iter()
            .fold(
                SnapshotBuilder::new("/run/x/web-1-2.mmstats")
                    .info(info)
                    .taken(UNIX_EPOCH + Duration::from_secs(1_010)),
                |b, (m, v)| b.field_result(m, v),
            )
            .build()
    }

    fn meta(label: &str, kind: Kind, vt: ValueType, unit: &str) -> FieldMeta {
        let mut m = FieldMeta::new(label, kind, vt);
        m.unit = unit.into();
        m
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_time(1_795_000_000.25), "2026-11-18T11:06:40.250Z");
        assert_eq!(utc_time(951_782_400.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc_clock(3_723.0), "01:02:03");
    }

    #[test]
    fn scalar_values_show_units_and_timestamps() {
        let m = meta("requests", Kind::Counter, ValueType::U64, "requests");
        assert_eq!(
            value_text(&m, &Ok(Value::Number(Num::U(17)))),
            "17 requests"
        );
        let m = meta("t", Kind::Timestamp, ValueType::F64, "seconds");
        assert_eq!(
            value_text(&m, &Ok(Value::Number(Num::F(0.5)))),
            "1970-01-01T00:00:00.500Z"
        );
        let m = meta("up", Kind::Gauge, ValueType::Bool, "");
        assert_eq!(value_text(&m, &Ok(Value::Bool(true))), "true");
        let m = meta("neg", Kind::Gauge, ValueType::I32, "");
        assert_eq!(value_text(&m, &Ok(Value::Number(Num::I(-3)))), "-3");
        let m = meta("temp", Kind::Gauge, ValueType::F64, "celsius");
        assert_eq!(
            value_text(&m, &Ok(Value::Number(Num::F(21.5)))),
            "21.5 celsius"
        );
        assert_eq!(
            value_text(&m, &Err(ValueError::BeingWritten)),
            "<being written>"
        );
    }

    #[test]
    fn blocks_align_labels_and_expand_timers() {
        let mut h = HistogramValue::empty(5, 400);
        for v in [1_000_000u64, 2_000_000, 3_000_000] {
            h.record(v);
        }
        let s = snap(vec![
            (
                meta("requests", Kind::Counter, ValueType::U64, "requests"),
                Ok(Value::Number(Num::U(17))),
            ),
            (
                meta("latency", Kind::Timer, ValueType::U64, "nanoseconds"),
                Ok(Value::Histogram(h.into())),
            ),
            (
                meta("version", Kind::Constant, ValueType::Text, ""),
                Ok(Value::Text("1.2".into())),
            ),
        ]);
        let mut out = Vec::new();
        render(&mut out, &s, s.taken, &[]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "==> /run/x/web-1-2.mmstats <== format 2, pid 1, tid 2"
        );
        assert_eq!(lines[1], "requests      17 requests");
        assert!(text.contains("\nlatency.count 3\n"), "{text}");
        assert!(text.contains("\nlatency.mean  2.00ms\n"), "{text}");
        assert!(text.contains("\nlatency.max   3.00ms\n"), "{text}");
        assert!(text.contains("\nlatency.p99   "), "{text}");
        assert!(text.ends_with("\nversion       1.2\n"), "{text}");
        // every value column starts at the same place
        for l in &lines[1..] {
            assert_eq!(l.as_bytes()[13], b' ', "{l}");
            assert_ne!(l.as_bytes()[14], b' ', "{l}");
        }
    }

    #[test]
    fn filters_keep_matching_lines_only() {
        let mut h = HistogramValue::empty(5, 400);
        h.record(10);
        let s = snap(vec![
            (
                meta("requests", Kind::Counter, ValueType::U64, ""),
                Ok(Value::Number(Num::U(1))),
            ),
            (
                meta("latency", Kind::Histogram, ValueType::U64, ""),
                Ok(Value::Histogram(h.into())),
            ),
        ]);
        let got: Vec<String> = lines(&s, s.taken, &["latency.p9".into()])
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(got, ["latency.p90", "latency.p99", "latency.p999"]);
        assert_eq!(lines(&s, s.taken, &["req".into()]).len(), 1);
    }

    #[test]
    fn header_mentions_process_totals_and_closed() {
        let mut s = snap(vec![]);
        let mut info = (*s.info).clone();
        info.tid = Some(0);
        info.closed = true;
        info.version = FormatVersion::V1;
        s.info = Arc::new(info);
        assert_eq!(
            header_line(&s),
            "==> /run/x/web-1-2.mmstats <== format 1, pid 1, process totals, closed"
        );
    }

    #[test]
    fn control_characters_are_escaped_on_terminals() {
        assert_eq!(escape("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(escape("x\u{9b}2J"), "x\\x9b2J");
        assert_eq!(escape("l\nr\t"), "l\\nr\\t");
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert_eq!(escape("µs ✓"), "µs ✓");
        let s = snap(vec![
            (
                meta("x\x1b[2J", Kind::Gauge, ValueType::U64, ""),
                Ok(Value::Number(Num::U(1))),
            ),
            (
                meta("status", Kind::Text, ValueType::Text, ""),
                Ok(Value::Text("\x1b]0;title\x07".into())),
            ),
        ]);
        let mut out = Vec::new();
        render(&mut out, &s, s.taken, &[]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(
            text.contains("x\\x1b[2J") && text.contains("\\x1b]0;title\\x07"),
            "{text}"
        );
    }
}
