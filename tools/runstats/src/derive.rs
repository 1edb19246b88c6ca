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

use mmstats_reader::{Interval, Kind, Series};
use mmstats_render::units::{derived_unit, field_unit};

use crate::source::Sample;

/// The statistics of a histogram's or timer's interval that are recorded when it recorded
/// something.
const INTERVAL_STATS: [&str; 6] = ["mean", "max", "p50", "p90", "p99", "p999"];

/// Appends the samples of one series of `process`. `seconds` is the length of the process's
/// interval (`None` on its first sample).
pub fn series_samples(
    source: &'static str,
    process: &str,
    series: &Series,
    seconds: Option<f64>,
    out: &mut Vec<Sample>,
) {
    let meta = &*series.meta;
    let label = &meta.label;
    let mut push = |label: String, kind: &'static str, unit: &str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            out.push(Sample {
                source,
                process: process.to_string(),
                label,
                kind,
                unit: unit.to_string(),
                value: v,
            });
        }
    };
    let unit = field_unit(meta);
    match meta.kind {
        Kind::Text | Kind::Constant | Kind::Timestamp => {}
        Kind::Counter => {
            push(label.clone(), "counter", unit, series.number(Some("total")));
            if series.interval.is_some() {
                push(
                    rate_label(label),
                    "rate",
                    &per_second(unit),
                    series.number(None),
                );
            }
        }
        Kind::Histogram | Kind::Timer => {
            let Some(Interval::Histogram(h)) = &series.interval else {
                return;
            };
            let count = h.count as f64;
            push(format!("{label}.count"), "interval", "", Some(count));
            let rate = seconds.filter(|s| *s > 0.0).map(|s| count / s);
            push(format!("{label}.rate"), "rate", "1/s", rate);
            if h.count > 0 {
                for sfx in INTERVAL_STATS {
                    let v = series.number(Some(sfx));
                    push(
                        format!("{label}.{sfx}"),
                        "interval",
                        derived_unit(meta, sfx),
                        v,
                    );
                }
            }
        }
        Kind::Average => push(label.clone(), "average", unit, series.number(None)),
        Kind::Windowed => {
            for sfx in ["rate", "mean"] {
                let v = series.number(Some(sfx));
                push(
                    format!("{label}.{sfx}"),
                    "windowed",
                    derived_unit(meta, sfx),
                    v,
                );
            }
        }
        Kind::Gauge | Kind::MovingAverage => {
            push(label.clone(), meta.kind.as_str(), unit, series.number(None));
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
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    /// One thread file of process 7 (started at `start`) holding `value`, read at `at` s.
    fn file(meta: &Arc<FieldMeta>, start: u64, at: u64, value: Value) -> Snapshot {
        Snapshot {
            path: format!("/s/app-7-7-{start}.mmstats").into(),
            info: Arc::new(FileInfo {
                pid: Some(7),
                tid: Some(7),
                start_time: Some(start),
                created: Some(UNIX_EPOCH),
                ..FileInfo::new(FormatVersion::V2, (1, start))
            }),
            taken: UNIX_EPOCH + Duration::from_secs(at),
            fold_seq: None,
            fields: vec![FieldValue {
                meta: Arc::clone(meta),
                value: Ok(value),
            }]
            .into(),
            settled: true,
            liveness: None,
        }
    }

    /// The samples of every process in the engine's sample of `snaps`.
    fn samples(engine: &mut Intervals, snaps: &[Snapshot]) -> Vec<Sample> {
        let mut out = Vec::new();
        for p in engine.update(snaps).processes {
            for s in &p.series {
                series_samples("mmstats", "app:7", s, p.seconds, &mut out);
            }
        }
        out
    }

    fn get(out: &[Sample], label: &str) -> Option<f64> {
        out.iter().find(|s| s.label == label).map(|s| s.value)
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
        let rate = out.iter().find(|s| s.label == "req.rate").unwrap();
        assert_eq!(
            (rate.value, rate.unit.as_str(), rate.kind),
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
        let p99 = out.iter().find(|s| s.label == "lat.p99").unwrap();
        assert_eq!((p99.unit.as_str(), p99.kind), ("nanoseconds", "interval"));
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
