//! In-memory history of every label, combined over all files, at three resolutions.
//!
//! Each second the sampler folds the files' values of one label into one number (counters and
//! windowed fields by the sum of their totals, turned into a rate per second; averages,
//! histograms and timers by their pooled mean; other numbers by the field's combine rule) and
//! adds it to the label's series. A series keeps three fixed rings of buckets, each bucket
//! holding min, max, mean and last:
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
//! seen for a day is dropped. Text fields have no history.

use std::collections::HashMap;

use mmstats_reader::{Combine, Kind, Snapshot, Value};

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
    /// Previous total and its time, for rates.
    prev: Option<(f64, f64)>,
    last_seen: u64,
    rings: [Box<[Bucket]>; 3],
}

impl Series {
    fn new(kind: Kind, unit: &str, rate: bool) -> Series {
        Series {
            kind,
            unit: unit.to_string(),
            rate,
            prev: None,
            last_seen: 0,
            rings: RINGS.map(|(_, n)| vec![Bucket::default(); n].into_boxed_slice()),
        }
    }

    fn add(&mut self, now: f64, v: f64) {
        let secs = now as u64;
        self.last_seen = secs;
        let v = if self.rate {
            let prev = self.prev.replace((v, now));
            match prev {
                Some((pv, pt)) if now > pt && v >= pv => (v - pv) / (now - pt),
                _ => return, // first sample, or a total that went down (a process ended)
            }
        } else {
            v
        };
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

/// One label's values being folded across files.
struct Acc<'a> {
    kind: Kind,
    unit: &'a str,
    combine: Combine,
    n: u32,
    total: f64,
    min: f64,
    max: f64,
    last: f64,
    /// Pooled count and sum for mean-like kinds.
    count: f64,
    sum: f64,
}

impl Acc<'_> {
    fn value(&self) -> Option<f64> {
        match self.kind {
            Kind::Average | Kind::MovingAverage | Kind::Histogram | Kind::Timer => {
                (self.count > 0.0).then(|| self.sum / self.count)
            }
            Kind::Counter | Kind::Windowed => Some(self.total),
            _ => match self.combine {
                Combine::Sum => Some(self.total),
                Combine::Max => Some(self.max),
                Combine::Min => Some(self.min),
                Combine::Avg => Some(self.total / f64::from(self.n)),
                Combine::Last | Combine::None => Some(self.last),
            },
        }
    }
}

