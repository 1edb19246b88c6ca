//! JSON for programs: one object per file (`--ndjson` writes one per line) or one document
//! holding every file and every error (`--json`).
//!
//! A file's object holds `timestamp` (Unix seconds of the snapshot), `path`, `format_version`,
//! `pid`, `tid`, `uid`, `gid`, `writer`, `created`, `closed`, `process_totals`, and `fields`:
//! one object per field with `label` (the series key, FORMAT.md §3.5), for a labelled field
//! `name` and `labels` (an object of its pairs), then `kind`, `type`, `unit`, `combine`, `help`,
//! then either
//! `value` (a number, bool or string for scalars; an object for compound kinds) and `derived`
//! (`{"p99": 1530000, ...}`, see [`mmstats_reader::Value::derived_values`]), or `error` when the value could not
//! be read.
//!
//! ```
//! let doc = mmstats_render::json::document(&[], &[], std::time::SystemTime::UNIX_EPOCH);
//! assert_eq!(doc["files"].as_array().map(Vec::len), Some(0));
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::SystemTime;

use serde_json::{Map, Value as Json, json};

use crate::text::{label_matches, unix_seconds};
use mmstats_format::bucket_bounds;
use mmstats_reader::{
    FieldMeta, FieldValue, FormatVersion, HistogramValue, Liveness, Num, ReadError, Snapshot, Value,
};

/// A number as JSON: integers exactly, floats as [`float`] gives them.
pub fn number(n: Num) -> Json {
    match n {
        Num::U(v) => json!(v),
        Num::I(v) => json!(v),
        Num::F(v) => float(v),
    }
}

/// A float as JSON; NaN and infinities (which JSON cannot hold) become `null`.
pub fn float(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

fn histogram(h: &HistogramValue) -> Json {
    let buckets: Vec<Json> = h
        .buckets
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            let (low, width) = bucket_bounds(i, h.k);
            json!({"low": low, "width": width, "count": n})
        })
        .collect();
    let empty = h.count == 0;
    json!({
        "count": h.count,
        "sum": h.sum,
        "min": if empty { Json::Null } else { json!(h.min) },
        "max": if empty { Json::Null } else { json!(h.max) },
        "last": h.last,
        "window_count": h.window_count,
        "window_sum": h.window_sum,
        "k": h.k,
        "buckets": buckets,
    })
}

/// A value as JSON: scalars plain, compound kinds as objects of their parts.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Number(n) => number(*n),
        Value::Bool(b) => json!(b),
        Value::Text(t) => json!(t),
        Value::Average { count, sum } => json!({"count": count, "sum": number(*sum)}),
        Value::MovingAverage {
            count,
            window_count,
            window_sum,
            last,
        } => json!({
            "count": count,
            "window_count": window_count,
            "window_sum": number(*window_sum),
            "last": number(*last),
        }),
        Value::Histogram(h) => histogram(h),
        Value::Windowed(w) => json!({"width": w.width, "count": w.count, "sum": number(w.sum)}),
    }
}

/// A field's metadata under the names every JSON output uses (slurpstats' `fields`, mmash's
/// `/api/stats`): `label` (the series key), for a labelled field `name` and `labels` (an object
/// of its pairs), then `kind`, `type`, `unit`, `combine` and `help`. Flatten it into a larger
/// serde struct with `#[serde(flatten)]`, or turn it into JSON with [`FieldMetaJson::to_json`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldMetaJson<'a> {
    /// The series key (FORMAT.md §3.5).
    pub label: &'a str,
    /// The family name of a labelled field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The pairs of a labelled field, as an object.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<&'a str, &'a str>,
    /// The kind's name.
    pub kind: &'static str,
    /// The value type's name.
    #[serde(rename = "type")]
    pub value_type: &'static str,
    /// The unit (FORMAT.md §3.3).
    pub unit: &'a str,
    /// The combine rule's name.
    pub combine: &'static str,
    /// The help text.
    pub help: &'a str,
}

