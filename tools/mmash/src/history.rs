//! In-memory history of every label, combined over all processes, at three resolutions.
//!
//! Each second the sampler hands over the interval engine's sample
//! ([`mmstats_reader::Sample`], FORMAT.md §12) and every label adds one point: counters and
//! windowed fields their rate per second, averages the interval's mean, histograms and timers
//! the interval's mean plus a `.p50`, `.p90` and `.p99` series of their own, gauges and moving
//! averages their value combined by their rule. Durations (timers, and fields in `nanoseconds`,
//! `microseconds` or `milliseconds`) are kept in seconds. Constants, texts and timestamps have no
//! history. A series keeps three fixed rings of buckets, each bucket holding min, max, mean and
//! last:
//!
//! | resolution | bucket | buckets | covers |
//! |---|---|---|---|
//! | `second` | 1 s | 600 | 10 minutes |
//! | `minute` | 60 s | 60 | 1 hour |
//! | `hour` | 3600 s | 24 | 1 day |
//!
//! **Memory:** a bucket is 40 bytes, so a series takes `(600 + 60 + 24) × 40` = 27,360 bytes
//! plus its label: about 27 KiB per label, allocated once when the label first appears. At most
//! [`MAX_SERIES`] labels are kept (about 110 MiB at worst; 50 labels take 1.3 MiB); a label not
//! seen for a day is dropped.

use std::collections::HashMap;

use mmstats_reader::{Kind, Sample};
use mmstats_render::units::{field_unit, seconds_per};

/// The most labels with a history.
pub const MAX_SERIES: usize = 4096;
/// A series whose label has not been seen for this long is dropped.
pub const EXPIRY_SECS: u64 = 86_400;

/// A history resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    /// Per second, last 10 minutes.
    Second,
    /// Per minute, last hour.
    Minute,
    /// Per hour, last day.
    Hour,
}

impl Res {
    /// Parses `second`, `minute` or `hour`.
    pub fn parse(s: &str) -> Option<Res> {
        Some(match s {
            "second" | "live" => Res::Second,
            "minute" => Res::Minute,
            "hour" | "day" => Res::Hour,
            _ => return None,
        })
    }

    fn ring(self) -> usize {
        self as usize
    }

    /// Seconds per bucket and buckets kept at this resolution: `(1, 600)`, `(60, 60)`,
    /// `(3600, 24)`.
    pub fn buckets(self) -> (u64, usize) {
        RINGS[self.ring()]
    }

    /// The name `parse` reads: `second`, `minute` or `hour`.
    pub fn name(self) -> &'static str {
        ["second", "minute", "hour"][self.ring()]
    }
}

const RINGS: [(u64, usize); 3] = [(1, 600), (60, 60), (3600, 24)];

/// One bucket: statistics of the values added in one period.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Period number (`unix seconds / width`), 0 if unused.
    period: u32,
    n: u32,
    min: f64,
    max: f64,
    sum: f64,
    last: f64,
}

impl Bucket {
    fn add(&mut self, period: u32, v: f64) {
        if self.period != period {
            *self = Bucket {
                period,
                n: 0,
                min: v,
                max: v,
                sum: 0.0,
                last: v,
            };
        }
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.last = v;
    }
}

/// The history of one label.
#[derive(Debug)]
struct Series {
    kind: Kind,
    unit: String,
    rate: bool,
    last_seen: u64,
    rings: [Box<[Bucket]>; 3],
}

impl Series {
    fn new(kind: Kind, unit: &str, rate: bool) -> Series {
        Series {
            kind,
            unit: unit.to_string(),
            rate,
            last_seen: 0,
            rings: RINGS.map(|(_, n)| vec![Bucket::default(); n].into_boxed_slice()),
        }
    }

    fn add(&mut self, now: f64, v: f64) {
        let secs = now as u64;
        self.last_seen = secs;
        for (ring, (width, n)) in self.rings.iter_mut().zip(RINGS) {
            let period = secs / width;
            ring[(period % n as u64) as usize].add(period as u32, v);
        }
    }
}

