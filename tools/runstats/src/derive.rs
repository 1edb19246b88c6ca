//! The series runstats records for one process, labelled as the tools show them, from the
//! reader's interval engine ([`mmstats_reader::Intervals`], FORMAT.md §12), which owns every
//! rule: rates, interval histograms, windows, gauges combined by rule, threads that end,
//! processes that exit or restart, counters that wrap.
//!
//! From each [`Series`]: a counter as its continuous total (`label`) and its rate
//! (`label.rate`); a histogram or timer as what it recorded during the interval
//! (`label.count`, `label.rate`, and when it recorded something `label.mean`, `.max`, `.p50`,
//! `.p90`, `.p99`, `.p999`); an average as its interval mean (`label`); a windowed field as
//! its window's rate and mean (`label.rate`, `label.mean`); a gauge or moving average as its
//! value (`label`). Texts, constants and timestamps are no series. A process's first sample
//! has no interval, so no rates or interval statistics yet.

use std::collections::HashMap;
use std::sync::Arc;

use mmstats_reader::{FieldMeta, Interval, Kind, Series};
use mmstats_render::units::{derived_unit, field_unit};

use crate::sample::Sample;

/// The statistics of a histogram's or timer's interval that are recorded when it recorded
/// something.
const INTERVAL_STATS: [&str; 6] = ["mean", "max", "p50", "p90", "p99", "p999"];

/// The labels and units of the samples of each field, made the first time the field is seen
/// and handed out again at every tick while it is seen, so that a tick's samples share them.
///
/// A field is known by its metadata (the reader keeps one `Arc` per field of a file while the
/// file's metadata stays the same), which is kept here so that its address is never another
/// field's. What was not seen during a tick is forgotten at [`Names::tick`].
#[derive(Debug, Default)]
pub struct Names {
    /// The fields, by the address of their metadata (hashed with foldhash: a tick looks up
    /// thousands of them, and SipHash would cost hundreds of instructions each).
    fields: HashMap<usize, Derived, foldhash::fast::RandomState>,
    /// Counts the ticks: a field seen during this one has it as `seen`.
    tick: u64,
}

/// The names of one field's samples.
#[derive(Debug)]
struct Derived {
    /// The field's metadata (held, so that its address stays its own).
    _meta: Arc<FieldMeta>,
    /// Label and unit of each sample [`series_samples`] may append, in its order.
    names: Vec<(Arc<str>, Arc<str>)>,
    /// The last tick it was seen during.
    seen: u64,
}

impl Names {
    /// Knows no field yet.
    pub fn new() -> Names {
        Names::default()
    }

    /// The labels and units of `meta`'s samples, in the order [`series_samples`] appends them.
    fn of(&mut self, meta: &Arc<FieldMeta>) -> &[(Arc<str>, Arc<str>)] {
        let d = self
            .fields
            .entry(Arc::as_ptr(meta) as usize)
            .or_insert_with(|| Derived {
                _meta: Arc::clone(meta),
                names: names_of(meta),
                seen: 0,
            });
        d.seen = self.tick;
        &d.names
    }

    /// Ends a tick: forgets the fields not seen during it.
    pub fn tick(&mut self) {
        let now = self.tick;
        self.fields.retain(|_, d| d.seen == now);
        self.tick += 1;
    }
}

/// The label and unit of each sample of a field, in the order [`series_samples`] appends
/// them.
fn names_of(meta: &FieldMeta) -> Vec<(Arc<str>, Arc<str>)> {
    let label = meta.label.as_str();
    let unit = field_unit(meta);
    let name = |l: String, u: &str| (Arc::<str>::from(l), Arc::<str>::from(u));
    match meta.kind {
        Kind::Text | Kind::Constant | Kind::Timestamp => Vec::new(),
        Kind::Counter => vec![
            name(label.to_string(), unit),
            name(rate_label(label), &per_second(unit)),
        ],
        Kind::Histogram | Kind::Timer => [("count", ""), ("rate", "1/s")]
            .into_iter()
            .chain(INTERVAL_STATS.map(|sfx| (sfx, derived_unit(meta, sfx))))
            .map(|(sfx, u)| name(format!("{label}.{sfx}"), u))
            .collect(),
        Kind::Windowed => ["rate", "mean"]
            .map(|sfx| name(format!("{label}.{sfx}"), derived_unit(meta, sfx)))
            .to_vec(),
        Kind::Average | Kind::Gauge | Kind::MovingAverage => {
            vec![name(label.to_string(), unit)]
        }
    }
}

