//! Values as the tools show them, from two samples of one process's combined fields: counters
//! also as rates per second, histograms and timers as statistics of what they recorded during
//! the interval (count, rate, mean, percentiles), windows as their rate and mean.
//!
//! This is the only place runstats turns raw values into derived ones, so that it can move to
//! the reader's interval engine in one step. The rules follow pollstats: a counter that went
//! down (its writer restarted) counts from its new value, never negative; a histogram whose
//! count went down starts afresh; a series seen for the first time has no rate yet.

use std::collections::HashMap;

use mmstats_reader::render::text::{derived_unit, field_unit};
use mmstats_reader::{Combined, Histogram, Kind, Value};

use crate::source::Sample;

/// What the previous sample of one series held.
#[derive(Debug, Clone)]
enum Prev {
    Number { value: f64, time_ms: i64 },
    Histogram { hist: Histogram, time_ms: i64 },
}

/// Remembers the previous sample of every series, to derive rates and intervals.
#[derive(Debug, Default)]
pub struct Deriver {
    /// By process identity, then label: the previous value and the tick it was seen in.
    prev: HashMap<String, HashMap<String, (Prev, u64)>>,
    tick: u64,
}

impl Deriver {
    /// An empty memory.
    pub fn new() -> Deriver {
        Deriver::default()
    }

