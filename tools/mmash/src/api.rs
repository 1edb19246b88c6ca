//! The JSON documents mmash serves, built from snapshots (no I/O here).
//!
//! - `/stats/` and `/stats/<name>`: compatible with the original mmash. Every field is flattened
//!   to scalars: a number, bool or text under its label, and the derived values of richer kinds
//!   under `label.suffix` (`latency.p99`, `size.mean`, ...), with the main value (a mean) under
//!   the label itself.
//! - `/api/stats`: every process's series (rates, interval values: FORMAT.md §12; its own
//!   resources' `proc.*` among them) and every stats file's fields with metadata, value,
//!   derived values and, for counters, their rate; the host's resources apart.

use std::collections::{BTreeMap, BTreeSet};

use mmstats_reader::resource::{
    ResourceKind, is_host, resource_files, resource_kind, resource_kind_of,
};
use mmstats_reader::{
    FieldValue, FileSample, Kind, Liveness, ProcessId, ProcessSample, Sample, Series, Snapshot,
    Value,
};
use serde_json::{Map, Value as Json, json};

use mmstats_render::json::{FieldMetaJson, ValueJson, number as num_json};
pub use mmstats_render::text::unix_seconds as unix;

/// Derived values of a field, as `(suffix, value)`.
pub fn derived(f: &FieldValue, snap: &Snapshot) -> Vec<(&'static str, f64)> {
    let Ok(v) = &f.value else { return Vec::new() };
    let created = snap.info.created.map_or(0.0, unix);
    v.derived_values(f.meta.kind, unix(snap.taken), created)
}

/// One field flattened to `(label, scalar)` pairs.
pub fn flatten(f: &FieldValue, snap: &Snapshot, out: &mut Vec<(String, Json)>) {
    let Ok(v) = &f.value else { return };
    let label = &f.meta.label;
    match v {
        Value::Number(n) => out.push((label.clone(), num_json(*n))),
        Value::Bool(b) => out.push((label.clone(), json!(b))),
        Value::Text(t) => out.push((label.clone(), json!(t))),
        _ => {
            if let Some(p) = v.primary() {
                out.push((label.clone(), json!(p)));
            }
            for (suffix, d) in derived(f, snap) {
                out.push((f.meta.derived_key(suffix), json!(d)));
            }
        }
    }
}

/// Every flattened label of every snapshot, sorted.
pub fn labels(snaps: &[&Snapshot]) -> Vec<String> {
    let mut set = BTreeSet::new();
    let mut buf = Vec::new();
    for s in snaps {
        for f in s.fields.iter() {
            buf.clear();
            flatten(f, s, &mut buf);
            set.extend(buf.drain(..).map(|(l, _)| l));
        }
    }
    set.into_iter().collect()
}

/// How `/stats/<name>` reduces a label's values across files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggr {
    /// Arithmetic mean.
    Avg,
    /// The first file's value.
    One,
    /// Largest.
    Max,
    /// Smallest.
    Min,
    /// Sum.
    Sum,
    /// Smallest non-zero value.
    NonzeroMin,
    /// Mean of the non-zero values.
    NonzeroAvg,
}

impl Aggr {
    /// Parses the original's names.
    pub fn parse(s: &str) -> Option<Aggr> {
        Some(match s {
            "avg" => Aggr::Avg,
            "one" => Aggr::One,
            "max" => Aggr::Max,
            "min" => Aggr::Min,
            "sum" => Aggr::Sum,
            "nonzero-min" => Aggr::NonzeroMin,
            "nonzero-avg" => Aggr::NonzeroAvg,
            _ => return None,
        })
    }

    /// `max`, `min` and `sum` of whole numbers, exactly (64-bit counters lose their low digits
    /// through `f64`); `None` for other reductions, other values, or a sum that fits neither
    /// `u64` nor `i64`.
    fn reduce_integers(self, values: &[Json]) -> Option<Json> {
        let ints: Vec<i128> = values
            .iter()
            .map(|v| {
                v.as_u64()
                    .map(i128::from)
                    .or_else(|| v.as_i64().map(i128::from))
            })
            .collect::<Option<_>>()?;
        let mut ints = ints;
        if self == Aggr::NonzeroMin {
            ints.retain(|v| *v != 0);
            if ints.is_empty() {
                return Some(json!(0));
            }
        }
        let r = match self {
            Aggr::Max => ints.iter().copied().max()?,
            Aggr::Min | Aggr::NonzeroMin => ints.iter().copied().min()?,
            Aggr::Sum => ints.iter().sum(),
            _ => return None,
        };
        if let Ok(u) = u64::try_from(r) {
            Some(json!(u))
        } else {
            i64::try_from(r).ok().map(|i| json!(i))
        }
    }