/// Appends the samples of one series of `process`. `seconds` is the length of the process's
/// interval (`None` on its first sample). Their labels and units come from `names`.
pub fn series_samples(
    source: &'static str,
    process: &Arc<str>,
    series: &Series,
    seconds: Option<f64>,
    names: &mut Names,
    out: &mut Vec<Sample>,
) {
    let meta = &*series.meta;
    let names = names.of(&series.meta);
    let mut push = |i: usize, kind: &'static str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite())
            && let Some((label, unit)) = names.get(i)
        {
            out.push(Sample {
                source,
                process: Arc::clone(process),
                label: Arc::clone(label),
                kind,
                unit: Arc::clone(unit),
                value: v,
            });
        }
    };
    match meta.kind {
        Kind::Text | Kind::Constant | Kind::Timestamp => {}
        Kind::Counter => {
            push(0, "counter", series.number(Some("total")));
            if series.interval.is_some() {
                push(1, "rate", series.number(None));
            }
        }
        Kind::Histogram | Kind::Timer => {
            let Some(Interval::Histogram(h)) = &series.interval else {
                return;
            };
            let count = h.count as f64;
            push(0, "interval", Some(count));
            let rate = seconds.filter(|s| *s > 0.0).map(|s| count / s);
            push(1, "rate", rate);
            if h.count > 0 {
                // All of the interval's statistics at once.
                let stats = series.numbers(&INTERVAL_STATS);
                for (i, sfx) in INTERVAL_STATS.into_iter().enumerate() {
                    let v = stats.iter().find(|(n, _)| *n == sfx).map(|(_, x)| *x);
                    push(2 + i, "interval", v);
                }
            }
        }
        Kind::Average => push(0, "average", series.number(None)),
        Kind::Windowed => {
            for (i, sfx) in ["rate", "mean"].into_iter().enumerate() {
                push(i, "windowed", series.number(Some(sfx)));
            }
        }
        Kind::Gauge | Kind::MovingAverage => {
            push(0, meta.kind.as_str(), series.number(None));
        }
    }
}

/// The label of a counter's rate: `label.rate`.
pub fn rate_label(label: &str) -> String {
    format!("{label}.rate")
}

