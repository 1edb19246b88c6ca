//! One cell's value from many files: counters as change per second since the previous sample
//! (restarts counted from the new value, never negative), gauges combined by the field's rule,
//! timers and histograms as the mean of the interval or a named derived value (percentiles,
//! mean, count) of what they recorded during the interval.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::SystemTime;

use mmstats_reader::render::text::{derived_unit, field_unit, unix_seconds};
use mmstats_reader::{Combine, FieldMeta, Histogram, Kind, Snapshot, Value};

use crate::columns::lookup_all;

/// One cell: a number in a unit, or a text, or nothing yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    /// The number, if there is one.
    pub value: Option<f64>,
    /// The text, for text fields.
    pub text: Option<String>,
    /// The unit of `value`.
    pub unit: String,
    /// A counter went down in some file since the last sample: its writer restarted.
    pub restarted: bool,
    /// The value is a rate per second.
    pub per_second: bool,
}

/// What the previous sample of one field in one file held.
#[derive(Debug, Clone, Copy)]
struct Prev {
    value: f64,
    count: u64,
    sum: u64,
    taken: SystemTime,
}

/// Identifies one field in one file across samples (a replaced file gets a new inode).
type Key = (String, PathBuf, (u64, u64));

/// The derived value `sfx` (`mean`, `p99`, ...) of field `label` over everything it recorded,
/// merged over the files: what the full-screen table shows as a histogram's value.
pub fn cumulative(label: &str, sfx: &str, snaps: &[&Snapshot]) -> Option<f64> {
    let mut kind = None;
    let values: Vec<&Value> = snaps
        .iter()
        .flat_map(|s| lookup_all(s, label))
        .filter(|(_, suffix)| suffix.is_none())
        .filter_map(|(f, _)| {
            kind.get_or_insert(f.meta.kind);
            f.value.as_ref().ok()
        })
        .collect();
    merge_values(&values)?.derived(kind?, 0.0, 0.0, sfx)
}

/// Remembers previous samples to compute rates and interval means.
#[derive(Debug, Default)]
pub struct Rates {
    prev: HashMap<Key, Prev>,
    /// The previous histogram of each histogram or timer, for interval percentiles.
    hists: HashMap<Key, Histogram>,
    seen: HashSet<Key>,
}

/// What a histogram recorded between two samples of one file: the bucket counts, count and sum
/// added since `prev` (all of `cur` if its writer restarted, as its count went down). `min`
/// and `max` are the bounds of the lowest and highest bucket that grew, within `cur`'s.
fn interval(cur: &Histogram, prev: &Histogram) -> (Histogram, bool) {
    if cur.k != prev.k || cur.count < prev.count {
        return (cur.clone(), cur.count < prev.count);
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
        d.max = (high.saturating_add(width - 1)).min(cur.max);
    }
    d.last = cur.last;
    d.window_count = cur.window_count;
    d.window_sum = cur.window_sum;
    (d, false)
}

fn combine(rule: Combine, values: &[(f64, Option<SystemTime>)]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let xs = values.iter().map(|(x, _)| *x);
    Some(match rule {
        Combine::Sum | Combine::None => xs.sum(),
        Combine::Max => xs.fold(f64::NEG_INFINITY, f64::max),
        Combine::Min => xs.fold(f64::INFINITY, f64::min),
        Combine::Avg => xs.sum::<f64>() / values.len() as f64,
        Combine::Last => values.iter().max_by_key(|(_, c)| *c).map(|(x, _)| *x)?,
    })
}

/// The values of several files added into one, as the `sum` rule does (histograms merged,
/// averages by count and sum); values of another shape than the first are left out.
fn merge_values(values: &[&Value]) -> Option<Value> {
    let mut it = values.iter();
    let mut acc = (*it.next()?).clone();
    for v in it {
        mmstats_reader::merge(&mut acc, v);
    }
    Some(acc)
}

impl Rates {
    /// An empty memory.
    pub fn new() -> Rates {
        Rates::default()
    }

    /// Forgets the files not seen since the last call (vanished or replaced ones).
    pub fn end_sample(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        self.prev.retain(|k, _| seen.contains(k));
        self.hists.retain(|k, _| seen.contains(k));
    }

    fn remember(&mut self, key: Key, p: Prev) -> Option<Prev> {
        self.seen.insert(key.clone());
        self.prev.insert(key, p)
    }

