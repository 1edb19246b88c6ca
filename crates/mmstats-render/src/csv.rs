//! CSV (RFC 4180) for spreadsheets and scripts: a `path,label,kind,unit,value` header, then one
//! row per scalar or text field and one per derived value of compound fields (`latency.p99`).
//! Numbers are written exactly, in the field's own unit; a value that could not be read has its
//! reason in the value column.
//!
//! ```
//! use mmstats_render::csv::{HEADER, escape};
//!
//! assert_eq!(HEADER, "path,label,kind,unit,value");
//! assert_eq!(escape("a,b"), "\"a,b\"");
//! ```

use std::borrow::Cow;
use std::io::{self, Write};
use std::time::SystemTime;

use crate::text::{label_matches, unix_seconds};
use crate::units::{derived_unit, field_unit, number};
use mmstats_reader::{Snapshot, Value};

/// The header row.
pub const HEADER: &str = "path,label,kind,unit,value";

/// Quotes a cell if it holds a comma, a quote, or a line break (RFC 4180).
pub fn escape(cell: &str) -> Cow<'_, str> {
    if cell.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", cell.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The rows of one file, without the header: `[path, label, kind, unit, value]` each.
pub fn rows(snap: &Snapshot, now: SystemTime, filters: &[String]) -> Vec<[String; 5]> {
    let path = snap.path.to_string_lossy().into_owned();
    let created = snap.info.created.map(unix_seconds).unwrap_or(0.0);
    let mut out = Vec::new();
    for f in snap.fields.iter() {
        let m = &f.meta;
        let mut push = |label: String, unit: &str, value: String| {
            if label_matches(&label, filters) {
                out.push([
                    path.clone(),
                    label,
                    m.kind.as_str().to_string(),
                    unit.to_string(),
                    value,
                ]);
            }
        };
        match &f.value {
            Err(e) => push(m.label.clone(), field_unit(m), format!("error: {e}")),
            Ok(Value::Number(n)) => push(m.label.clone(), field_unit(m), n.to_string()),
            Ok(Value::Bool(b)) => push(m.label.clone(), "", b.to_string()),
            Ok(Value::Text(t)) => push(m.label.clone(), "", t.to_string()),
            Ok(v) => {
                for (suffix, x) in v.derived_values(m.kind, unix_seconds(now), created) {
                    push(m.derived_key(suffix), derived_unit(m, suffix), number(x));
                }
            }
        }
    }
    out
}

/// Writes one file's rows (no header).
pub fn render(
    out: &mut dyn Write,
    snap: &Snapshot,
    now: SystemTime,
    filters: &[String],
) -> io::Result<()> {
    for row in rows(snap, now, filters) {
        let cells: Vec<Cow<'_, str>> = row.iter().map(|c| escape(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FieldMeta, HistogramValue, Kind, Num, ValueError, ValueType};
    use mmstats_testkit::snapshot::SnapshotBuilder;

    #[test]
    fn escaping() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(escape("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn rows_for_scalars_text_errors_and_timers() {
        let mut lat = FieldMeta::new("lat", Kind::Timer, ValueType::U64);
        lat.unit = "nanoseconds".into();
        let mut h = HistogramValue::empty(5, 400);
        h.record(40);
        let mut bytes = FieldMeta::new("rss", Kind::Gauge, ValueType::U64);
        bytes.unit = "bytes".into();
        let fields = vec![
            (bytes, Ok(Value::Number(Num::U(4096)))),
            (
                FieldMeta::new("msg", Kind::Text, ValueType::Text),
                Ok(Value::Text("a,b".into())),
            ),
            (
                FieldMeta::new("bad", Kind::Text, ValueType::Text),
                Err(ValueError::BeingWritten),
            ),
            (lat, Ok(Value::Histogram(h.into()))),
        ];
        let snap = fields
            .into_iter()
            .fold(SnapshotBuilder::new("/s/x.mmstats"), |b, (m, v)| {
                b.field_result(m, v)
            })
            .build();
        let mut out = Vec::new();
        render(&mut out, &snap, snap.taken, &[]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "/s/x.mmstats,rss,gauge,bytes,4096");
        assert_eq!(lines[1], "/s/x.mmstats,msg,text,,\"a,b\"");
        assert_eq!(lines[2], "/s/x.mmstats,bad,text,,error: being written");
        assert_eq!(lines[3], "/s/x.mmstats,lat.count,timer,,1");
        assert!(
            lines.contains(&"/s/x.mmstats,lat.mean,timer,nanoseconds,40"),
            "{text}"
        );
        assert!(
            lines.contains(&"/s/x.mmstats,lat.p99,timer,nanoseconds,40"),
            "{text}"
        );
        assert_eq!(rows(&snap, snap.taken, &["lat.m".into()]).len(), 3); // min, max, mean
    }
}