/// The unit of a rate of something in `unit`: `unit/s` (`1/s` without a unit).
pub fn per_second(unit: &str) -> String {
    if unit.is_empty() {
        "1/s".to_string()
    } else {
        format!("{unit}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FieldValue, FileInfo, FormatVersion, HistogramValue, Intervals, Num, Snapshot,
        Value, ValueType,
    };
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    /// One thread file of process 7 (started at `start`) holding `value`, read at `at` s.
    fn file(meta: &Arc<FieldMeta>, start: u64, at: u64, value: Value) -> Snapshot {
        SnapshotBuilder::new(format!("/s/app-7-7-{start}.mmstats"))
            .info(FileInfo {
                pid: Some(7),
                tid: Some(7),
                start_time: Some(start),
                created: Some(UNIX_EPOCH),
                ..FileInfo::new(FormatVersion::V2, (1, start))
            })
            .taken(UNIX_EPOCH + Duration::from_secs(at))
            .field_values([FieldValue {
                meta: Arc::clone(meta),
                value: Ok(value),
            }])
            .build()
    }

    /// The samples of every process in the engine's sample of `snaps`.
    fn samples(engine: &mut Intervals, snaps: &[Snapshot]) -> Vec<Sample> {
        let mut out = Vec::new();
        let mut names = Names::new();
        let process: Arc<str> = Arc::from("app:7");
        for p in engine.update(snaps).processes {
            for s in &p.series {
                series_samples("mmstats", &process, s, p.seconds, &mut names, &mut out);
            }
        }
        out
    }

    fn get(out: &[Sample], label: &str) -> Option<f64> {
        out.iter().find(|s| &*s.label == label).map(|s| s.value)
    }

    #[test]
    fn counters_give_totals_and_rates_and_a_restart_counts_afresh() {
        let mut meta = FieldMeta::new("req", Kind::Counter, ValueType::U64);
        meta.unit = "requests".into();
        let meta = Arc::new(meta);
        let c = |start, at, v| file(&meta, start, at, Value::Number(Num::U(v)));
        let mut engine = Intervals::new().assume_alive();
        let out = samples(&mut engine, &[c(1, 10, 100)]);
        assert_eq!(get(&out, "req"), Some(100.0));
        assert_eq!(get(&out, "req.rate"), None, "no rate before two samples");
        let out = samples(&mut engine, &[c(1, 12, 300)]);
        let rate = out.iter().find(|s| &*s.label == "req.rate").unwrap();
        assert_eq!(
            (rate.value, &*rate.unit, rate.kind),
            (100.0, "requests/s", "rate")
        );
        // The same pid started again within the interval: another process, all of whose
        // count happened in the interval, never a negative rate.
        let mut restarted = c(2, 13, 5);
        let mut info = (*restarted.info).clone();
        info.created = Some(UNIX_EPOCH + Duration::from_millis(12_500));
        restarted.info = Arc::new(info);
        let out = samples(&mut engine, &[restarted]);
        assert_eq!(get(&out, "req"), Some(5.0));
        assert_eq!(get(&out, "req.rate"), Some(5.0));
        let out = samples(&mut engine, &[c(2, 14, 25)]);
        assert_eq!(get(&out, "req.rate"), Some(20.0));
    }

    #[test]
    fn histograms_give_interval_statistics() {
        let meta = Arc::new(FieldMeta::new("lat", Kind::Timer, ValueType::U64));
        let mut h = HistogramValue::empty(5, 1920);
        for _ in 0..1000 {
            h.record(100);
        }
        let mut engine = Intervals::new().assume_alive();
        let out = samples(
            &mut engine,
            &[file(&meta, 1, 10, Value::Histogram(h.clone().into()))],
        );
        assert_eq!(get(&out, "lat.p99"), None);
        h.record(5000);
        h.record(5000);
        let out = samples(
            &mut engine,
            &[file(&meta, 1, 12, Value::Histogram(h.into()))],
        );
        let p50 = get(&out, "lat.p50").unwrap();
        assert!((p50 - 5000.0).abs() < 5000.0 * 0.02, "{p50}");
        assert_eq!(get(&out, "lat.count"), Some(2.0));
        assert_eq!(get(&out, "lat.rate"), Some(1.0));
        let p99 = out.iter().find(|s| &*s.label == "lat.p99").unwrap();
        assert_eq!((&*p99.unit, p99.kind), ("nanoseconds", "interval"));
    }

    #[test]
    fn averages_give_the_mean_of_the_interval_and_gauges_their_value() {
        let avg = Arc::new(FieldMeta::new("size", Kind::Average, ValueType::U64));
        let gauge = Arc::new(FieldMeta::new("queue", Kind::Gauge, ValueType::U64));
        let a = |at, count, sum| {
            let mut s = file(
                &avg,
                1,
                at,
                Value::Average {
                    count,
                    sum: Num::U(sum),
                },
            );
            let mut fields = s.fields.to_vec();
            fields.push(FieldValue {
                meta: Arc::clone(&gauge),
                value: Ok(Value::Number(Num::U(at))),
            });
            s.fields = fields.into();
            s
        };
        let mut engine = Intervals::new().assume_alive();
        let out = samples(&mut engine, &[a(10, 10, 1000)]);
        assert_eq!(get(&out, "queue"), Some(10.0));
        // 10 values of 100 before, then 10 of 10: the interval's mean, not the run's.
        let out = samples(&mut engine, &[a(11, 20, 1100)]);
        assert_eq!(get(&out, "size"), Some(10.0));
        assert_eq!(get(&out, "queue"), Some(11.0));
    }
}
