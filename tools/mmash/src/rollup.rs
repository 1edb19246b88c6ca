//! Per-minute summaries for the last hour and per-hour summaries for the last day of every
//! label (stats files', host's and processes' alike), served as `/api/perf/<host>/<label>` in
//! the shape of the per-host rollup receivers:
//!
//! ```json
//! {"summary:by-minute:host.cpu.percent": {
//!     "averages": [{"start-sec": 1700000000, "end-sec": 1700000060, "interval-size-sec": 60,
//!                   "avg": 12.5, "num-samples": 60}, ...],
//!     "start": 1699996460, "end": 1700000060, "timeslice-size-sec": 60, "average-count": 60},
//!  "summary:by-hour:host.cpu.percent": {...}}
//! ```
//!
//! Each sample is the interval engine's ([`mmstats_reader::Sample`], FORMAT.md §12), every
//! label combined over every process ([`mmstats_reader::Sample::combined`]) and read with
//! [`mmstats_reader::Series::number`]: a counter contributes its rate per second over the
//! engine's last interval (nothing on its first sample), a histogram, timer or average the mean
//! of what the interval recorded, anything else its value (gauges by their combine rule). The
//! engine's rules for threads that end, processes that exit or restart and counters that wrap
//! hold here as everywhere. A timeslice `[start, start + size)` starts at a multiple of its size and
//! averages the samples taken in it; only finished timeslices are served, the newest last, and
//! `start`/`end` bound the window they may cover (the last hour, or day, up to the end of the
//! newest finished timeslice).
//!
//! The minute's size is settable (`mmash --rollup-slice SECS`, for tests); the hour is 60 of
//! them. Memory: a label keeps at most 60 + 24 timeslices of 24 bytes; at most [`MAX_SERIES`]
//! labels are kept, and a label not seen for a day is dropped.

use std::collections::{HashMap, VecDeque};

use mmstats_reader::Sample;
use serde_json::{Map, Value as Json, json};

/// The most labels summarised.
pub const MAX_SERIES: usize = 4096;
/// Minute timeslices kept (an hour).
pub const MINUTES: usize = 60;
/// Hour timeslices kept (a day).
pub const HOURS: usize = 24;

/// The samples of one timeslice.
#[derive(Debug, Clone, Copy)]
struct Slice {
    /// Index: `start / size`.
    index: u64,
    n: u64,
    sum: f64,
}

/// The timeslices of one size.
#[derive(Debug)]
struct Ring {
    size: u64,
    keep: usize,
    slices: VecDeque<Slice>,
}

impl Ring {
    fn new(size: u64, keep: usize) -> Ring {
        Ring {
            size,
            keep,
            slices: VecDeque::new(),
        }
    }

    fn add(&mut self, t: f64, v: f64) {
        let index = (t.max(0.0) as u64) / self.size;
        match self.slices.back_mut() {
            Some(s) if s.index == index => {
                s.n += 1;
                s.sum += v;
            }
            Some(s) if s.index > index => {} // the clock went back: drop the sample
            _ => {
                self.slices.push_back(Slice {
                    index,
                    n: 1,
                    sum: v,
                });
                // one open timeslice beyond the `keep` finished ones
                while self.slices.len() > self.keep + 1 {
                    self.slices.pop_front();
                }
            }
        }
    }

    /// The summary as of `now`: finished timeslices within the window.
    fn summary(&self, now: f64) -> Json {
        let current = (now.max(0.0) as u64) / self.size;
        let end = current * self.size;
        let start = end.saturating_sub(self.keep as u64 * self.size);
        let averages: Vec<Json> = self
            .slices
            .iter()
            .filter(|s| s.index < current && s.index * self.size >= start && s.n > 0)
            .map(|s| {
                json!({
                    "start-sec": s.index * self.size,
                    "end-sec": (s.index + 1) * self.size,
                    "interval-size-sec": self.size,
                    "avg": s.sum / s.n as f64,
                    "num-samples": s.n,
                })
            })
            .collect();
        json!({
            "average-count": averages.len(),
            "averages": averages,
            "start": start,
            "end": end,
            "timeslice-size-sec": self.size,
        })
    }
}

/// The summaries of one label.
#[derive(Debug)]
struct Series {
    last_seen: f64,
    minute: Ring,
    hour: Ring,
}