    /// Reduces values; texts and bools reduce to the first value, empty input to `null`.
    pub fn reduce(self, values: &[Json]) -> Json {
        let Some(first) = values.first() else {
            return Json::Null;
        };
        if self == Aggr::One {
            return first.clone();
        }
        if let Some(exact) = self.reduce_integers(values) {
            return exact;
        }
        let nums: Option<Vec<f64>> = values.iter().map(Json::as_f64).collect();
        let Some(mut nums) = nums else {
            return first.clone();
        };
        if matches!(self, Aggr::NonzeroMin | Aggr::NonzeroAvg) {
            nums.retain(|v| *v != 0.0);
            if nums.is_empty() {
                return json!(0);
            }
        }
        let sum: f64 = nums.iter().sum();
        let r = match self {
            Aggr::Avg | Aggr::NonzeroAvg => sum / nums.len() as f64,
            Aggr::Sum => sum,
            Aggr::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggr::Min | Aggr::NonzeroMin => nums.iter().copied().fold(f64::INFINITY, f64::min),
            Aggr::One => unreachable!("handled above"),
        };
        if r.fract() == 0.0 && r.abs() < 9e15 {
            json!(r as i64)
        } else {
            json!(r)
        }
    }
}

/// `/stats/<name>`: every flattened label starting with `name` (or equal to it when `exact`),
/// mapped to its values across files, or to one value when `aggr` is given.
///
/// A `name` with a label set, `http.requests{method=GET}` or `http.requests{code=5xx}`, keeps
/// the series whose name starts with its name and whose labels match
/// ([`mmstats_reader::labels::selects`]).
pub fn stats(snaps: &[&Snapshot], name: &str, exact: bool, aggr: Option<Aggr>) -> Json {
    let selector = name.contains('{');
    let filters = [name.to_string()];
    let select = |label: &str| mmstats_render::text::label_matches(label, &filters);
    let mut by_label: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    let mut buf = Vec::new();
    for s in snaps {
        for f in s.fields.iter() {
            let l = &f.meta.label;
            // a derived label starts with its field's name, so prune on the field's name
            if !(selector || l.starts_with(name) || name.starts_with(f.meta.name())) {
                continue;
            }
            buf.clear();
            flatten(f, s, &mut buf);
            for (label, v) in buf.drain(..) {
                let keep = if exact {
                    label == name
                } else if selector {
                    select(&label)
                } else {
                    label.starts_with(name)
                };
                if keep {
                    by_label.entry(label).or_default().push(v);
                }
            }
        }
    }
    let mut out = Map::new();
    for (label, values) in by_label {
        let v = match aggr {
            Some(a) => a.reduce(&values),
            None => Json::Array(values),
        };
        out.insert(label, v);
    }
    Json::Object(out)
}

/// The series whose labels `select` names, as `/api/stats` writes them.
fn selected_series<'a>(series: &'a [Series], select: &[String]) -> Vec<SeriesOut<'a>> {
    series
        .iter()
        .filter(|s| mmstats_render::text::label_matches(&s.meta.label, select))
        .map(series_out)
        .collect()
}

/// The labels a `?select=` list names (commas inside a label set's braces do not separate),
/// empty entries left out; every label when empty.
pub fn label_selection(raw: Option<&str>) -> Vec<String> {
    raw.map(mmstats_reader::labels::split_list)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The value of one field for `/api/stats`: the JSON schema of every output
/// ([`ValueJson`]), a histogram's buckets left out (`derived` has what they give).
fn value_out(v: &Value) -> ValueJson<'_> {
    ValueJson::without_buckets(v)
}