impl<'a> FieldMetaJson<'a> {
    /// The JSON names of `m`.
    pub fn of(m: &'a FieldMeta) -> FieldMetaJson<'a> {
        FieldMetaJson {
            label: &m.label,
            name: (!m.labels.is_empty()).then(|| m.name()),
            labels: m
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            kind: m.kind.as_str(),
            value_type: m.value_type.as_str(),
            unit: &m.unit,
            combine: m.combine.as_str(),
            help: &m.help,
        }
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Map<String, Json> {
        match serde_json::to_value(self) {
            Ok(Json::Object(o)) => o,
            // A struct of strings always serialises to an object.
            _ => Map::new(),
        }
    }
}

/// One field as JSON (see the module docs).
pub fn field(f: &FieldValue, now: SystemTime, created: Option<SystemTime>) -> Json {
    let m = &f.meta;
    let mut o = FieldMetaJson::of(m).to_json();
    match &f.value {
        Ok(v) => {
            o.insert("value".into(), value(v));
            let derived: Map<String, Json> = v
                .derived_values(
                    m.kind,
                    unix_seconds(now),
                    created.map(unix_seconds).unwrap_or(0.0),
                )
                .into_iter()
                .map(|(s, x)| (s.to_string(), float(x)))
                .collect();
            if !derived.is_empty() {
                o.insert("derived".into(), Json::Object(derived));
            }
        }
        Err(e) => {
            o.insert("error".into(), json!(e.to_string()));
        }
    }
    Json::Object(o)
}

/// True if a field or one of its derived labels starts with one of `filters`.
fn field_matches(f: &FieldValue, filters: &[String]) -> bool {
    if label_matches(&f.meta.label, filters) {
        return true;
    }
    // `latency.p9` keeps the latency field: a filter may name a derived value.
    filters
        .iter()
        .any(|p| p.starts_with(&format!("{}.", f.meta.label)))
}

/// One file as JSON (see the module docs), with the fields that match `filters` (all when
/// empty).
pub fn snapshot(snap: &Snapshot, filters: &[String]) -> Json {
    let info = &snap.info;
    let fields: Vec<Json> = snap
        .fields
        .iter()
        .filter(|f| field_matches(f, filters))
        .map(|f| field(f, snap.taken, info.created))
        .collect();
    json!({
        "timestamp": float(unix_seconds(snap.taken)),
        "path": snap.path.to_string_lossy(),
        "format_version": format_version(info.version),
        "pid": info.pid,
        "tid": info.tid,
        "uid": info.uid,
        "gid": info.gid,
        "writer": info.writer,
        "created": info.created.map(|c| float(unix_seconds(c))),
        "closed": info.closed,
        "process_totals": info.process_totals,
        "folded": info.folded,
        "alive": snap.liveness.as_ref().map(|l| *l == Liveness::Alive),
        "state": state(snap),
        "fields": fields,
    })
}

/// A file's format under the one name every JSON output gives it, `format_version`: `1`, `2`,
/// or `"hsperfdata"` for a HotSpot JVM's performance data file.
pub fn format_version(v: FormatVersion) -> Json {
    match v {
        FormatVersion::V1 => json!(1),
        FormatVersion::V2 => json!(2),
        FormatVersion::Hsperf => json!("hsperfdata"),
    }
}

/// What a file's writer is doing: `alive`, `closed` (it shut the file cleanly), `folded` (its
/// values moved into its process file), `dead: <why>` (gone without closing it), or
/// `unknown` when liveness was not asked.
fn state(snap: &Snapshot) -> String {
    match (&snap.liveness, snap.info.closed, snap.info.folded) {
        (_, _, true) => "folded".into(),
        (_, true, _) => "closed".into(),
        (Some(Liveness::Alive), ..) => "alive".into(),
        (Some(Liveness::Dead(why)), ..) => format!("dead: {why}"),
        (None, ..) => "unknown".into(),
    }
}

/// One document for many files: `{"timestamp", "files": [...], "errors": [{"path", "error"}]}`.
pub fn document(snaps: &[Snapshot], errors: &[ReadError], now: SystemTime) -> Json {
    json!({
        "timestamp": float(unix_seconds(now)),
        "files": snaps.iter().map(|s| snapshot(s, &[])).collect::<Vec<_>>(),
        "errors": errors.iter().map(error).collect::<Vec<_>>(),
    })
}

/// Like [`document`], keeping only fields that match `filters`.
pub fn document_filtered(
    snaps: &[Snapshot],
    errors: &[ReadError],
    now: SystemTime,
    filters: &[String],
) -> Json {
    let mut doc = document(&[], errors, now);
    doc["files"] = Json::Array(snaps.iter().map(|s| snapshot(s, filters)).collect());
    doc
}

/// The document of [`document`] written file by file into any [`Write`], so that no more than
/// one file's JSON is held at a time: `{"timestamp":...,"files":[` when started, each file as
/// [`Document::file`] is given it, and `],"errors":[...]}` when finished. Compact unless
/// `pretty`, which indents it as `{:#}` would.
///
/// ```
/// let mut out = Vec::new();
/// let doc = mmstats_render::json::Document::start(&mut out, std::time::SystemTime::UNIX_EPOCH, false)?;
/// doc.finish(&mut out, &[])?;
/// let parsed: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(parsed["files"].as_array().map(Vec::len), Some(0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
/// The writer is given at each call, so that other output (errors on standard error, after a
/// flush) can go on between files.
#[derive(Debug)]
pub struct Document {
    pretty: bool,
    files: usize,
}

impl Document {
    /// Writes the document's opening, with `now` as its timestamp.
    pub fn start(
        out: &mut (impl Write + ?Sized),
        now: SystemTime,
        pretty: bool,
    ) -> io::Result<Document> {
        let ts = float(unix_seconds(now));
        if pretty {
            write!(out, "{{\n  \"timestamp\": {ts},\n  \"files\": [")?;
        } else {
            write!(out, "{{\"timestamp\":{ts},\"files\":[")?;
        }
        Ok(Document { pretty, files: 0 })
    }

    /// Writes one file's object ([`snapshot`]) with the fields that match `filters`.
    pub fn file(
        &mut self,
        out: &mut (impl Write + ?Sized),
        snap: &Snapshot,
        filters: &[String],
    ) -> io::Result<()> {
        let sep = if self.files == 0 { "" } else { "," };
        self.files += 1;
        let value = snapshot(snap, filters);
        self.item(out, sep, &value)
    }

    fn item(&self, out: &mut (impl Write + ?Sized), sep: &str, value: &Json) -> io::Result<()> {
        out.write_all(sep.as_bytes())?;
        if self.pretty {
            let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
            for line in text.lines() {
                write!(out, "\n    {line}")?;
            }
            Ok(())
        } else {
            serde_json::to_writer(&mut *out, value).map_err(io::Error::other)
        }
    }

    /// Writes the errors and closes the document.
    pub fn finish(self, out: &mut (impl Write + ?Sized), errors: &[ReadError]) -> io::Result<()> {
        let close_files = if self.pretty && self.files > 0 {
            "\n  "
        } else {
            ""
        };
        if self.pretty {
            write!(out, "{close_files}],\n  \"errors\": [")?;
        } else {
            write!(out, "],\"errors\":[")?;
        }
        for (i, e) in errors.iter().enumerate() {
            self.item(out, if i == 0 { "" } else { "," }, &error(e))?;
        }
        if self.pretty {
            let close = if errors.is_empty() { "" } else { "\n  " };
            writeln!(out, "{close}]\n}}")?;
        } else {
            writeln!(out, "]}}")?;
        }
        Ok(())
    }
}

/// An error as `{"path", "error"}`.
pub fn error(e: &ReadError) -> Json {
    json!({"path": e.path.to_string_lossy(), "error": e.kind.to_string()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FieldMeta, FileInfo, Kind, ValueError, ValueType};
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    fn snap() -> Snapshot {
        let mut h = HistogramValue::empty(5, 400);
        h.record(100);
        h.record(300);
        let mut lat = FieldMeta::new("latency", Kind::Timer, ValueType::U64);
        lat.unit = "nanoseconds".into();
        let mut req = FieldMeta::new("requests", Kind::Counter, ValueType::U64);
        req.help = "requests served".into();
        Snapshot {
            fold_seq: None,
            settled: true,
            liveness: None,
            path: PathBuf::from("/tmp/a.mmstats"),
            info: Arc::new(FileInfo {
                pid: Some(7),
                tid: Some(8),
                uid: Some(1),
                gid: Some(2),
                created: Some(UNIX_EPOCH + Duration::from_secs(100)),
                writer: "w".into(),
                ..FileInfo::new(FormatVersion::V2, (0, 0))
            }),
            taken: UNIX_EPOCH + Duration::from_millis(200_500),
            fields: vec![
                FieldValue {
                    meta: Arc::new(req),
                    value: Ok(Value::Number(Num::U(17))),
                },
                FieldValue {
                    meta: Arc::new(lat),
                    value: Ok(Value::Histogram(h.into())),
                },
                FieldValue {
                    meta: Arc::new(FieldMeta::new("name", Kind::Text, ValueType::Text)),
                    value: Err(ValueError::WriterDied),
                },
            ]
            .into(),
        }
    }

    #[test]
    fn file_object_has_identity_and_fields() {
        let j = snapshot(&snap(), &[]);
        assert_eq!(j["timestamp"], json!(200.5));
        assert_eq!(j["path"], json!("/tmp/a.mmstats"));
        assert_eq!(j["format_version"], json!(2));
        assert_eq!((j["pid"].clone(), j["tid"].clone()), (json!(7), json!(8)));
        let f = &j["fields"];
        assert_eq!(f[0]["label"], json!("requests"));
        assert_eq!(f[0]["kind"], json!("counter"));
        assert_eq!(f[0]["type"], json!("u64"));
        assert_eq!(f[0]["help"], json!("requests served"));
        assert_eq!(f[0]["value"], json!(17));
        assert!(f[0].get("derived").is_none());
        assert_eq!(f[1]["value"]["count"], json!(2));
        assert_eq!(f[1]["value"]["buckets"].as_array().unwrap().len(), 2);
        assert_eq!(f[1]["derived"]["mean"], json!(200.0));
        assert_eq!(f[1]["derived"]["max"], json!(300.0));
        assert!(f[1]["derived"]["p99"].as_f64().unwrap() > 290.0);
        assert_eq!(f[2]["error"], json!("writer died mid-update"));
        assert!(f[2].get("value").is_none());
    }

    #[test]
    fn filters_select_fields_also_by_derived_label() {
        let j = snapshot(&snap(), &["latency.p99".into()]);
        let labels: Vec<&str> = j["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["latency"]);
        let j = snapshot(&snap(), &["re".into()]);
        assert_eq!(j["fields"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn non_finite_floats_become_null() {
        assert_eq!(value(&Value::Number(Num::F(f64::NAN))), Json::Null);
        assert_eq!(value(&Value::Number(Num::I(-4))), json!(-4));
    }

    #[test]
    fn a_streamed_document_is_the_document() {
        let now = UNIX_EPOCH + Duration::from_secs(5);
        let errors = [ReadError::new(
            std::path::Path::new("/x"),
            mmstats_reader::ErrorKind::NotFound,
        )];
        for pretty in [false, true] {
            let mut out = Vec::new();
            let mut doc = Document::start(&mut out, now, pretty).unwrap();
            doc.file(&mut out, &snap(), &[]).unwrap();
            doc.file(&mut out, &snap(), &["re".into()]).unwrap();
            doc.finish(&mut out, &errors).unwrap();
            let text = String::from_utf8(out).unwrap();
            let parsed: Json = serde_json::from_str(&text).unwrap();
            let mut want = document(&[snap(), snap()], &errors, now);
            want["files"][1] = snapshot(&snap(), &["re".into()]);
            assert_eq!(parsed, want);
            assert_eq!(text.lines().count() > 1, pretty, "{text}");
        }
        let mut out = Vec::new();
        let empty = Document::start(&mut out, now, true).unwrap();
        empty.finish(&mut out, &[]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let parsed: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, document(&[], &[], now));
    }
}