/// Points of one label at one resolution, oldest first, as columns (`null` where no value).
#[derive(Debug, serde::Serialize)]
pub struct Points {
    /// The label.
    pub label: String,
    /// `second`, `minute` or `hour`.
    pub res: &'static str,
    /// The field's kind.
    pub kind: &'static str,
    /// The field's unit.
    pub unit: String,
    /// True if the values are rates per second.
    pub rate: bool,
    /// Unix seconds of each bucket's start.
    pub t: Vec<u64>,
    /// Smallest value in each bucket.
    pub min: Vec<Option<f64>>,
    /// Largest.
    pub max: Vec<Option<f64>>,
    /// Mean.
    pub mean: Vec<Option<f64>>,
    /// Last.
    pub last: Vec<Option<f64>>,
}

/// Every label's history.
#[derive(Debug, Default)]
pub struct History {
    series: HashMap<String, Series>,
}

/// True for kinds whose history is a rate.
pub fn is_rate(kind: Kind) -> bool {
    matches!(kind, Kind::Counter | Kind::Windowed)
}

/// The interval quantiles a histogram's or timer's history keeps, as series of their own.
pub const QUANTILE_SERIES: [&str; 3] = ["p50", "p90", "p99"];

/// Points of one sample: each label with its value, if it had one.
pub type LabelPoints = Vec<(String, Option<f64>)>;