/// Derived values serialised as a JSON object.
#[derive(Debug)]
pub struct Derived(pub Vec<(&'static str, f64)>);

impl serde::Serialize for Derived {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One field in `/api/stats`.
#[derive(Debug, serde::Serialize)]
pub struct FieldOut<'a> {
    /// Its metadata, under the names every JSON output uses.
    #[serde(flatten)]
    meta: FieldMetaJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<ValueJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    derived: Option<Derived>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// One file in `/api/stats`.
#[derive(Debug, serde::Serialize)]
pub struct FileOut<'a> {
    path: &'a std::path::Path,
    pid: Option<u32>,
    tid: Option<u32>,
    cmd: String,
    taken: f64,
    /// Its values were folded into its process file: they are counted there.
    folded: bool,
    /// It is a process file (the totals of threads that ended).
    process_totals: bool,
    fields: Vec<FieldOut<'a>>,
}

/// The `/api/stats` document.
#[derive(Debug, serde::Serialize)]
pub struct StatsOut<'a> {
    processes: Vec<ProcessOut<'a>>,
    files: Vec<FileOut<'a>>,
    /// The machine's resources, apart from the processes and files ([`api_stats_apart`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<HostOut<'a>>,
    /// The files that could not be read, each as `path: what is wrong` ([`api_stats_apart`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [String]>,
}

/// The host's resources in `/api/stats`: its series (`host.*`), with rates for its counters.
#[derive(Debug, serde::Serialize)]
pub struct HostOut<'a> {
    /// Where they were read (`/proc`).
    path: &'a std::path::Path,
    /// When they were read (Unix seconds).
    taken: f64,
    /// The length of the interval the rates cover, in seconds (absent on the first sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    fields: Vec<SeriesOut<'a>>,
}

/// One process in `/api/stats`: its series summed over its files (FORMAT.md §12).
#[derive(Debug, serde::Serialize)]
pub struct ProcessOut<'a> {
    pid: Option<u32>,
    start_time: Option<u64>,
    cmd: &'a str,
    alive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a str>,
    /// When its files were read (Unix seconds).
    taken: f64,
    /// The length of the interval its rates cover, in seconds (absent on its first sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    /// Thread files now (not counting its process file).
    threads: usize,
    /// Its stats files.
    files: Vec<&'a std::path::Path>,
    /// Where its own resources (`proc.*` series) were read (`/proc/<pid>`), if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<&'a std::path::Path>,
    fields: Vec<SeriesOut<'a>>,
}

/// One series of a process in `/api/stats`.
#[derive(Debug, serde::Serialize)]
pub struct SeriesOut<'a> {
    label: &'a str,
    /// The family name of a labelled series (FORMAT.md §3.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// The pairs of a labelled series, as an object.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'a str, &'a str>,
    kind: &'static str,
    unit: &'a str,
    /// The value now: a counter's continuous total, a histogram's merged totals, a gauge
    /// combined over the process's live files, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<ValueJson<'a>>,
    /// Counters and windowed fields: per second over the last interval (window).
    #[serde(skip_serializing_if = "Option::is_none")]
    rate: Option<f64>,
    /// What the last interval recorded: `count`, `mean`, `min`, `max`, `p50` ... for
    /// histograms and timers, `count` and `mean` for averages, `count` and `mean` for windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<Derived>,
    /// Constants and texts that differ between the process's files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    distinct: Vec<ValueJson<'a>>,
}

/// The names of interval values listed for a series of this kind.
fn interval_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Histogram | Kind::Timer => &[
            "count", "sum", "mean", "min", "max", "p50", "p90", "p99", "p999",
        ],
        Kind::Average | Kind::Windowed => &["count", "mean"],
        _ => &[],
    }
}

/// One series for the API.
pub fn series_out(s: &Series) -> SeriesOut<'_> {
    let names = interval_names(s.meta.kind);
    let interval = s.numbers(names);
    SeriesOut {
        label: &s.meta.label,
        name: (!s.meta.labels.is_empty()).then(|| s.meta.name()),
        labels: s
            .meta
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        kind: s.meta.kind.as_str(),
        unit: &s.meta.unit,
        value: s.value.as_ref().map(value_out),
        rate: if s.is_rate() { s.number(None) } else { None },
        interval: (!interval.is_empty()).then_some(Derived(interval)),
        distinct: s.distinct.iter().map(value_out).collect(),
    }
}

/// `/api/stats`: each process with its series, and each file with every field's metadata,
/// value, derived values and, for counters, what it added per second to its process over the
/// last interval. Only the processes and files among `snaps` are listed.
pub fn api_stats<'a>(snaps: &[&'a Snapshot], intervals: &'a Sample) -> StatsOut<'a> {
    api_stats_selected(snaps, intervals, &[])
}