/// Every label's summaries.
#[derive(Debug)]
pub struct Rollup {
    minute: u64,
    series: HashMap<String, Series>,
}

impl Default for Rollup {
    fn default() -> Self {
        Rollup::new(60)
    }
}

impl Rollup {
    /// Summaries with minutes of `minute_secs` seconds (at least 1) and hours of 60 of them.
    pub fn new(minute_secs: u64) -> Rollup {
        Rollup {
            minute: minute_secs.max(1),
            series: HashMap::new(),
        }
    }

    /// The size of a minute timeslice, in seconds.
    pub fn minute_secs(&self) -> u64 {
        self.minute
    }

    /// Number of labels summarised.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True if no label is summarised.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Adds the interval engine's sample taken at Unix time `now` (seconds).
    pub fn record(&mut self, now: f64, sample: &Sample) {
        for c in sample.combined() {
            let Some(v) = c.number(None).filter(|v| v.is_finite()) else {
                continue; // no interval yet, or no number
            };
            let label = &c.meta.label;
            if !self.series.contains_key(label) {
                if self.series.len() >= MAX_SERIES {
                    continue;
                }
                self.series.insert(
                    label.clone(),
                    Series {
                        last_seen: now,
                        minute: Ring::new(self.minute, MINUTES),
                        hour: Ring::new(self.minute * 60, HOURS),
                    },
                );
            }
            let Some(s) = self.series.get_mut(label) else {
                continue;
            };
            s.last_seen = now;
            s.minute.add(now, v);
            s.hour.add(now, v);
        }
        let day = (self.minute * 60 * HOURS as u64) as f64;
        self.series.retain(|_, s| now - s.last_seen < day);
    }