/// True for kinds whose history is a rate.
pub fn is_rate(kind: Kind) -> bool {
    matches!(kind, Kind::Counter | Kind::Windowed)
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

    /// Adds one sample of every file at Unix time `now` (seconds).
    pub fn record(&mut self, now: f64, snapshots: &[Snapshot]) {
        let mut accs: HashMap<&str, Acc<'_>> = HashMap::new();
        for snap in snapshots {
            for f in &snap.fields {
                let Ok(value) = &f.value else { continue };
                let (primary, count, sum) = match value {
                    Value::Text(_) => continue,
                    Value::Average { count, sum } => (None, *count as f64, sum.as_f64()),
                    Value::MovingAverage {
                        window_count,
                        window_sum,
                        ..
                    } => (None, *window_count as f64, window_sum.as_f64()),
                    Value::Histogram(h) => (None, h.count as f64, h.sum as f64),
                    Value::Windowed(w) => (Some(w.count as f64), 0.0, 0.0),
                    v => (v.primary(), 0.0, 0.0),
                };
                let m = &f.meta;
                let acc = accs.entry(m.label.as_str()).or_insert_with(|| Acc {
                    kind: m.kind,
                    unit: &m.unit,
                    combine: m.combine,
                    n: 0,
                    total: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    last: f64::NAN,
                    count: 0.0,
                    sum: 0.0,
                });
                if acc.kind != m.kind {
                    continue;
                }
                acc.count += count;
                acc.sum += sum;
                if let Some(p) = primary {
                    acc.n += 1;
                    acc.total += p;
                    acc.min = acc.min.min(p);
                    acc.max = acc.max.max(p);
                    acc.last = p;
                }
            }
        }
        for (label, acc) in accs {
            if !self.series.contains_key(label) {
                if self.series.len() >= MAX_SERIES {
                    continue;
                }
                self.series.insert(
                    label.to_string(),
                    Series::new(acc.kind, acc.unit, is_rate(acc.kind)),
                );
            }
            let Some(s) = self.series.get_mut(label) else {
                continue;
            };
            s.last_seen = now as u64;
            if let Some(v) = acc.value().filter(|v| v.is_finite()) {
                s.add(now, v);
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
        FieldMeta, FieldValue, FileInfo, FormatVersion, Histogram, Num, ValueType,
    };
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::SystemTime;

    fn snap(fields: Vec<(&str, Kind, Value)>) -> Snapshot {
        Snapshot {
            fold_seq: None,
            settled: true,
            path: PathBuf::from("/x/a-1-1.mmstats"),
            info: Arc::new(FileInfo {
                pid: Some(1),
                tid: Some(1),
                ..FileInfo::new(FormatVersion::V2, (0, 0))
            }),
            taken: SystemTime::now(),
            fields: fields
                .into_iter()
                .map(|(l, k, v)| FieldValue {
                    meta: Arc::new(FieldMeta::new(l, k, ValueType::U64)),
                    value: Ok(v),
                })
                .collect(),
        }
    }

    fn n(v: u64) -> Value {
        Value::Number(Num::U(v))
    }

    #[test]
    fn bucket_memory_is_as_documented() {
        assert_eq!(std::mem::size_of::<Bucket>(), 40);
        assert_eq!(History::bytes_per_series(), 27_360);
    }

    #[test]
    fn counters_become_rates_summed_over_files_and_gauges_follow_their_rule() {
        let mut h = History::new();
        let t0 = 1_000_000.0;
        for i in 0..5u64 {
            let a = snap(vec![
                ("req", Kind::Counter, n(10 * i)),
                ("temp", Kind::Gauge, n(i)),
            ]);
            let b = snap(vec![
                ("req", Kind::Counter, n(5 * i)),
                ("temp", Kind::Gauge, n(3 * i)),
            ]);
            h.record(t0 + i as f64, &[a, b]);
        }
        let p = h.points("req", Res::Second, t0 as u64 + 4).unwrap();
        assert!(p.rate);
        assert_eq!(p.t.len(), 600);
        assert_eq!(*p.t.last().unwrap(), t0 as u64 + 4);
        assert_eq!(p.last[599], Some(15.0));
        assert_eq!(p.last[595], None); // first sample has no rate
        let g = h.points("temp", Res::Second, t0 as u64 + 4).unwrap();
        assert_eq!(g.last[599], Some(8.0)); // avg of 4 and 12
        let m = h.points("temp", Res::Minute, t0 as u64 + 4).unwrap();
        assert_eq!(m.t.len(), 60);
        // 1_000_000..=1_000_004 span minutes 16666 (..999) and 16667 (1_000_020 starts it)
        let last = m.last.iter().rev().find_map(|v| *v).unwrap();
        assert_eq!(last, 8.0);
        assert!(h.points("nope", Res::Hour, 0).is_none());
    }

    #[test]
    fn minute_buckets_keep_min_max_mean_last() {
        let mut h = History::new();
        let t0 = 600.0 * 100.0; // start of a minute
        for (i, v) in [4u64, 1, 9, 2].iter().enumerate() {
            h.record(t0 + i as f64, &[snap(vec![("g", Kind::Gauge, n(*v))])]);
        }
        let p = h.points("g", Res::Minute, t0 as u64 + 10).unwrap();
        let i = p.t.iter().position(|t| *t == t0 as u64).unwrap();
        assert_eq!(
            (p.min[i], p.max[i], p.mean[i], p.last[i]),
            (Some(1.0), Some(9.0), Some(4.0), Some(2.0))
        );
    }

    #[test]
    fn histograms_use_pooled_means_and_a_falling_total_gives_no_rate() {
        let mut h = History::new();
        let mut a = Histogram::empty(5, 64);
        a.record(10);
        let mut b = Histogram::empty(5, 64);
        b.record(20);
        b.record(30);
        let s = snap(vec![
            ("lat", Kind::Timer, Value::Histogram(a)),
            ("lat", Kind::Timer, Value::Histogram(b)),
        ]);
        h.record(100.0, &[s]);
        let p = h.points("lat", Res::Second, 100).unwrap();
        assert_eq!(*p.last.last().unwrap(), Some(20.0));
        h.record(200.0, &[snap(vec![("c", Kind::Counter, n(50))])]);
        h.record(201.0, &[snap(vec![("c", Kind::Counter, n(10))])]);
        let p = h.points("c", Res::Second, 201).unwrap();
        assert!(p.last.iter().all(Option::is_none));
    }

    #[test]
    fn old_series_expire() {
        let mut h = History::new();
        h.record(60.0, &[snap(vec![("g", Kind::Gauge, n(1))])]);
        h.record(
            60.0 + EXPIRY_SECS as f64,
            &[snap(vec![("k", Kind::Gauge, n(1))])],
        );
        assert!(h.points("g", Res::Hour, 0).is_none());
        assert_eq!(h.len(), 1);
    }
}