/// `/api/stats?select=...`: as [`api_stats`], with only the series and fields that one of
/// `select` names: a label prefix, or a series with a label set (`http.requests{method=GET}`),
/// as [`mmstats_render::text::label_matches`] reads them. Empty: every one.
pub fn api_stats_selected<'a>(
    snaps: &[&'a Snapshot],
    intervals: &'a Sample,
    select: &[String],
) -> StatsOut<'a> {
    let wanted: std::collections::HashSet<&std::path::Path> =
        snaps.iter().map(|s| s.path.as_path()).collect();
    let shares: std::collections::HashMap<&std::path::Path, &FileSample> = intervals
        .processes
        .iter()
        .flat_map(|p| &p.files)
        .map(|f| (f.path.as_path(), f))
        .collect();
    let processes = intervals
        .processes
        .iter()
        .filter(|p| p.files.iter().any(|f| wanted.contains(f.path.as_path())))
        .map(|p| process_out(p, select))
        .collect();
    let files = snaps
        .iter()
        .map(|s| file_out(s, shares.get(s.path.as_path()).copied(), select))
        .collect();
    StatsOut {
        processes,
        files,
        host: None,
        errors: None,
    }
}

/// One process of `/api/stats` with the series `select` chooses (empty: every one).
pub fn process_out<'a>(p: &'a ProcessSample, select: &[String]) -> ProcessOut<'a> {
    ProcessOut {
        pid: p.pid(),
        start_time: match &p.id {
            ProcessId::Process { start_time, .. } => Some(*start_time),
            ProcessId::File(_) => None,
        },
        cmd: &p.cmd,
        alive: p.liveness == Liveness::Alive,
        why: match &p.liveness {
            Liveness::Dead(why) => Some(&**why),
            Liveness::Alive => None,
        },
        taken: unix(p.taken),
        seconds: p.seconds,
        threads: p.threads(),
        files: p
            .files
            .iter()
            .filter(|f| resource_kind_of(&f.info).is_none())
            .map(|f| f.path.as_path())
            .collect(),
        resources: resource_files(p)
            .find(|(kind, _)| *kind == ResourceKind::Process)
            .map(|(_, f)| f.path.as_path()),
        fields: selected_series(&p.series, select),
    }
}

/// One file of `/api/stats` with the fields `select` chooses (empty: every one); `share` is
/// its part in the interval engine's sample, for its counters' rates.
pub fn file_out<'a>(s: &'a Snapshot, share: Option<&FileSample>, select: &[String]) -> FileOut<'a> {
    let fields = s
        .fields
        .iter()
        .filter(|f| mmstats_render::text::label_matches(&f.meta.label, select))
        .map(|f| {
            let m = &f.meta;
            let mut o = FieldOut {
                meta: FieldMetaJson::of(m),
                value: None,
                primary: None,
                derived: None,
                rate: None,
                error: None,
            };
            match &f.value {
                Ok(v) => {
                    o.value = Some(value_out(v));
                    if !matches!(v, Value::Number(_) | Value::Bool(_)) {
                        o.primary = v.primary();
                    }
                    let d = derived(f, s);
                    o.derived = (!d.is_empty()).then_some(Derived(d));
                    if m.kind == Kind::Counter {
                        o.rate = share
                            .and_then(|sh| sh.series.iter().find(|x| x.meta.label == m.label))
                            .and_then(|x| x.number(None));
                    }
                }
                Err(e) => o.error = Some(e.to_string()),
            }
            o
        })
        .collect();
    FileOut {
        path: &s.path,
        pid: s.info.pid,
        tid: s.info.tid,
        cmd: mmstats_reader::command_name(s),
        taken: unix(s.taken),
        folded: s.info.folded,
        process_totals: s.info.process_totals,
        fields,
    }
}

/// The host's resources in `/api/stats` (`p` is the host's process in the sample), with the
/// series `select` chooses.
pub fn host_out<'a>(p: &'a ProcessSample, select: &[String]) -> HostOut<'a> {
    HostOut {
        path: p
            .files
            .first()
            .map_or(std::path::Path::new("/proc"), |f| f.path.as_path()),
        taken: unix(p.taken),
        seconds: p.seconds,
        fields: selected_series(&p.series, select),
    }
}

