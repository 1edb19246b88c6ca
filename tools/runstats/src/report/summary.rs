//! The statistics of one series over a run: min, mean, p50, p95, max, and for counters the
//! average rate over the run.
//!
//! The mean and the percentiles weigh each sample by the time it stands for: the time since
//! the sample before it (the first sample, by the time to the second). A rate stored at a tick
//! is the rate over that interval, so the mean of a rate series is its average over the run,
//! and a last interval cut short by the workload's exit (a few milliseconds, in which perhaps
//! nothing happened) counts for its few milliseconds, not as much as a whole tick. With ticks
//! evenly spaced these are the plain mean and nearest-rank percentiles. `min` and `max` are
//! the extremes of every sample.

use crate::store::Series;

/// Statistics of one series' values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub samples: usize,
    /// Smallest value.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest value.
    pub max: f64,
    /// For counters: the increase per second from the first to the last sample (restarts
    /// counted from the new value).
    pub rate: Option<f64>,
}

impl Summary {
    /// The statistics of `s`, or `None` if it has no samples.
    pub fn of(s: &Series) -> Option<Summary> {
        let weights = weights(&s.points);
        let mut xs: Vec<(f64, f64)> = s.points.iter().map(|(_, v)| *v).zip(weights).collect();
        if xs.is_empty() {
            return None;
        }
        let total: f64 = xs.iter().map(|(_, w)| w).sum();
        let mean = xs.iter().map(|(v, w)| v * w).sum::<f64>() / total;
        xs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // the smallest value at which the samples up to it stand for at least `q` of the time
        let rank = |q: f64| {
            let mut seen = 0.0;
            let at = xs.iter().position(|(_, w)| {
                seen += w;
                seen >= q * total * (1.0 - 1e-12)
            });
            xs[at.unwrap_or(xs.len() - 1)].0
        };
        let rate = (s.kind == "counter")
            .then(|| counter_rate(&s.points))
            .flatten();
        Some(Summary {
            samples: xs.len(),
            min: xs[0].0,
            mean,
            p50: rank(0.5),
            p95: rank(0.95),
            max: xs[xs.len() - 1].0,
            rate,
        })
    }
}

/// The time each sample stands for, in milliseconds: since the sample before it, the first's
/// until the second. Samples all at one moment (or one alone) weigh the same.
fn weights(points: &[(i64, f64)]) -> Vec<f64> {
    let gaps: Vec<f64> = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).max(0) as f64)
        .collect();
    if gaps.iter().all(|g| *g == 0.0) {
        return vec![1.0; points.len()];
    }
    gaps.first().into_iter().chain(&gaps).copied().collect()
}

/// A counter's increase per second over its samples; a decrease (restart) counts from the new
/// value.
fn counter_rate(points: &[(i64, f64)]) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    if last.0 <= first.0 {
        return None;
    }
    let increase: f64 = points
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0].1, w[1].1);
            if b < a { b } else { b - a }
        })
        .sum();
    Some(increase * 1000.0 / (last.0 - first.0) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_and_counter_rates() {
        let s = Series {
            source: "m".into(),
            process: "p".into(),
            label: "c".into(),
            kind: "counter".into(),
            unit: String::new(),
            points: vec![(0, 10.0), (1000, 20.0), (2000, 5.0), (3000, 15.0)],
        };
        let sum = Summary::of(&s).unwrap();
        assert_eq!((sum.min, sum.max, sum.samples), (5.0, 20.0, 4));
        assert_eq!(sum.mean, 12.5);
        assert_eq!(sum.p50, 10.0);
        assert_eq!(sum.p95, 20.0);
        // +10, restart to 5 (counts 5), +10: 25 over 3 s
        assert!((sum.rate.unwrap() - 25.0 / 3.0).abs() < 1e-9);
        let gauge = Series {
            kind: "gauge".into(),
            ..s.clone()
        };
        assert_eq!(Summary::of(&gauge).unwrap().rate, None);
        let empty = Series {
            points: vec![],
            ..s
        };
        assert_eq!(Summary::of(&empty), None);
    }

    #[test]
    fn a_last_interval_cut_short_counts_for_its_length() {
        // 100/s for ten whole ticks, then 8 ms in which nothing was served
        let mut points: Vec<(i64, f64)> = (1..=10).map(|i| (i * 1000, 100.0)).collect();
        points.push((10_008, 0.0));
        let s = Series {
            source: "m".into(),
            process: "p".into(),
            label: "web.requests.rate".into(),
            kind: "rate".into(),
            unit: "requests/s".into(),
            points,
        };
        let sum = Summary::of(&s).unwrap();
        // the average over the 10.008 s the samples stand for
        assert!(
            (sum.mean - 100.0 * 10_000.0 / 10_008.0).abs() < 1e-9,
            "{sum:?}"
        );
        assert_eq!((sum.p50, sum.p95), (100.0, 100.0));
        assert_eq!((sum.min, sum.max, sum.samples), (0.0, 100.0, 11));
        // uneven ticks: a value that held for most of the time is the median
        let s = Series {
            points: vec![(0, 5.0), (100, 5.0), (200, 1.0), (3200, 1.0)],
            ..s
        };
        let sum = Summary::of(&s).unwrap();
        assert_eq!(sum.p50, 1.0);
        assert!((sum.mean - (5.0 * 200.0 + 1.0 * 3100.0) / 3300.0).abs() < 1e-9);
    }
}
