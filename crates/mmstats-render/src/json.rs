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

/// A value under the one JSON schema of every output (slurpstats' `value`, mmash's
/// `/api/stats`), serialised without building a [`Json`] tree: scalars plain (a number, bool or
/// string); an average as `count`, `sum`; a moving average as `count`, `window_count`,
/// `window_sum`, `last`; a histogram or timer as `count`, `sum`, `min` and `max` (`null` when
/// empty), `last`, `window_count`, `window_sum`, `k` and, unless left out, `buckets` (the
/// non-empty ones as `low`, `width`, `count`); a window as `width`, `count`, `sum`.
#[derive(Debug, Clone, Copy)]
pub struct ValueJson<'a> {
    value: &'a Value,
    buckets: bool,
    order: KeyOrder,
}

/// The order an object's keys are written in: the schema's (as listed in [`ValueJson`]), or
/// sorted by name, as slurpstats has always written them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyOrder {
    Schema,
    Sorted,
}

/// One part of a compound value's object.
enum Part<'a> {
    U64(u64),
    Num(Num),
    Opt(Option<u64>),
    U32(u32),
    Buckets(&'a HistogramValue, KeyOrder),
}

impl serde::Serialize for Part<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::U64(v) => v.serialize(s),
            Part::Num(v) => v.serialize(s),
            Part::Opt(v) => v.serialize(s),
            Part::U32(v) => v.serialize(s),
            Part::Buckets(h, order) => Buckets(h, *order).serialize(s),
        }
    }
}

/// Writes `entries` (given in the schema's order) as one object in `order`.
fn parts<S: serde::Serializer, const N: usize>(
    s: S,
    mut entries: [(&str, Part<'_>); N],
    order: KeyOrder,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    if order == KeyOrder::Sorted {
        entries.sort_unstable_by_key(|(k, _)| *k);
    }
    let mut m = s.serialize_map(Some(N))?;
    for (k, v) in &entries {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

impl<'a> ValueJson<'a> {
    /// The whole value, a histogram's buckets included.
    pub fn new(value: &'a Value) -> ValueJson<'a> {
        ValueJson {
            value,
            buckets: true,
            order: KeyOrder::Schema,
        }
    }

    /// The value without a histogram's `buckets`, for outputs whose derived values (the
    /// percentiles) say what the buckets would.
    pub fn without_buckets(value: &'a Value) -> ValueJson<'a> {
        ValueJson {
            value,
            buckets: false,
            order: KeyOrder::Schema,
        }
    }

    /// The same value with every object's keys sorted by name.
    fn sorted(self) -> ValueJson<'a> {
        ValueJson {
            order: KeyOrder::Sorted,
            ..self
        }
    }
}

/// A histogram's non-empty buckets as `{"low", "width", "count"}` objects.
struct Buckets<'a>(&'a HistogramValue, KeyOrder);

impl serde::Serialize for Buckets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let Buckets(h, order) = *self;
        let mut seq = s.serialize_seq(None)?;
        for (i, n) in h.buckets() {
            let (low, width) = bucket_bounds(i, h.k);
            seq.serialize_element(&BucketJson {
                low,
                width,
                count: n,
                order,
            })?;
        }
        struct BucketJson {
            low: u64,
            width: u64,
            count: u64,
            order: KeyOrder,
        }
        impl serde::Serialize for BucketJson {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                parts(
                    s,
                    [
                        ("low", Part::U64(self.low)),
                        ("width", Part::U64(self.width)),
                        ("count", Part::U64(self.count)),
                    ],
                    self.order,
                )
            }
        }
        seq.end()
    }
}

impl serde::Serialize for ValueJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let order = self.order;
        match self.value {
            Value::Number(n) => n.serialize(s),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Text(t) => s.serialize_str(t),
            Value::Average { count, sum } => parts(
                s,
                [("count", Part::U64(*count)), ("sum", Part::Num(*sum))],
                order,
            ),
            Value::MovingAverage(m) => parts(
                s,
                [
                    ("count", Part::U64(m.count)),
                    ("window_count", Part::U64(m.window_count)),
                    ("window_sum", Part::Num(m.window_sum)),
                    ("last", Part::Num(m.last)),
                ],
                order,
            ),
            Value::Histogram(h) => {
                let empty = h.count == 0;
                let head = [
                    ("count", Part::U64(h.count)),
                    ("sum", Part::U64(h.sum)),
                    ("min", Part::Opt((!empty).then_some(h.min))),
                    ("max", Part::Opt((!empty).then_some(h.max))),
                    ("last", Part::U64(h.last)),
                    ("window_count", Part::U64(h.window_count)),
                    ("window_sum", Part::U64(h.window_sum)),
                    ("k", Part::U32(h.k)),
                ];
                if self.buckets {
                    let [a, b, c, d, e, f, g, k] = head;
                    let all = [a, b, c, d, e, f, g, k, ("buckets", Part::Buckets(h, order))];
                    parts(s, all, order)
                } else {
                    parts(s, head, order)
                }
            }
            Value::Windowed(w) => parts(
                s,
                [
                    ("width", Part::U64(w.width)),
                    ("count", Part::U64(w.count)),
                    ("sum", Part::Num(w.sum)),
                ],
                order,
            ),
        }
    }
}

