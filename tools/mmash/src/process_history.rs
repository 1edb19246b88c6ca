//! In-memory history of every label of every process, for the page's per-process charts and
//! its overlays of one label across processes.
//!
//! [`crate::history`] keeps each label combined over processes with min, max, mean and last;
//! this keeps the same points ([`crate::history::series_points`]) per process, as means only
//! and in `f32`, so that it stays small with many processes:
//!
//! | resolution | bucket | buckets | bytes |
//! |---|---|---|---|
//! | `second` | 1 s | 600 | 600 × 4 (the value) |
//! | `minute` | 60 s | 60 | 60 × 8 (sum and count) |
//! | `hour` | 3600 s | 24 | 24 × 8 |
//!
//! **Memory:** 3,072 bytes of buckets per (process, label), allocated when the process first
//! shows the label. At most [`MAX_PROCESS_SERIES`] are kept (about 50 MiB at worst; 20
//! processes of 50 labels take 3 MiB); past that, new ones get no per-process history (the
//! combined history still has them). A series whose process has not shown it for a day is
//! dropped. The host's resources are left out: they are one process, which the combined
//! history already covers.

use std::collections::HashMap;

use mmstats_reader::resource::{ResourceKind, resource_kind_of};
use mmstats_reader::{ProcessId, ProcessSample, Sample, Series, Shared};

use crate::history::{EXPIRY_SECS, Res, is_rate, series_points};

/// The most (process, label) series kept.
pub const MAX_PROCESS_SERIES: usize = 16_384;

/// The key that names a process in the page's API: `<pid>-<start time>` (the start time in
/// clock ticks after boot, 0 if unknown), or `file:<path>` for a file without a pid.
pub fn process_key(id: &ProcessId) -> String {
    match id {
        ProcessId::Process {
            pid, start_time, ..
        } => format!("{pid}-{start_time}"),
        ProcessId::File(path) => format!("file:{}", path.display()),
    }
}

/// True if the process is the host's resources (not a program with stats files).
pub fn is_host(p: &ProcessSample) -> bool {
    !p.files.is_empty()
        && p.files
            .iter()
            .all(|f| resource_kind_of(&f.info) == Some(ResourceKind::Host))
}

/// A ring of one resolution: slot `period % len` holds period `period` when
/// `head - period < len`; slots of skipped periods are cleared when the head moves.
#[derive(Debug)]
struct Ring<T> {
    head: u64,
    slots: Box<[T]>,
}

impl<T: Copy + Default> Ring<T> {
    fn new(len: usize) -> Ring<T> {
        Ring {
            head: 0,
            slots: vec![T::default(); len].into_boxed_slice(),
        }
    }

    /// The slot of `period`, after clearing any skipped since the head; `None` for a period
    /// older than the head.
    fn slot(&mut self, period: u64) -> Option<&mut T> {
        let len = self.slots.len() as u64;
        if period < self.head {
            return None;
        }
        if period > self.head {
            let from = (self.head + 1).max(period.saturating_sub(len - 1));
            for p in from..=period {
                self.slots[(p % len) as usize] = T::default();
            }
            self.head = period;
        }
        Some(&mut self.slots[(period % len) as usize])
    }

    fn get(&self, period: u64) -> Option<T> {
        let len = self.slots.len() as u64;
        (period <= self.head && self.head - period < len && self.head > 0)
            .then(|| self.slots[(period % len) as usize])
    }
}

/// A value of the per-second ring: `NaN` when none.
#[derive(Debug, Clone, Copy)]
struct Value(f32);

impl Default for Value {
    fn default() -> Value {
        Value(f32::NAN)
    }
}

/// A mean's parts, for the minute and hour rings.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f32,
    n: u32,
}

#[derive(Debug)]
struct Trend {
    last_seen: u64,
    second: Ring<Value>,
    minute: Ring<Mean>,
    hour: Ring<Mean>,
}

impl Trend {
    fn new() -> Trend {
        Trend {
            last_seen: 0,
            second: Ring::new(Res::Second.buckets().1),
            minute: Ring::new(Res::Minute.buckets().1),
            hour: Ring::new(Res::Hour.buckets().1),
        }
    }

    fn add(&mut self, secs: u64, v: f64) {
        let v = v as f32;
        if let Some(s) = self.second.slot(secs) {
            *s = Value(v);
        }
        for (ring, res) in [(&mut self.minute, Res::Minute), (&mut self.hour, Res::Hour)] {
            if let Some(m) = ring.slot(secs / res.buckets().0) {
                m.sum += v;
                m.n += 1;
            }
        }
    }

    fn at(&self, res: Res, period: u64) -> Option<f64> {
        match res {
            Res::Second => self
                .second
                .get(period)
                .map(|v| f64::from(v.0))
                .filter(|v| v.is_finite()),
            Res::Minute | Res::Hour => {
                let ring = if res == Res::Minute {
                    &self.minute
                } else {
                    &self.hour
                };
                ring.get(period)
                    .filter(|m| m.n > 0)
                    .map(|m| f64::from(m.sum) / f64::from(m.n))
            }
        }
    }
}