/// `/api/stats` as mmash serves it: [`api_stats_selected`] over the stats files among
/// `snaps`, whose processes carry their own resources' series (`proc.*`, which share the
/// process's pid and start time) and name where they were read as `resources`; the host's
/// resources, when `snaps` has them, apart as `host`, neither a file nor a process; and last
/// `errors`, the files of the scan that could not be read. mmash streams the same document
/// piece by piece ([`crate::stream::StatsChunks`]).
pub fn api_stats_apart<'a>(
    snaps: &[&'a Snapshot],
    intervals: &'a Sample,
    errors: &'a [String],
    select: &[String],
) -> StatsOut<'a> {
    let files: Vec<&Snapshot> = snaps
        .iter()
        .copied()
        .filter(|s| resource_kind(s).is_none())
        .collect();
    let mut out = api_stats_selected(&files, intervals, select);
    let has_host = snaps
        .iter()
        .any(|s| resource_kind(s) == Some(ResourceKind::Host));
    out.host = intervals
        .processes
        .iter()
        .filter(|_| has_host)
        .find(|p| is_host(p))
        .map(|p| host_out(p, select));
    out.errors = Some(errors);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FieldMeta, FileInfo, FormatVersion, HistogramValue, Num, ValueType};
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn snap(path: &str, taken: SystemTime, fields: Vec<(&str, Kind, Value)>) -> Snapshot {
        let info = FileInfo {
            pid: Some(5),
            tid: Some(6),
            created: Some(UNIX_EPOCH),
            ..FileInfo::new(FormatVersion::V2, (0, 0))
        };
        fields
            .into_iter()
            .fold(
                SnapshotBuilder::new(path).info(info).taken(taken),
                |b, (l, k, v)| b.field(FieldMeta::new(l, k, ValueType::U64), v),
            )
            .build()
    }

    #[test]
    fn labelled_series_are_shown_and_selected_by_their_labels() {
        let series = |method: &str, code: &str, n: u64| FieldValue {
            meta: Arc::new(
                FieldMeta::new("http.requests", Kind::Counter, ValueType::U64)
                    .with_labels([("method", method), ("code", code)]),
            ),
            value: Ok(Value::Number(Num::U(n))),
        };
        let mut s = snap("/d/a-1-1.mmstats", SystemTime::now(), vec![]);
        s.fields = vec![series("GET", "200", 7), series("POST", "503", 2)].into();
        let snaps = [&s];
        let j = stats(&snaps, "http.requests{code=5xx}", false, None);
        assert_eq!(
            j,
            json!({r#"http.requests{code="503",method="POST"}"#: [2]})
        );
        let all = stats(&snaps, "http.req", false, Some(Aggr::Sum));
        assert_eq!(all.as_object().map(|o| o.len()), Some(2));
        let sample = mmstats_reader::Intervals::new()
            .assume_alive()
            .update(&[s.clone()]);
        let out = serde_json::to_value(api_stats_selected(
            &snaps,
            &sample,
            &["http.requests{method=GET}".to_string()],
        ))
        .unwrap();
        let fields = &out["files"][0]["fields"];
        assert_eq!(fields.as_array().map(Vec::len), Some(1), "{out}");
        assert_eq!(fields[0]["name"], "http.requests");
        assert_eq!(fields[0]["labels"], json!({"code": "200", "method": "GET"}));
        let series = &out["processes"][0]["fields"];
        assert_eq!(series.as_array().map(Vec::len), Some(1), "{out}");
        assert_eq!(series[0]["name"], "http.requests");
        assert_eq!(series[0]["labels"], json!({"code": "200", "method": "GET"}));
        let plain = serde_json::to_value(api_stats(&snaps, &sample)).unwrap();
        assert_eq!(
            plain["files"][0]["fields"].as_array().map(Vec::len),
            Some(2)
        );
    }

    fn two() -> Vec<Snapshot> {
        let now = SystemTime::now();
        let mut h = HistogramValue::empty(5, 64);
        h.record(4);
        h.record(8);
        vec![
            snap(
                "/d/a-1-1.mmstats",
                now,
                vec![
                    ("web.requests", Kind::Counter, Value::Number(Num::U(10))),
                    ("web.name", Kind::Text, Value::Text("a".into())),
                    ("lat", Kind::Histogram, Value::Histogram(h.into())),
                ],
            ),
            snap(
                "/d/b-2-2.mmstats",
                now,
                vec![
                    ("web.requests", Kind::Counter, Value::Number(Num::U(0))),
                    ("web.req", Kind::Gauge, Value::Number(Num::I(-3))),
                ],
            ),
        ]
    }

    #[test]
    fn labels_include_derived_values() {
        let two = two();
        let l = labels(&two.iter().collect::<Vec<_>>());
        for want in [
            "web.requests",
            "web.name",
            "web.req",
            "lat",
            "lat.p99",
            "lat.mean",
        ] {
            assert!(l.iter().any(|x| x == want), "{want} not in {l:?}");
        }
        assert!(l.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn stats_prefix_exact_and_aggregations() {
        let s = two();
        let s: Vec<&Snapshot> = s.iter().collect();
        assert_eq!(
            stats(&s, "web.req", false, None),
            json!({"web.req": [-3], "web.requests": [10, 0]})
        );
        assert_eq!(stats(&s, "web.req", true, None), json!({"web.req": [-3]}));
        let agg = |a| stats(&s, "web.requests", true, Some(a))["web.requests"].clone();
        assert_eq!(agg(Aggr::Sum), json!(10));
        assert_eq!(agg(Aggr::Avg), json!(5));
        assert_eq!(agg(Aggr::Max), json!(10));
        assert_eq!(agg(Aggr::Min), json!(0));
        assert_eq!(agg(Aggr::One), json!(10));
        assert_eq!(agg(Aggr::NonzeroMin), json!(10));
        assert_eq!(agg(Aggr::NonzeroAvg), json!(10));
        assert_eq!(
            stats(&s, "web.name", true, Some(Aggr::Sum)),
            json!({"web.name": "a"})
        );
        assert_eq!(stats(&s, "lat.p50", true, None), json!({"lat.p50": [4.0]}));
        assert_eq!(Aggr::parse("nonzero-avg"), Some(Aggr::NonzeroAvg));
        assert_eq!(Aggr::parse("median"), None);
    }

    #[test]
    fn integer_aggregations_keep_64_bits() {
        let big = [json!(u64::MAX), json!(1u64)];
        assert_eq!(Aggr::Max.reduce(&big), json!(18446744073709551615u64));
        assert_eq!(Aggr::Min.reduce(&big), json!(1));
        let neg = [json!(i64::MIN), json!(0), json!(5)];
        assert_eq!(Aggr::Min.reduce(&neg), json!(-9223372036854775808i64));
        assert_eq!(
            Aggr::NonzeroMin.reduce(&neg),
            json!(-9223372036854775808i64)
        );
        assert_eq!(Aggr::Max.reduce(&neg), json!(5));
        assert_eq!(
            Aggr::Sum.reduce(&[json!(9007199254740993u64), json!(2)]),
            json!(9007199254740995u64)
        );
        // A sum past u64 falls back to a float rather than wrapping.
        assert!(Aggr::Sum.reduce(&big).is_f64());
        assert_eq!(Aggr::Max.reduce(&[json!(1.5), json!(2)]), json!(2));
    }

    #[test]
    fn api_stats_has_metadata_derived_values_and_rates() {
        let cur = two();
        let mut prev = two();
        for p in &mut prev {
            p.taken = cur[0].taken - Duration::from_secs(2);
        }
        let mut fields = prev[0].fields.to_vec();
        fields[0].value = Ok(Value::Number(Num::U(4)));
        prev[0].fields = fields.into();
        let mut engine = mmstats_reader::Intervals::new().assume_alive();
        engine.update(&prev);
        let sample = engine.update(&cur);
        let j = serde_json::to_value(api_stats(&cur.iter().collect::<Vec<_>>(), &sample)).unwrap();
        let p0 = &j["processes"][0];
        assert_eq!(
            (p0["pid"].clone(), p0["alive"].clone()),
            (json!(5), json!(true))
        );
        assert_eq!(p0["fields"][0]["rate"], json!(3.0));
        let f0 = &j["files"][0];
        assert_eq!(f0["cmd"], json!("a"));
        assert_eq!(f0["pid"], json!(5));
        let req = &f0["fields"][0];
        assert_eq!(req["kind"], json!("counter"));
        assert_eq!(req["value"], json!(10));
        assert_eq!(req["rate"], json!(3.0));
        let lat = &f0["fields"][2];
        assert_eq!(lat["derived"]["count"], json!(2.0));
        assert_eq!(lat["primary"], json!(6.0));
        assert_eq!(
            lat["value"],
            json!({"count": 2, "sum": 12, "min": 4, "max": 8, "last": 8, "window_count": 0, "window_sum": 0, "k": 5})
        );
        assert_eq!(f0["fields"][1]["value"], json!("a"));
        // no previous sample: no rate
        let first = mmstats_reader::Intervals::new().assume_alive().update(&cur);
        let none =
            serde_json::to_value(api_stats(&cur.iter().collect::<Vec<_>>(), &first)).unwrap();
        assert!(none["files"][0]["fields"][0].get("rate").is_none());
    }
}