    /// Appends the samples of one process's fields, combined over its files (threads), at
    /// `time_ms`. `identity` tells processes apart across pid reuse (e.g. `pid:start_time`).
    pub fn process(
        &mut self,
        source: &'static str,
        process: &str,
        identity: &str,
        fields: &[Combined],
        time_ms: i64,
        out: &mut Vec<Sample>,
    ) {
        let tick = self.tick;
        if !self.prev.contains_key(identity) {
            self.prev.insert(identity.to_string(), HashMap::new());
        }
        let Some(prevs) = self.prev.get_mut(identity) else {
            return;
        };
        // Stores `now` as the previous value of `label`, returning the one it replaces.
        let mut remember = |label: &str, now: Prev| -> Option<Prev> {
            match prevs.get_mut(label) {
                Some(slot) => Some(std::mem::replace(slot, (now, tick)).0),
                None => {
                    prevs.insert(label.to_string(), (now, tick));
                    None
                }
            }
        };
        for c in fields {
            let meta = &*c.meta;
            let push = |out: &mut Vec<Sample>, label: String, kind: &'static str, unit: &str, v| {
                if f64::is_finite(v) {
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
            match &c.value {
                // Text is no series; constants and timestamps do not change over a run.
                Value::Text(_) => {}
                _ if matches!(meta.kind, Kind::Constant | Kind::Timestamp) => {}
                Value::Number(_) | Value::Bool(_) => {
                    let Some(v) = c.value.primary() else { continue };
                    push(out, meta.label.clone(), meta.kind.as_str(), unit, v);
                    if meta.kind == Kind::Counter {
                        let now = Prev::Number { value: v, time_ms };
                        if let Some(Prev::Number { value, time_ms: t0 }) =
                            remember(&meta.label, now)
                            && time_ms > t0
                        {
                            let delta = if v < value { v } else { v - value };
                            let rate = delta * 1000.0 / (time_ms - t0) as f64;
                            push(
                                out,
                                rate_label(&meta.label),
                                "rate",
                                &per_second(unit),
                                rate,
                            );
                        }
                    }
                }
                Value::Histogram(cur) => {
                    let now = Prev::Histogram {
                        hist: cur.clone(),
                        time_ms,
                    };
                    let Some(Prev::Histogram { hist, time_ms: t0 }) = remember(&meta.label, now)
                    else {
                        continue;
                    };
                    if time_ms <= t0 {
                        continue;
                    }
                    let d = interval(cur, &hist);
                    let secs = (time_ms - t0) as f64 / 1000.0;
                    let label = &meta.label;
                    push(
                        out,
                        format!("{label}.count"),
                        "interval",
                        "",
                        d.count as f64,
                    );
                    push(
                        out,
                        format!("{label}.rate"),
                        "rate",
                        "1/s",
                        d.count as f64 / secs,
                    );
                    // Percentiles and mean only for an interval that recorded something.
                    for (sfx, v) in Value::Histogram(d).exposed(meta.kind, 0.0, 0.0) {
                        if matches!(sfx, "mean" | "max" | "p50" | "p90" | "p99" | "p999") {
                            push(
                                out,
                                format!("{label}.{sfx}"),
                                "interval",
                                derived_unit(meta, sfx),
                                v,
                            );
                        }
                    }
                }
                Value::Windowed(_) => {
                    let now = time_ms as f64 / 1000.0;
                    for (sfx, v) in c.value.exposed(meta.kind, now, 0.0) {
                        if matches!(sfx, "rate" | "mean") {
                            let unit = derived_unit(meta, sfx);
                            push(out, format!("{}.{sfx}", meta.label), "windowed", unit, v);
                        }
                    }
                }
                Value::Average { .. } | Value::MovingAverage { .. } => {
                    if let Some(v) = c.value.primary() {
                        push(out, meta.label.clone(), meta.kind.as_str(), unit, v);
                    }
                }
            }
        }
    }

    /// Forgets the series not seen since the last call (processes that exited, files gone).
    pub fn end_tick(&mut self) {
        let tick = self.tick;
        for prevs in self.prev.values_mut() {
            prevs.retain(|_, (_, seen)| *seen == tick);
        }
        self.prev.retain(|_, prevs| !prevs.is_empty());
        self.tick += 1;
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

/// What a histogram recorded between two samples: the bucket counts, count and sum added
/// since `prev` (all of `cur` if its count went down: its writer restarted). `min` and `max`
/// are the bounds of the lowest and highest bucket that grew, within `cur`'s.
fn interval(cur: &Histogram, prev: &Histogram) -> Histogram {
    if cur.k != prev.k || cur.count < prev.count {
        return cur.clone();
    }
    let mut d = Histogram::empty(cur.k, cur.buckets.len());
    for (i, (n, b)) in d.buckets.iter_mut().zip(&cur.buckets).enumerate() {
        *n = b.saturating_sub(prev.buckets.get(i).copied().unwrap_or(0));
    }
    d.count = cur.count - prev.count;
    d.sum = cur.sum.wrapping_sub(prev.sum);
    let lowest = d.buckets.iter().position(|n| *n > 0);
    let highest = d.buckets.iter().rposition(|n| *n > 0);
    if let (Some(lo), Some(hi)) = (lowest, highest) {
        let (low, _) = mmstats_reader::bucket_bounds(lo, cur.k);
        let (high, width) = mmstats_reader::bucket_bounds(hi, cur.k);
        d.min = low.max(cur.min);
        d.max = high.saturating_add(width.saturating_sub(1)).min(cur.max);
    }
    d.last = cur.last;
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{FieldMeta, Num, ValueType};
    use std::sync::Arc;

    fn combined(meta: FieldMeta, value: Value) -> Combined {
        Combined {
            meta: Arc::new(meta),
            value,
            files: 1,
        }
    }

    fn get<'a>(out: &'a [Sample], label: &str) -> Option<&'a Sample> {
        out.iter().find(|s| s.label == label)
    }

    #[test]
    fn counters_get_rates_and_restarts_count_from_the_new_value() {
        let mut meta = FieldMeta::new("req", Kind::Counter, ValueType::U64);
        meta.unit = "requests".into();
        let c = |v| combined(meta.clone(), Value::Number(Num::U(v)));
        let mut d = Deriver::new();
        let mut out = Vec::new();
        d.process("mmstats", "p:1", "1:9", &[c(100)], 1000, &mut out);
        assert_eq!(get(&out, "req").unwrap().value, 100.0);
        assert!(
            get(&out, "req.rate").is_none(),
            "no rate before two samples"
        );
        out.clear();
        d.process("mmstats", "p:1", "1:9", &[c(300)], 3000, &mut out);
        let rate = get(&out, "req.rate").unwrap();
        assert_eq!(
            (rate.value, rate.unit.as_str(), rate.kind),
            (100.0, "requests/s", "rate")
        );
        out.clear();
        d.process("mmstats", "p:1", "1:9", &[c(50)], 4000, &mut out);
        assert_eq!(get(&out, "req.rate").unwrap().value, 50.0);
        // forgotten after a tick without it: no bogus rate when it comes back
        d.end_tick();
        d.end_tick();
        out.clear();
        d.process("mmstats", "p:1", "1:9", &[c(5000)], 5000, &mut out);
        assert!(get(&out, "req.rate").is_none());
    }

    #[test]
    fn histograms_give_interval_percentiles() {
        let meta = FieldMeta::new("lat", Kind::Timer, ValueType::U64);
        let mut h = Histogram::empty(5, 1920);
        for _ in 0..1000 {
            h.record(100);
        }
        let mut d = Deriver::new();
        let mut out = Vec::new();
        d.process(
            "m",
            "p",
            "i",
            &[combined(meta.clone(), Value::Histogram(h.clone()))],
            0,
            &mut out,
        );
        assert!(get(&out, "lat.p99").is_none());
        h.record(5000);
        h.record(5000);
        d.process(
            "m",
            "p",
            "i",
            &[combined(meta, Value::Histogram(h))],
            2000,
            &mut out,
        );
        let p50 = get(&out, "lat.p50").unwrap().value;
        assert!((p50 - 5000.0).abs() < 5000.0 * 0.02, "{p50}");
        assert_eq!(get(&out, "lat.count").unwrap().value, 2.0);
        assert_eq!(get(&out, "lat.rate").unwrap().value, 1.0);
        assert_eq!(get(&out, "lat.p50").unwrap().unit, "nanoseconds");
    }
}