/// What a label's points are.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabelInfo {
    /// The field's kind.
    pub kind: &'static str,
    /// The unit of the points (durations in seconds).
    pub unit: String,
    /// True if the points are rates per second.
    pub rate: bool,
}

/// Every process's history.
#[derive(Debug, Default)]
pub struct ProcessHistory {
    /// By process key, then by label: the place of its trend in `trends`.
    series: HashMap<String, HashMap<String, usize>>,
    trends: Vec<Trend>,
    /// Places in `trends` whose trend was dropped, to be used again.
    free: Vec<usize>,
    labels: HashMap<String, LabelInfo>,
    count: usize,
    /// Each process's series as last recorded and the points they gave, in the order of the
    /// sample's processes (by id): a process that hands over the same series again (an idle
    /// one) adds the same points without working them out, found without hashing its id.
    recent: Vec<(ProcessId, Recent)>,
    /// The list `recent` was before the last sample, emptied, kept for its room.
    spare: Vec<(ProcessId, Recent)>,
}

/// A process's series and the points they add, each with the place of its trend.
#[derive(Debug)]
struct Recent {
    series: Shared<Series>,
    points: Vec<(usize, Option<f64>)>,
}

impl ProcessHistory {
    /// An empty history.
    pub fn new() -> ProcessHistory {
        ProcessHistory::default()
    }

    /// Number of (process, label) series kept.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds one sample of the interval engine at Unix time `now` (seconds).
    pub fn record(&mut self, now: f64, sample: &Sample) {
        let secs = now as u64;
        let mut old = std::mem::replace(&mut self.recent, std::mem::take(&mut self.spare));
        self.recent.reserve(sample.processes.len());
        // both in the order of process ids: walked side by side
        let mut before = old.drain(..).peekable();
        for p in sample.processes.iter().filter(|p| !is_host(p)) {
            while before.next_if(|(id, _)| *id < p.id).is_some() {}
            let recent = match before.next_if(|(id, _)| *id == p.id) {
                // the same series as before: the same points
                Some((_, r)) if r.series.same(&p.series) => r,
                _ => Recent {
                    series: p.series.clone(),
                    points: self.points_of(p),
                },
            };
            for &(i, value) in &recent.points {
                let t = &mut self.trends[i];
                t.last_seen = secs;
                if let Some(v) = value {
                    t.add(secs, v);
                }
            }
            self.recent.push((p.id.clone(), recent));
        }
        drop(before);
        self.spare = old;
        if secs.is_multiple_of(60) {
            let mut count = 0;
            let (trends, free) = (&self.trends, &mut self.free);
            self.series.retain(|_, labels| {
                labels.retain(|_, &mut i| {
                    let keep = secs.saturating_sub(trends[i].last_seen) < EXPIRY_SECS;
                    if !keep {
                        free.push(i);
                    }
                    keep
                });
                count += labels.len();
                !labels.is_empty()
            });
            self.count = count;
            // the points name trends by their place, which dropped ones give up
            self.recent.clear();
        }
    }

    /// The points process `p` adds, each with the place of its trend (made if there is room),
    /// finite values only.
    fn points_of(&mut self, p: &ProcessSample) -> Vec<(usize, Option<f64>)> {
        let mut out = Vec::new();
        let of_process = self.series.entry(process_key(&p.id)).or_default();
        for series in &p.series {
            let Some((unit, points)) = series_points(series) else {
                continue;
            };
            for (label, value) in points {
                if !self.labels.contains_key(&label) {
                    self.labels.insert(
                        label.clone(),
                        LabelInfo {
                            kind: series.meta.kind.as_str(),
                            unit: unit.to_string(),
                            rate: is_rate(series.meta.kind),
                        },
                    );
                }
                let i = match of_process.get(&label) {
                    Some(&i) => i,
                    None if self.count < MAX_PROCESS_SERIES => {
                        self.count += 1;
                        let i = match self.free.pop() {
                            Some(i) => {
                                self.trends[i] = Trend::new();
                                i
                            }
                            None => {
                                self.trends.push(Trend::new());
                                self.trends.len() - 1
                            }
                        };
                        of_process.insert(label, i);
                        i
                    }
                    None => continue,
                };
                out.push((i, value.filter(|v| v.is_finite())));
            }
        }
        out
    }

    /// What `label`'s points are, if any process has shown it.
    pub fn label(&self, label: &str) -> Option<&LabelInfo> {
        self.labels.get(label)
    }

