//! The statistics of one series over a run: min, mean, p50, p95, max, and for counters the
//! average rate over the run.

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
        let mut xs: Vec<f64> = s.points.iter().map(|(_, v)| *v).collect();
        if xs.is_empty() {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.sort_by(f64::total_cmp);
        let rank = |q: f64| xs[((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1];
        let rate = (s.kind == "counter")
            .then(|| counter_rate(&s.points))
            .flatten();
        Some(Summary {
            samples: xs.len(),
            min: xs[0],
            mean,
            p50: rank(0.5),
            p95: rank(0.95),
            max: xs[xs.len() - 1],
            rate,
        })
    }
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
}