    /// `/api/perf/<host>/<needle>`: both summaries of every label containing `needle`
    /// (ignoring case), as of `now`.
    pub fn perf(&self, needle: &str, now: f64) -> Json {
        let needle = needle.to_lowercase();
        let mut labels: Vec<&String> = self
            .series
            .keys()
            .filter(|l| l.to_lowercase().contains(&needle))
            .collect();
        labels.sort();
        let mut out = Map::new();
        for l in labels {
            let s = &self.series[l];
            out.insert(format!("summary:by-minute:{l}"), s.minute.summary(now));
            out.insert(format!("summary:by-hour:{l}"), s.hour.summary(now));
        }
        Json::Object(out)
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`), else `localhost`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FileInfo, FormatVersion, Intervals, Kind, Num, Snapshot, Value, ValueType,
    };
    use mmstats_testkit::snapshot::SnapshotBuilder;
    use std::time::{Duration, UNIX_EPOCH};

    /// A file of process `pid` (started at `start` ticks, created at `created` seconds) read at
    /// `t` seconds.
    fn snap(pid: u32, start: u64, created: f64, t: f64, fields: &[(&str, Kind, f64)]) -> Snapshot {
        let at = |s: f64| UNIX_EPOCH + Duration::from_secs_f64(s);
        let info = FileInfo {
            pid: Some(pid),
            tid: Some(pid),
            start_time: Some(start),
            created: Some(at(created)),
            ..FileInfo::new(FormatVersion::V2, (1, u64::from(pid) * 1000 + start))
        };
        fields
            .iter()
            .fold(
                SnapshotBuilder::new(format!("/d/w-{pid}-{pid}.mmstats"))
                    .info(info)
                    .taken(at(t)),
                |b, (l, k, v)| {
                    b.field(
                        FieldMeta::new(*l, *k, ValueType::F64),
                        Value::Number(Num::F(*v)),
                    )
                },
            )
            .build()
    }

    /// Feeds `snaps`, read at `t`, through the engine into the rollup.
    fn record(r: &mut Rollup, engine: &mut Intervals, t: f64, snaps: &[Snapshot]) {
        let sample = engine.update(snaps);
        r.record(t, &sample);
    }

    #[test]
    fn finished_timeslices_average_their_samples() {
        let mut r = Rollup::new(10);
        let mut engine = Intervals::new().assume_alive();
        // two processes' gauges combine by a gauge's default rule (their sum); their counters
        // add up, going up by 5 per second in total
        for i in 0..35u32 {
            let t = 1000.0 + f64::from(i);
            let g = f64::from(i % 10);
            record(
                &mut r,
                &mut engine,
                t,
                &[
                    snap(
                        1,
                        1,
                        0.0,
                        t,
                        &[("cpu.a", Kind::Gauge, g), ("req", Kind::Counter, 2.0 * t)],
                    ),
                    snap(
                        2,
                        1,
                        0.0,
                        t,
                        &[("cpu.a", Kind::Gauge, 1.0), ("req", Kind::Counter, 3.0 * t)],
                    ),
                ],
            );
        }
        let p = r.perf("CPU", 1035.0);
        let m = &p["summary:by-minute:cpu.a"];
        assert_eq!(m["timeslice-size-sec"], json!(10));
        // samples at 1000..=1034: slices 1000, 1010, 1020 are finished; 1030 is open
        assert_eq!(m["average-count"], json!(3));
        assert_eq!(m["end"], json!(1030));
        assert_eq!(m["start"], json!(1030 - 600));
        let a = m["averages"].as_array().unwrap();
        for (i, s) in a.iter().enumerate() {
            let start = 1000 + 10 * i as u64;
            assert_eq!(s["start-sec"], json!(start));
            assert_eq!(s["end-sec"], json!(start + 10));
            assert_eq!(s["interval-size-sec"], json!(10));
            assert_eq!(s["num-samples"], json!(10));
            // (0 + 1 + ... + 9) / 10 + 1
            assert_eq!(s["avg"], json!(5.5));
        }
        let h = &p["summary:by-hour:cpu.a"];
        assert_eq!(h["timeslice-size-sec"], json!(600));
        assert_eq!(h["average-count"], json!(0), "the first hour is not over");
        assert!(p.get("summary:by-minute:req").is_none(), "not a match");

        let req = r.perf("req", 1035.0);
        let a = req["summary:by-minute:req"]["averages"].as_array().unwrap();
        // the first slice lacks the very first sample, which has no rate yet
        assert_eq!(a[0]["num-samples"], json!(9));
        for s in a {
            assert_eq!(s["avg"], json!(5.0));
        }
        // an hour later the hour slice is finished, and the minutes have scrolled out
        let t = 1000.0 + 600.0 * 2.0;
        record(
            &mut r,
            &mut engine,
            t,
            &[snap(1, 1, 0.0, t, &[("cpu.a", Kind::Gauge, 4.0)])],
        );
        let p = r.perf("cpu.a", 2205.0);
        let h = p["summary:by-hour:cpu.a"]["averages"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0]["start-sec"], json!(600));
        assert_eq!(h[0]["num-samples"], json!(35));
        assert_eq!(p["summary:by-minute:cpu.a"]["average-count"], json!(0));
    }

    #[test]
    fn restarts_and_clock_steps_never_make_bogus_values() {
        let mut r = Rollup::new(1);
        let mut engine = Intervals::new().assume_alive();
        let n = |v: f64| [("n", Kind::Counter, v)];
        record(
            &mut r,
            &mut engine,
            10.0,
            &[snap(1, 1, 0.0, 10.0, &n(100.0))],
        );
        // restarted (another start time) with a new file: it counted 5 within the second
        record(
            &mut r,
            &mut engine,
            11.0,
            &[snap(1, 2, 10.5, 11.0, &n(5.0))],
        );
        record(
            &mut r,
            &mut engine,
            12.0,
            &[snap(1, 2, 10.5, 12.0, &n(7.0))],
        );
        // the clock stepped back: no interval, no value
        record(
            &mut r,
            &mut engine,
            11.5,
            &[snap(1, 2, 10.5, 11.5, &n(9.0))],
        );
        let p = r.perf("n", 20.0);
        let a = p["summary:by-minute:n"]["averages"].as_array().unwrap();
        assert_eq!(a.len(), 2, "{p}");
        assert_eq!(a[0]["start-sec"], json!(11));
        assert_eq!(a[0]["avg"], json!(5.0));
        assert_eq!(a[1]["start-sec"], json!(12));
        assert_eq!(a[1]["avg"], json!(2.0));
    }

    #[test]
    fn host_name_is_not_empty() {
        assert!(!host_name().is_empty());
    }
}