    /// The means of `label` in process `key` at `res`, one per bucket from period `from` to
    /// period `to` (bucket numbers: Unix seconds / bucket width), or `None` when the process
    /// has no history of it.
    pub fn values(
        &self,
        key: &str,
        label: &str,
        res: Res,
        from: u64,
        to: u64,
    ) -> Option<Vec<Option<f64>>> {
        let t = &self.trends[*self.series.get(key)?.get(label)?];
        Some((from..=to).map(|p| t.at(res, p)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FileInfo, FormatVersion, Intervals, Kind, Num, Snapshot, ValueType,
    };
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::path::PathBuf;
    use std::time::{Duration, UNIX_EPOCH};

    fn snap(pid: u32, at: f64, counter: u64, gauge: u64) -> Snapshot {
        let n = |v| mmstats_reader::Value::Number(Num::U(v));
        SnapshotBuilder::new(format!("/x/a-{pid}-{pid}.mmstats"))
            .info(FileInfo {
                pid: Some(pid),
                tid: Some(pid),
                start_time: Some(7),
                created: Some(UNIX_EPOCH),
                ..FileInfo::new(FormatVersion::V2, (1, u64::from(pid)))
            })
            .taken_secs(at)
            .field(
                FieldMeta::new("req", Kind::Counter, ValueType::U64),
                n(counter),
            )
            .field(
                FieldMeta::new("level", Kind::Gauge, ValueType::U64),
                n(gauge),
            )
            .build()
    }

    #[test]
    fn each_process_keeps_its_own_points() {
        let mut h = ProcessHistory::new();
        let mut e = Intervals::new().assume_alive();
        let t0 = 6_000_000u64; // the start of a minute and of an hour
        for i in 0..4u64 {
            let at = (t0 + i) as f64;
            h.record(
                at,
                &e.update(&[snap(1, at, 10 * i, i), snap(2, at, 3 * i, 100)]),
            );
        }
        assert_eq!(h.len(), 4);
        let req1 = h.values("1-7", "req", Res::Second, t0, t0 + 3).unwrap();
        assert_eq!(req1, vec![None, Some(10.0), Some(10.0), Some(10.0)]);
        let req2 = h.values("2-7", "req", Res::Second, t0 + 3, t0 + 3).unwrap();
        assert_eq!(req2, vec![Some(3.0)]);
        let level = h
            .values("1-7", "level", Res::Minute, t0 / 60, t0 / 60)
            .unwrap();
        assert_eq!(level, vec![Some(1.5)]); // mean of 0, 1, 2, 3
        let info = h.label("req").unwrap();
        assert!(info.rate);
        assert_eq!(info.kind, "counter");
        assert!(h.values("3-7", "req", Res::Second, t0, t0).is_none());
        // a gap of more than the ring leaves nothing of the old points
        let later = t0 + 1000;
        let at = later as f64;
        h.record(at, &e.update(&[snap(1, at, 50, 9)]));
        let old = h.values("1-7", "level", Res::Second, t0, t0 + 3).unwrap();
        assert_eq!(old, vec![None; 4]);
        let now = h
            .values("1-7", "level", Res::Second, later - 2, later)
            .unwrap();
        assert_eq!(now, vec![None, None, Some(9.0)]);
    }

    #[test]
    fn an_idle_process_adds_its_points_every_second() {
        let mut h = ProcessHistory::new();
        let mut e = Intervals::new().assume_alive();
        let t0 = 6_000_000u64; // the start of a minute: the expiry pass runs at once
        let first = snap(1, t0 as f64, 10, 4);
        let again = |at: u64| Snapshot {
            taken: UNIX_EPOCH + Duration::from_secs(at),
            ..first.clone()
        };
        let mut shared = 0;
        let mut previous: Option<mmstats_reader::Sample> = None;
        for at in t0..t0 + 5 {
            let sample = e.update(&[again(at)]);
            if let Some(p) = &previous
                && p.processes[0].series.same(&sample.processes[0].series)
            {
                shared += 1;
            }
            h.record(at as f64, &sample);
            previous = Some(sample);
        }
        assert!(shared >= 2, "idle samples share their series");
        let req = h.values("1-7", "req", Res::Second, t0, t0 + 4).unwrap();
        assert_eq!(req, vec![None, Some(0.0), Some(0.0), Some(0.0), Some(0.0)]);
        let level = h.values("1-7", "level", Res::Second, t0, t0 + 4).unwrap();
        assert_eq!(level, vec![Some(4.0); 5]);
        // then a change shows at once
        let at = t0 + 5;
        h.record(at as f64, &e.update(&[snap(1, at as f64, 16, 9)]));
        let req = h.values("1-7", "req", Res::Second, at, at).unwrap();
        assert_eq!(req, vec![Some(6.0)]);
        let level = h.values("1-7", "level", Res::Second, at, at).unwrap();
        assert_eq!(level, vec![Some(9.0)]);
    }

    #[test]
    fn process_keys_name_pid_and_start_time() {
        let id = ProcessId::Process {
            pid: 41,
            start_time: 99,
            boot_id: [0; 16],
        };
        assert_eq!(process_key(&id), "41-99");
        assert_eq!(
            process_key(&ProcessId::File(PathBuf::from("/d/x.mmstats"))),
            "file:/d/x.mmstats"
        );
    }
}
