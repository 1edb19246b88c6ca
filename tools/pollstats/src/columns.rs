//! Which field a column names in a file, and which files `-f` keeps.

use mmstats_reader::{FieldValue, Snapshot, Value};

/// Finds `label` in a file: the field with exactly that label, else the field named by all but
/// the last dotted part with that part as a derived value (`latency.p99` is the `p99` of
/// `latency`).
pub fn lookup<'a, 'l>(
    snap: &'a Snapshot,
    label: &'l str,
) -> Option<(&'a FieldValue, Option<&'l str>)> {
    if let Some(f) = snap.fields.iter().find(|f| f.meta.label == label) {
        return Some((f, None));
    }
    let (base, suffix) = label.rsplit_once('.')?;
    let f = snap.fields.iter().find(|f| f.meta.label == base)?;
    let compound = matches!(
        f.value,
        Ok(Value::Average { .. }
            | Value::MovingAverage { .. }
            | Value::Histogram(_)
            | Value::Windowed(_))
    );
    compound.then_some((f, Some(suffix)))
}

/// Every field a column names in a file (FORMAT.md §3.5): the field whose label is exactly a
/// series key `name{k="v",...}`; else the series of family `name` whose
/// labels match, for a column `name` or `name{key=value,...}`
/// ([`mmstats_reader::labels::selects`]); else the field with exactly that label; else, for
/// `base.suffix` (with the same optional label set), the derived value `suffix` of each
/// compound series that `base` selects.
pub fn lookup_all<'a, 'l>(
    snap: &'a Snapshot,
    label: &'l str,
) -> Vec<(&'a FieldValue, Option<&'l str>)> {
    use mmstats_reader::labels::{parse_series, selects};
    let family = |column: &str| -> Vec<&'a FieldValue> {
        let Some(sel) = parse_series(column) else {
            return Vec::new();
        };
        snap.fields
            .iter()
            .filter(|f| f.meta.name() == sel.0 && selects(&sel, f.meta.name(), &f.meta.labels))
            .collect()
    };
    // A column that is exactly a series key names that series alone.
    if label.contains('{')
        && let Some(f) = snap.fields.iter().find(|f| f.meta.label == label)
    {
        return vec![(f, None)];
    }
    let found = family(label);
    if !found.is_empty() {
        return found.into_iter().map(|f| (f, None)).collect();
    }
    if let Some(f) = snap.fields.iter().find(|f| f.meta.label == label) {
        return vec![(f, None)];
    }
    let (name, set) = label.find('{').map_or((label, ""), |i| label.split_at(i));
    let Some((base, suffix)) = name.rsplit_once('.') else {
        return Vec::new();
    };
    family(&format!("{base}{set}"))
        .into_iter()
        .filter(|f| {
            matches!(
                f.value,
                Ok(Value::Average { .. }
                    | Value::MovingAverage { .. }
                    | Value::Histogram(_)
                    | Value::Windowed(_))
            )
        })
        .map(|f| (f, Some(suffix)))
        .collect()
}

/// A scalar or text value as `-f key=value` compares it.
pub fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Text(t) => Some(t.to_string()),
        _ => None,
    }
}

/// One `-f` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFilter {
    /// Keep files having a field whose label starts with this.
    Has(String),
    /// Keep files whose field with this label has this value.
    Equals(String, String),
}

impl FileFilter {
    /// Parses `key` or `key=value`, with `prefix` prepended to the key.
    pub fn parse(s: &str, prefix: &str) -> FileFilter {
        match s.split_once('=') {
            Some((k, v)) => FileFilter::Equals(format!("{prefix}{k}"), v.to_string()),
            None => FileFilter::Has(format!("{prefix}{s}")),
        }
    }

    /// True if the file passes.
    pub fn keeps(&self, snap: &Snapshot) -> bool {
        match self {
            FileFilter::Has(p) => snap
                .fields
                .iter()
                .any(|f| f.meta.label.starts_with(p.as_str())),
            FileFilter::Equals(k, want) => snap.fields.iter().any(|f| {
                f.meta.label == *k
                    && f.value
                        .as_ref()
                        .ok()
                        .and_then(value_string)
                        .is_some_and(|v| v == *want)
            }),
        }
    }
}