    /// The cell for `label` over `snaps`, updating the memory of previous samples.
    pub fn cell(&mut self, label: &str, snaps: &[&Snapshot]) -> Cell {
        let found: Vec<(&Snapshot, &FieldMeta, &Value, Option<&str>)> = snaps
            .iter()
            .flat_map(|s| {
                lookup_all(s, label).into_iter().filter_map(|(f, suffix)| {
                    let v = f.value.as_ref().ok()?;
                    Some((*s, &*f.meta, v, suffix))
                })
            })
            .collect();
        let Some(&(_, meta, first, suffix)) = found.first() else {
            return Cell::default();
        };
        // One memory per column and series in each file: a column may select several series.
        let key = |s: &Snapshot, m: &FieldMeta| {
            let id = if m.label == label {
                label.to_string()
            } else {
                format!("{label}\0{}", m.series_key())
            };
            (id, s.path.clone(), s.info.dev_ino)
        };
        let mut cell = Cell {
            unit: match suffix {
                Some(sfx) => derived_unit(meta, sfx).to_string(),
                None => field_unit(meta).to_string(),
            },
            ..Cell::default()
        };

        if let Some(sfx) = suffix {
            if let Value::Windowed(_) = first {
                let per: Vec<(f64, Option<SystemTime>)> = found
                    .iter()
                    .filter_map(|(s, m, v, _)| {
                        let created = s.info.created.map(unix_seconds).unwrap_or(0.0);
                        v.derived(m.kind, unix_seconds(s.taken), created, sfx)
                            .map(|x| (x, s.info.created))
                    })
                    .collect();
                let rule = if matches!(sfx, "rate" | "count") {
                    Combine::Sum
                } else {
                    Combine::Avg
                };
                cell.value = combine(rule, &per);
                cell.per_second = sfx == "rate";
            } else if let Value::Histogram(_) = first {
                // Percentiles, mean, count and sum of what was recorded during the interval,
                // over every file: the files' bucket differences merged.
                let mut merged: Option<Histogram> = None;
                for (s, m, v, _) in &found {
                    let Value::Histogram(cur) = v else { continue };
                    let k = key(s, m);
                    self.seen.insert(k.clone());
                    let Some(prev) = self.hists.insert(k, cur.clone()) else {
                        continue;
                    };
                    let (delta, restarted) = interval(cur, &prev);
                    cell.restarted |= restarted;
                    match &mut merged {
                        Some(m) => {
                            m.merge(&delta);
                        }
                        None => merged = Some(delta),
                    }
                }
                cell.value =
                    merged.and_then(|m| Value::Histogram(m).derived(meta.kind, 0.0, 0.0, sfx));
            } else {
                let values: Vec<&Value> = found.iter().map(|(_, _, v, _)| *v).collect();
                cell.value = merge_values(&values)
                    .and_then(|merged| merged.derived(meta.kind, 0.0, 0.0, sfx));
            }
            return cell;
        }

        match first {
            Value::Text(_) => {
                cell.text =
                    found
                        .iter()
                        .max_by_key(|(s, ..)| s.info.created)
                        .and_then(|(_, _, v, _)| match v {
                            Value::Text(t) => Some(t.clone()),
                            _ => None,
                        });
            }
            Value::Number(_) | Value::Bool(_) if meta.kind == Kind::Counter => {
                cell.per_second = true;
                let mut total = None;
                for (s, m, v, _) in &found {
                    let Some(cur) = v.primary() else { continue };
                    let now = Prev {
                        value: cur,
                        count: 0,
                        sum: 0,
                        taken: s.taken,
                    };
                    let Some(p) = self.remember(key(s, m), now) else {
                        continue;
                    };
                    let Ok(secs) = s.taken.duration_since(p.taken).map(|d| d.as_secs_f64()) else {
                        continue;
                    };
                    if secs <= 0.0 {
                        continue;
                    }
                    let delta = if cur < p.value {
                        cell.restarted = true;
                        cur
                    } else {
                        cur - p.value
                    };
                    *total.get_or_insert(0.0) += delta / secs;
                }
                cell.value = total;
            }
            Value::Number(_) | Value::Bool(_) => {
                let per: Vec<(f64, Option<SystemTime>)> = found
                    .iter()
                    .filter_map(|(s, _, v, _)| Some((v.primary()?, s.info.created)))
                    .collect();
                cell.value = combine(meta.combine, &per);
            }
            Value::Histogram(_) => {
                // the mean of the values recorded during the interval
                let (mut dc, mut ds, mut any) = (0u64, 0u64, false);
                for (s, m, v, _) in &found {
                    let Value::Histogram(Histogram { count, sum, .. }) = v else {
                        continue;
                    };
                    let now = Prev {
                        value: 0.0,
                        count: *count,
                        sum: *sum,
                        taken: s.taken,
                    };
                    let Some(p) = self.remember(key(s, m), now) else {
                        continue;
                    };
                    any = true;
                    if *count < p.count {
                        cell.restarted = true;
                        dc += count;
                        ds = ds.wrapping_add(*sum);
                    } else {
                        dc += count - p.count;
                        ds = ds.wrapping_add(sum.wrapping_sub(p.sum));
                    }
                }
                cell.value = (any && dc > 0).then(|| ds as f64 / dc as f64);
            }
            Value::Windowed(_) => {
                let per: Vec<(f64, Option<SystemTime>)> = found
                    .iter()
                    .filter_map(|(s, m, v, _)| {
                        let created = s.info.created.map(unix_seconds).unwrap_or(0.0);
                        v.derived(m.kind, unix_seconds(s.taken), created, "rate")
                            .map(|x| (x, None))
                    })
                    .collect();
                cell.value = combine(Combine::Sum, &per);
                cell.per_second = true;
            }
            Value::Average { .. } | Value::MovingAverage { .. } => {
                let values: Vec<&Value> = found.iter().map(|(_, _, v, _)| *v).collect();
                cell.value = merge_values(&values).and_then(|v| v.primary());
            }
        }
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::tests::{m, snap};
    use mmstats_reader::{Num, ValueType};

    fn counter(name: &str, at: f64, v: u64) -> Snapshot {
        snap(
            name,
            at,
            vec![(
                m("req", Kind::Counter, ValueType::U64),
                Value::Number(Num::U(v)),
            )],
        )
    }

    fn sample(r: &mut Rates, label: &str, snaps: &[Snapshot]) -> Cell {
        let refs: Vec<&Snapshot> = snaps.iter().collect();
        let c = r.cell(label, &refs);
        r.end_sample();
        c
    }

    #[test]
    fn counters_are_summed_rates_and_restarts_count_from_the_new_value() {
        let mut r = Rates::new();
        let first = sample(
            &mut r,
            "req",
            &[counter("a", 10.0, 100), counter("bb", 10.0, 1000)],
        );
        assert_eq!(first.value, None, "no rate before a second sample");
        let c = sample(
            &mut r,
            "req",
            &[counter("a", 12.0, 120), counter("bb", 12.0, 1100)],
        );
        assert_eq!(c.value, Some(10.0 + 50.0));
        assert!(c.per_second && !c.restarted);
        // bb restarted: 1100 -> 30 counts as 30 new events, never as -1070
        let c = sample(
            &mut r,
            "req",
            &[counter("a", 13.0, 120), counter("bb", 13.0, 30)],
        );
        assert_eq!(c.value, Some(30.0));
        assert!(c.restarted);
    }

    #[test]
    fn label_selectors_sum_the_series_they_match_in_every_file() {
        let file = |name: &str, at: f64, get: u64, err: u64| {
            let c = |code: &str, n: u64| {
                (
                    m("http.requests", Kind::Counter, ValueType::U64)
                        .with_labels([("code", code), ("method", "GET")]),
                    Value::Number(Num::U(n)),
                )
            };
            snap(name, at, vec![c("200", get), c("503", err)])
        };
        let mut r = Rates::new();
        let columns = [
            "http.requests",
            "http.requests{code=5xx}",
            "http.requests{code=\"200\",method=GET}",
        ];
        for c in columns {
            r.cell(c, &[&file("a", 1.0, 10, 1), &file("bb", 1.0, 20, 2)]);
        }
        r.end_sample();
        let (a, b) = (file("a", 3.0, 30, 5), file("bb", 3.0, 40, 4));
        let cells: Vec<Option<f64>> = columns.iter().map(|c| r.cell(c, &[&a, &b]).value).collect();
        // (20 + 4 + 20 + 2) / 2 s; (4 + 2) / 2 s; (20 + 20) / 2 s
        assert_eq!(cells, [Some(23.0), Some(3.0), Some(20.0)]);
        assert_eq!(r.cell("http.requests{code=4xx}", &[&a]).value, None);
    }

    #[test]
    fn vanished_files_are_forgotten_and_new_ones_start_fresh() {
        let mut r = Rates::new();
        sample(&mut r, "req", &[counter("a", 1.0, 5)]);
        sample(&mut r, "req", &[counter("bb", 2.0, 7)]);
        // a came back: its old sample was forgotten, so no bogus rate
        let c = sample(&mut r, "req", &[counter("a", 3.0, 500)]);
        assert_eq!(c.value, None);
        assert_eq!(
            sample(&mut r, "missing", &[counter("a", 4.0, 1)]),
            Cell::default()
        );
    }

    #[test]
    fn gauges_follow_the_combine_rule() {
        let g = |name: &str, rule: Combine, v: f64| {
            let mut meta = m("g", Kind::Gauge, ValueType::F64);
            meta.combine = rule;
            snap(name, 1.0, vec![(meta, Value::Number(Num::F(v)))])
        };
        let mut r = Rates::new();
        for (rule, want) in [
            (Combine::Sum, 6.0),
            (Combine::Max, 4.0),
            (Combine::Min, 2.0),
            (Combine::Avg, 3.0),
        ] {
            let c = sample(&mut r, "g", &[g("a", rule, 2.0), g("bb", rule, 4.0)]);
            assert_eq!(c.value, Some(want), "{rule:?}");
            assert!(!c.per_second);
        }
    }

    #[test]
    fn timers_show_interval_mean_and_merged_percentiles() {
        let t = |name: &str, at: f64, vals: &[u64]| {
            let mut meta = m("lat", Kind::Timer, ValueType::U64);
            meta.unit = "nanoseconds".into();
            let mut h = Histogram::empty(5, 1920);
            for v in vals {
                h.record(*v);
            }
            snap(name, at, vec![(meta, Value::Histogram(h))])
        };
        let mut r = Rates::new();
        assert_eq!(
            sample(&mut r, "lat", &[t("a", 1.0, &[100]), t("bb", 1.0, &[])]).value,
            None
        );
        // a recorded 300 more, bb recorded 500: the interval mean is 400
        let c = sample(
            &mut r,
            "lat",
            &[t("a", 2.0, &[100, 300]), t("bb", 2.0, &[500])],
        );
        assert_eq!(c.value, Some(400.0));
        assert_eq!(c.unit, "nanoseconds");
        // nothing recorded in the interval: no mean
        assert_eq!(
            sample(
                &mut r,
                "lat",
                &[t("a", 3.0, &[100, 300]), t("bb", 3.0, &[500])]
            )
            .value,
            None
        );
    }

    #[test]
    fn named_timer_values_describe_the_interval() {
        let t = |name: &str, at: f64, vals: &[u64]| {
            let meta = m("lat", Kind::Timer, ValueType::U64);
            let mut h = Histogram::empty(5, 1920);
            for v in vals {
                h.record(*v);
            }
            snap(name, at, vec![(meta, Value::Histogram(h))])
        };
        // Long-running history: a million fast values before the first sample.
        let old: Vec<u64> = vec![100; 1_000_000];
        let mut slow = old.clone();
        slow.extend([300, 5000]);
        for (label, want) in [
            ("lat.count", Some(3.0)),
            ("lat.max", Some(5000.0)),
            ("lat.min", Some(300.0)),
            ("lat.p50", Some(5000.0)),
            ("lat.p99", Some(5000.0)),
        ] {
            let mut r = Rates::new();
            let first = sample(&mut r, label, &[t("a", 1.0, &old), t("bb", 1.0, &[])]);
            assert_eq!(
                first.value, None,
                "{label}: no interval before the second sample"
            );
            // The interval saw 300 and 5000 in a, 5000 in bb: its percentiles are of those
            // three, not of the million old values.
            let c = sample(&mut r, label, &[t("a", 2.0, &slow), t("bb", 2.0, &[5000])]);
            let (got, want) = (c.value.unwrap(), want.unwrap());
            assert!(
                (got - want).abs() <= want * 0.016,
                "{label}: {got} vs {want}"
            );
            assert!(!c.restarted);
            // Nothing recorded since: a count of zero, and no percentiles.
            let idle = sample(&mut r, label, &[t("a", 3.0, &slow), t("bb", 3.0, &[5000])]);
            if label == "lat.count" {
                assert_eq!(idle.value, Some(0.0));
            } else {
                assert_eq!(idle.value, None, "{label} of an idle interval");
            }
        }
        // A writer that restarted (its count went down) counts from its new values.
        let mut r = Rates::new();
        sample(&mut r, "lat.count", &[t("a", 1.0, &old)]);
        let c = sample(&mut r, "lat.count", &[t("a", 2.0, &[7, 7])]);
        assert_eq!(c.value, Some(2.0));
        assert!(c.restarted);
    }

    #[test]
    fn text_takes_the_newest_file() {
        let s = snap(
            "a",
            1.0,
            vec![(
                m("name", Kind::Text, ValueType::Text),
                Value::Text("x".into()),
            )],
        );
        let c = sample(&mut Rates::new(), "name", &[s]);
        assert_eq!(c.text.as_deref(), Some("x"));
    }
}