/// The points one series adds to a history at one sample, with the unit they are in: counters
/// and windowed fields their rate per second, histograms and timers their interval mean and
/// one `label.p50`, `.p90`, `.p99` point each, other kinds their value; durations in seconds.
/// `None` for kinds without a history (constants, texts, timestamps).
pub fn series_points(series: &mmstats_reader::Series) -> Option<(&str, LabelPoints)> {
    let meta = &series.meta;
    let unit = field_unit(meta);
    // durations are kept in seconds
    let (scale, unit) = match seconds_per(unit) {
        Some(per) => (per, "seconds"),
        None => (1.0, unit),
    };
    let mut points: Vec<(String, Option<f64>)> = Vec::new();
    match meta.kind {
        Kind::Constant | Kind::Text | Kind::Timestamp => return None,
        Kind::Histogram | Kind::Timer => {
            points.push((meta.label.clone(), series.number(None).map(|v| v * scale)));
            for q in QUANTILE_SERIES {
                let v = series.number(Some(q)).map(|v| v * scale);
                points.push((format!("{}.{q}", meta.label), v));
            }
        }
        Kind::Counter | Kind::Windowed => {
            points.push((meta.label.clone(), series.number(None)));
        }
        _ => points.push((meta.label.clone(), series.number(None).map(|v| v * scale))),
    }
    Some((unit, points))
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Number of labels with a history.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True if no label has a history.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adds one sample of the interval engine at Unix time `now` (seconds).
    pub fn record(&mut self, now: f64, sample: &Sample) {
        for series in sample.combined() {
            let meta = &series.meta;
            let Some((unit, points)) = series_points(&series) else {
                continue;
            };
            for (label, value) in points {
                if !self.series.contains_key(&label) {
                    if self.series.len() >= MAX_SERIES {
                        continue;
                    }
                    self.series.insert(
                        label.clone(),
                        Series::new(meta.kind, unit, is_rate(meta.kind)),
                    );
                }
                let Some(s) = self.series.get_mut(&label) else {
                    continue;
                };
                s.last_seen = now as u64;
                if let Some(v) = value.filter(|v| v.is_finite()) {
                    s.add(now, v);
                }
            }
        }
        let secs = now as u64;
        if secs.is_multiple_of(60) {
            self.series
                .retain(|_, s| secs.saturating_sub(s.last_seen) < EXPIRY_SECS);
        }
    }

    /// The points of `label` at `res` as of Unix time `now`.
    pub fn points(&self, label: &str, res: Res, now: u64) -> Option<Points> {
        let s = self.series.get(label)?;
        let (width, n) = RINGS[res.ring()];
        let ring = &s.rings[res.ring()];
        let cur = now / width;
        let mut p = Points {
            label: label.to_string(),
            res: ["second", "minute", "hour"][res.ring()],
            kind: s.kind.as_str(),
            unit: s.unit.clone(),
            rate: s.rate,
            t: Vec::with_capacity(n),
            min: Vec::with_capacity(n),
            max: Vec::with_capacity(n),
            mean: Vec::with_capacity(n),
            last: Vec::with_capacity(n),
        };
        for period in (cur + 1).saturating_sub(n as u64)..=cur {
            let b = &ring[(period % n as u64) as usize];
            let ok = b.n > 0 && u64::from(b.period) == period;
            p.t.push(period * width);
            p.min.push(ok.then_some(b.min));
            p.max.push(ok.then_some(b.max));
            p.mean.push(ok.then(|| b.sum / f64::from(b.n)));
            p.last.push(ok.then_some(b.last));
        }
        Some(p)
    }

    /// Bytes of ring storage per series.
    pub const fn bytes_per_series() -> usize {
        (RINGS[0].1 + RINGS[1].1 + RINGS[2].1) * std::mem::size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FieldValue, FileInfo, FormatVersion, HistogramValue, Intervals, Num, Snapshot,
        Value, ValueType,
    };
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    /// A file of process `pid` read at Unix second `at`.
    fn snap(pid: u32, at: f64, fields: Vec<(FieldMeta, Value)>) -> Snapshot {
        Snapshot {
            fold_seq: None,
            settled: true,
            liveness: None,
            path: PathBuf::from(format!("/x/a-{pid}-{pid}.mmstats")),
            info: Arc::new(FileInfo {
                pid: Some(pid),
                tid: Some(pid),
                created: Some(UNIX_EPOCH),
                ..FileInfo::new(FormatVersion::V2, (0, u64::from(pid)))
            }),
            taken: UNIX_EPOCH + Duration::from_secs_f64(at),
            fields: fields
                .into_iter()
                .map(|(m, v)| FieldValue {
                    meta: Arc::new(m),
                    value: Ok(v),
                })
                .collect(),
        }
    }

    fn n(v: u64) -> Value {
        Value::Number(Num::U(v))
    }

    fn m(label: &str, kind: Kind) -> FieldMeta {
        FieldMeta::new(label, kind, ValueType::U64)
    }

    #[test]
    fn bucket_memory_is_as_documented() {
        assert_eq!(std::mem::size_of::<Bucket>(), 40);
        assert_eq!(History::bytes_per_series(), 27_360);
    }

    #[test]
    fn counters_become_rates_summed_over_processes_and_gauges_follow_their_rule() {
        let mut h = History::new();
        let mut e = Intervals::new().assume_alive();
        let t0 = 1_000_000.0;
        for i in 0..5u64 {
            let at = t0 + i as f64;
            let a = snap(
                1,
                at,
                vec![
                    (m("req", Kind::Counter), n(10 * i)),
                    (m("temp", Kind::Gauge), n(i)),
                ],
            );
            let b = snap(
                2,
                at,
                vec![
                    (m("req", Kind::Counter), n(5 * i)),
                    (m("temp", Kind::Gauge), n(3 * i)),
                ],
            );
            h.record(at, &e.update(&[a, b]));
        }
        let p = h.points("req", Res::Second, t0 as u64 + 4).unwrap();
        assert!(p.rate);
        assert_eq!(p.t.len(), 600);
        assert_eq!(*p.t.last().unwrap(), t0 as u64 + 4);
        assert_eq!(p.last[599], Some(15.0));
        assert_eq!(p.last[595], None); // first sample has no rate
        let g = h.points("temp", Res::Second, t0 as u64 + 4).unwrap();
        assert_eq!(g.last[599], Some(16.0)); // gauges sum by default: 4 + 12
        let mm = h.points("temp", Res::Minute, t0 as u64 + 4).unwrap();
        assert_eq!(mm.t.len(), 60);
        assert_eq!(mm.last.iter().rev().find_map(|v| *v), Some(16.0));
        assert!(h.points("nope", Res::Hour, 0).is_none());
    }

    #[test]
    fn minute_buckets_keep_min_max_mean_last() {
        let mut h = History::new();
        let mut e = Intervals::new().assume_alive();
        let t0 = 600.0 * 100.0; // start of a minute
        for (i, v) in [4u64, 1, 9, 2].iter().enumerate() {
            let at = t0 + i as f64;
            h.record(
                at,
                &e.update(&[snap(1, at, vec![(m("g", Kind::Gauge), n(*v))])]),
            );
        }
        let p = h.points("g", Res::Minute, t0 as u64 + 10).unwrap();
        let i = p.t.iter().position(|t| *t == t0 as u64).unwrap();
        assert_eq!(
            (p.min[i], p.max[i], p.mean[i], p.last[i]),
            (Some(1.0), Some(9.0), Some(4.0), Some(2.0))
        );
    }

    #[test]
    fn timers_keep_interval_means_and_percentiles_in_seconds() {
        let mut h = History::new();
        let mut e = Intervals::new().assume_alive();
        let mut meta = m("lat", Kind::Timer);
        meta.param = 5;
        meta.capacity = 1920;
        meta.unit = "nanoseconds".into();
        let mut hist = HistogramValue::empty(5, 1920);
        let t0 = 2_000_000.0;
        // 1 ms latencies for 5 s, then 10 ms: the p99 moves within one interval.
        for i in 0..10u64 {
            let v = if i < 5 { 1_000_000 } else { 10_000_000 };
            for _ in 0..100 {
                hist.record(v);
            }
            let at = t0 + i as f64;
            let s = snap(
                1,
                at,
                vec![(meta.clone(), Value::Histogram(hist.clone().into()))],
            );
            h.record(at, &e.update(&[s]));
        }
        let p99 = h.points("lat.p99", Res::Second, t0 as u64 + 9).unwrap();
        assert_eq!(p99.unit, "seconds");
        let at = |k: u64| p99.last[599 - (9 - k) as usize].unwrap();
        assert!((at(4) - 0.001).abs() < 0.001 * 0.02, "{}", at(4));
        assert!((at(5) - 0.010).abs() < 0.010 * 0.02, "{}", at(5));
        let mean = h.points("lat", Res::Second, t0 as u64 + 9).unwrap();
        assert!((mean.last[599].unwrap() - 0.010).abs() < 1e-9);
        // A counter whose process restarted (another process, new files) makes no negative rate.
        let c = |pid: u32, at: f64, v: u64| snap(pid, at, vec![(m("c", Kind::Counter), n(v))]);
        h.record(300.0, &e.update(&[c(1, 300.0, 50)]));
        h.record(301.0, &e.update(&[c(9, 301.0, 10)]));
        let p = h.points("c", Res::Second, 301).unwrap();
        assert!(p.last.iter().flatten().all(|v| *v >= 0.0));
    }

    #[test]
    fn old_series_expire() {
        let mut h = History::new();
        let mut e = Intervals::new().assume_alive();
        h.record(
            60.0,
            &e.update(&[snap(1, 60.0, vec![(m("g", Kind::Gauge), n(1))])]),
        );
        let later = 60.0 + EXPIRY_SECS as f64;
        h.record(
            later,
            &e.update(&[snap(1, later, vec![(m("k", Kind::Gauge), n(1))])]),
        );
        assert!(h.points("g", Res::Hour, 0).is_none());
        assert_eq!(h.len(), 1);
    }
}