/// A value as JSON ([`ValueJson`]): scalars plain, compound kinds as objects of their parts.
pub fn value(v: &Value) -> Json {
    serde_json::to_value(ValueJson::new(v)).unwrap_or(Json::Null)
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
/// empty): [`SnapshotJson`] as a tree, for callers that look inside it.
pub fn snapshot(snap: &Snapshot, filters: &[String]) -> Json {
    serde_json::to_value(SnapshotJson::new(snap, filters)).unwrap_or(Json::Null)
}

/// One file's object (see the module docs) as a [`serde::Serialize`] over the snapshot's own
/// data, written straight to a serializer with its keys sorted by name.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotJson<'a> {
    snap: &'a Snapshot,
    filters: &'a [String],
}

impl<'a> SnapshotJson<'a> {
    /// `snap` with the fields that match `filters` (all when empty).
    pub fn new(snap: &'a Snapshot, filters: &'a [String]) -> SnapshotJson<'a> {
        SnapshotJson { snap, filters }
    }
}

impl serde::Serialize for SnapshotJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let snap = self.snap;
        let info = &snap.info;
        let mut m = s.serialize_map(Some(15))?;
        m.serialize_entry(
            "alive",
            &snap.liveness.as_ref().map(|l| *l == Liveness::Alive),
        )?;
        m.serialize_entry("closed", &info.closed)?;
        m.serialize_entry("created", &info.created.map(|c| float(unix_seconds(c))))?;
        m.serialize_entry("fields", &FieldsJson(self))?;
        m.serialize_entry("folded", &info.folded)?;
        m.serialize_entry("format_version", &format_version(info.version))?;
        m.serialize_entry("gid", &info.gid)?;
        m.serialize_entry("path", &snap.path.to_string_lossy())?;
        m.serialize_entry("pid", &info.pid)?;
        m.serialize_entry("process_totals", &info.process_totals)?;
        m.serialize_entry("state", &state(snap))?;
        m.serialize_entry("tid", &info.tid)?;
        m.serialize_entry("timestamp", &float(unix_seconds(snap.taken)))?;
        m.serialize_entry("uid", &info.uid)?;
        m.serialize_entry("writer", &info.writer)?;
        m.end()
    }
}

/// A snapshot's matching fields, as an array of [`FieldJson`].
struct FieldsJson<'a>(&'a SnapshotJson<'a>);

impl serde::Serialize for FieldsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let SnapshotJson { snap, filters } = *self.0;
        s.collect_seq(
            snap.fields
                .iter()
                .filter(|f| field_matches(f, filters))
                .map(|f| FieldJson {
                    field: f,
                    now: snap.taken,
                    created: snap.info.created,
                }),
        )
    }
}

/// One field's object (see the module docs), its keys sorted by name.
struct FieldJson<'a> {
    field: &'a FieldValue,
    now: SystemTime,
    created: Option<SystemTime>,
}

impl serde::Serialize for FieldJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let meta = FieldMetaJson::of(&self.field.meta);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("combine", meta.combine)?;
        match &self.field.value {
            Ok(v) => {
                // later values of a repeated suffix win, as in any object
                let derived: BTreeMap<&str, Option<serde_json::Number>> = v
                    .derived_values(
                        self.field.meta.kind,
                        unix_seconds(self.now),
                        self.created.map(unix_seconds).unwrap_or(0.0),
                    )
                    .into_iter()
                    .map(|(k, x)| (k, serde_json::Number::from_f64(x)))
                    .collect();
                if !derived.is_empty() {
                    m.serialize_entry("derived", &derived)?;
                }
            }
            Err(e) => m.serialize_entry("error", &e.to_string())?,
        }
        m.serialize_entry("help", meta.help)?;
        m.serialize_entry("kind", meta.kind)?;
        m.serialize_entry("label", meta.label)?;
        if !meta.labels.is_empty() {
            m.serialize_entry("labels", &meta.labels)?;
        }
        if let Some(name) = meta.name {
            m.serialize_entry("name", name)?;
        }
        m.serialize_entry("type", meta.value_type)?;
        m.serialize_entry("unit", meta.unit)?;
        if let Ok(v) = &self.field.value {
            m.serialize_entry("value", &ValueJson::new(v).sorted())?;
        }
        m.end()
    }
}