/// True if the file passes every filter and has at least one of `labels`.
pub fn keep(snap: &Snapshot, filters: &[FileFilter], labels: &[String]) -> bool {
    filters.iter().all(|f| f.keeps(snap))
        && (labels.is_empty() || labels.iter().any(|l| !lookup_all(snap, l).is_empty()))
}

/// The labels of `labels` that name no field of any of `snaps` (their columns stay empty
/// until a file has them).
pub fn missing<'l>(snaps: &[&Snapshot], labels: &'l [String]) -> Vec<&'l str> {
    labels
        .iter()
        .filter(|l| snaps.iter().all(|s| lookup_all(s, l).is_empty()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FileInfo, FormatVersion, HistogramValue, Kind, Num, ValueType,
    };
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::time::{Duration, UNIX_EPOCH};

    /// A snapshot of file `name` taken at `at` seconds, with these fields.
    pub(crate) fn snap(name: &str, at: f64, fields: Vec<(FieldMeta, Value)>) -> Snapshot {
        let info = FileInfo {
            pid: Some(name.len() as u32 * 100),
            tid: Some(1),
            created: Some(UNIX_EPOCH + Duration::from_secs(1000)),
            ..FileInfo::new(FormatVersion::V2, (1, name.len() as u64))
        };
        fields
            .into_iter()
            .fold(
                SnapshotBuilder::new(format!("/s/{name}.mmstats"))
                    .info(info)
                    .taken_secs(at),
                |b, (m, v)| b.field(m, v),
            )
            .build()
    }

    pub(crate) fn m(label: &str, kind: Kind, vt: ValueType) -> FieldMeta {
        FieldMeta::new(label, kind, vt)
    }

    #[test]
    fn lookup_exact_then_derived() {
        let mut h = HistogramValue::empty(5, 100);
        h.record(3);
        let s = snap(
            "a",
            0.0,
            vec![
                (
                    m("web.latency", Kind::Timer, ValueType::U64),
                    Value::Histogram(h.into()),
                ),
                (
                    m("web.requests", Kind::Counter, ValueType::U64),
                    Value::Number(Num::U(1)),
                ),
            ],
        );
        assert_eq!(
            lookup(&s, "web.requests").map(|(f, s)| (f.meta.label.as_str(), s)),
            Some(("web.requests", None))
        );
        assert_eq!(
            lookup(&s, "web.latency.p99").map(|(f, s)| (f.meta.label.as_str(), s)),
            Some(("web.latency", Some("p99")))
        );
        assert!(
            lookup(&s, "web.requests.x").is_none(),
            "scalars have no derived values"
        );
        assert!(lookup(&s, "nope").is_none());
    }

    #[test]
    fn filters_by_prefix_and_value() {
        let s = snap(
            "a",
            0.0,
            vec![
                (
                    m("web.role", Kind::Constant, ValueType::Text),
                    Value::Text("front".into()),
                ),
                (
                    m("web.port", Kind::Constant, ValueType::U16),
                    Value::Number(Num::U(80)),
                ),
            ],
        );
        let f = |x: &str| FileFilter::parse(x, "web.").keeps(&s);
        assert!(f("ro") && f("role=front") && f("port=80"));
        assert!(!f("role=back") && !f("db") && !f("port=8"));
        assert_eq!(
            FileFilter::parse("a=b=c", ""),
            FileFilter::Equals("a".into(), "b=c".into())
        );
        assert!(keep(&s, &[], &["web.port".into()]));
        assert!(!keep(&s, &[], &["web.other".into()]));
    }

    #[test]
    fn missing_labels_are_those_no_file_has() {
        let mut h = HistogramValue::empty(5, 100);
        h.record(3);
        let a = snap(
            "a",
            0.0,
            vec![(
                m("web.latency", Kind::Timer, ValueType::U64),
                Value::Histogram(h.into()),
            )],
        );
        let b = snap(
            "bb",
            0.0,
            vec![(
                m("web.requests", Kind::Counter, ValueType::U64),
                Value::Number(Num::U(1)),
            )],
        );
        let labels: Vec<String> = [
            "web.requests",
            "web.latency.p99",
            "web.nope",
            "web.requests.p99",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            missing(&[&a, &b], &labels),
            ["web.nope", "web.requests.p99"],
            "a field of either file, or a derived value of one, is there"
        );
        assert_eq!(
            missing(&[&a], &labels),
            ["web.requests", "web.nope", "web.requests.p99"]
        );
        assert!(missing(&[&a, &b], &labels[..2]).is_empty());
    }
}