/// Room for one file's JSON that holds a typical file without growing.
const LINE_CAPACITY: usize = 64 * 1024;

/// Writes one file's object ([`SnapshotJson`]) on a line of its own, as `--ndjson` does.
pub fn write_line(
    out: &mut (impl Write + ?Sized),
    snap: &Snapshot,
    filters: &[String],
) -> io::Result<()> {
    // one write of the whole line: many small writes into `out` cost more than the copy
    let mut line = Vec::with_capacity(LINE_CAPACITY);
    serde_json::to_writer(&mut line, &SnapshotJson::new(snap, filters))
        .map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// An unreadable file as `{"error", "path"}`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorJson<'a>(pub &'a ReadError);

impl serde::Serialize for ErrorJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("error", &self.0.kind.to_string())?;
        m.serialize_entry("path", &self.0.path.to_string_lossy())?;
        m.end()
    }
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
    /// One item's text, kept between items.
    buf: Vec<u8>,
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
        Ok(Document {
            pretty,
            files: 0,
            buf: Vec::new(),
        })
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
        self.item(out, sep, &SnapshotJson::new(snap, filters))
    }

    /// Writes `sep` and `value`, indented two levels when pretty.
    fn item(
        &mut self,
        out: &mut (impl Write + ?Sized),
        sep: &str,
        value: &impl serde::Serialize,
    ) -> io::Result<()> {
        out.write_all(sep.as_bytes())?;
        self.buf.clear();
        if self.pretty {
            serde_json::to_writer_pretty(&mut self.buf, value).map_err(io::Error::other)?;
            // JSON strings escape their newlines: every newline here starts a line
            for line in self.buf.split(|b| *b == b'\n') {
                out.write_all(b"\n    ")?;
                out.write_all(line)?;
            }
            Ok(())
        } else {
            // one write of the whole item: many small writes into `out` cost more than the copy
            serde_json::to_writer(&mut self.buf, value).map_err(io::Error::other)?;
            out.write_all(&self.buf)
        }
    }

    /// Writes the errors and closes the document.
    pub fn finish(
        mut self,
        out: &mut (impl Write + ?Sized),
        errors: &[ReadError],
    ) -> io::Result<()> {
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
            self.item(out, if i == 0 { "" } else { "," }, &ErrorJson(e))?;
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
    serde_json::to_value(ErrorJson(e)).unwrap_or(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FieldMeta, FileInfo, Kind, ValueError, ValueType};
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::time::{Duration, UNIX_EPOCH};

    fn snap() -> Snapshot {
        let mut h = HistogramValue::empty(5, 400);
        h.record(100);
        h.record(300);
        let mut lat = FieldMeta::new("latency", Kind::Timer, ValueType::U64);
        lat.unit = "nanoseconds".into();
        let mut req = FieldMeta::new("requests", Kind::Counter, ValueType::U64);
        req.help = "requests served".into();
        SnapshotBuilder::new("/tmp/a.mmstats")
            .info(FileInfo {
                pid: Some(7),
                tid: Some(8),
                uid: Some(1),
                gid: Some(2),
                created: Some(UNIX_EPOCH + Duration::from_secs(100)),
                writer: "w".into(),
                ..FileInfo::new(FormatVersion::V2, (0, 0))
            })
            .taken(UNIX_EPOCH + Duration::from_millis(200_500))
            .field(req, Value::Number(Num::U(17)))
            .field(lat, Value::Histogram(h.into()))
            .field_result(
                FieldMeta::new("name", Kind::Text, ValueType::Text),
                Err(ValueError::WriterDied),
            )
            .build()
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

    /// A file with a field of every kind, one unreadable, and a labelled one.
    fn every_kind() -> Snapshot {
        use mmstats_format::{Period, WindowedValue};
        let mut h = HistogramValue::empty(3, 64);
        for x in [0, 1, 7, 100, 100, 3000] {
            h.record(x);
        }
        let mut t = h.clone();
        t.window_count = 2;
        t.window_sum = 3100;
        let mut lab = FieldMeta::new(
            "reqs{code=\"200\",a=\"b\\\"\"}",
            Kind::Counter,
            ValueType::U64,
        );
        lab.labels = vec![("code".into(), "200".into()), ("a".into(), "b\"".into())];
        let mut timer = FieldMeta::new("lat", Kind::Timer, ValueType::U64);
        timer.unit = "nanoseconds".into();
        timer.help = "how \"long\"\n\u{e9}".into();
        SnapshotBuilder::new("/tmp/every kind.mmstats")
            .info(FileInfo {
                pid: Some(7),
                created: Some(UNIX_EPOCH + Duration::from_millis(100_250)),
                writer: "w\u{1}".into(),
                process_totals: true,
                ..FileInfo::new(FormatVersion::V1, (0, 0))
            })
            .taken(UNIX_EPOCH + Duration::from_millis(200_500))
            .field(
                FieldMeta::new("u", Kind::Counter, ValueType::U64),
                Value::Number(Num::U(u64::MAX)),
            )
            .field(
                FieldMeta::new("i", Kind::Gauge, ValueType::I64),
                Value::Number(Num::I(-4)),
            )
            .field(
                FieldMeta::new("f", Kind::Gauge, ValueType::F64),
                Value::Number(Num::F(0.1)),
            )
            .field(
                FieldMeta::new("nan", Kind::Gauge, ValueType::F64),
                Value::Number(Num::F(f64::NAN)),
            )
            .field(
                FieldMeta::new("b", Kind::Gauge, ValueType::Bool),
                Value::Bool(true),
            )
            .field(
                FieldMeta::new("t", Kind::Text, ValueType::Text),
                Value::Text("a\"\\\n\u{7f}\u{2028}".into()),
            )
            .field(
                FieldMeta::new("avg", Kind::Average, ValueType::F64),
                Value::Average {
                    count: 3,
                    sum: Num::F(7.5),
                },
            )
            .field(
                FieldMeta::new("avg0", Kind::Average, ValueType::U64),
                Value::Average {
                    count: 0,
                    sum: Num::U(0),
                },
            )
            .field(
                FieldMeta::new("mavg", Kind::MovingAverage, ValueType::I64),
                Value::MovingAverage(Box::new(mmstats_format::MovingAverageValue {
                    count: 9,
                    window_count: 2,
                    window_sum: Num::I(-6),
                    last: Num::I(-1),
                })),
            )
            .field(
                FieldMeta::new("hist", Kind::Histogram, ValueType::U64),
                Value::Histogram(h.into()),
            )
            .field(
                FieldMeta::new("empty", Kind::Histogram, ValueType::U64),
                Value::Histogram(HistogramValue::empty(3, 64).into()),
            )
            .field(timer, Value::Histogram(t.into()))
            .field(
                FieldMeta::new("win", Kind::Windowed, ValueType::U64),
                Value::Windowed(Box::new(WindowedValue {
                    width: 60,
                    count: 4,
                    sum: Num::U(40),
                    slots: vec![Period {
                        period: 3,
                        count: 4,
                        sum: Num::U(40),
                    }],
                })),
            )
            .field(lab, Value::Number(Num::U(3)))
            .field_result(
                FieldMeta::new("gone", Kind::Text, ValueType::Text),
                Err(ValueError::WriterDied),
            )
            .build()
    }

    /// What the file object of [`every_kind`] was when it was built as a `serde_json::Value`
    /// tree, compact.
    const EVERY_KIND: &str = include_str!("../testdata/every_kind.json");

    #[test]
    fn the_streamed_file_object_keeps_its_bytes() {
        let every = every_kind();
        let direct = SnapshotJson::new(&every, &[]);
        assert_eq!(serde_json::to_string(&direct).unwrap(), EVERY_KIND);
        let tree: Json = serde_json::from_str(EVERY_KIND).unwrap();
        assert_eq!(
            serde_json::to_string_pretty(&direct).unwrap(),
            serde_json::to_string_pretty(&tree).unwrap()
        );
        for snap in [every_kind(), snap()] {
            for filters in [vec![], vec!["h".to_string()], vec!["lat.p99".to_string()]] {
                let direct = serde_json::to_string(&SnapshotJson::new(&snap, &filters)).unwrap();
                // keys sorted, as a tree writes them
                let tree: Json = serde_json::from_str(&direct).unwrap();
                assert_eq!(direct, tree.to_string());
            }
        }
        let e = ReadError::new(
            std::path::Path::new("/x\ny"),
            mmstats_reader::ErrorKind::NotFound,
        );
        let direct = serde_json::to_string(&ErrorJson(&e)).unwrap();
        assert_eq!(direct, r#"{"error":"not found","path":"/x\ny"}"#);
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
