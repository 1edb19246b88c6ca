//! Log-linear histogram buckets and percentiles (FORMAT.md §5.5, §5.6).

use serde::{Deserialize, Serialize};

/// The quantiles every reader reports (FORMAT.md §5.6), with their label suffixes.
pub const QUANTILES: [(f64, &str); 4] =
    [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p999")];

/// The bucket of `v` for sub-bucket exponent `k` (FORMAT.md §5.6).
#[inline]
pub fn bucket_index(v: u64, k: u32) -> usize {
    let e = 63 - (v | 1).leading_zeros();
    let s = e.saturating_sub(k);
    ((s as u64) << k) as usize + (v >> s) as usize
}

/// Number of buckets that cover every u64 for exponent `k`.
pub const fn full_bucket_count(k: u32) -> u32 {
    (65 - k) << k
}

/// How many leading buckets of a consistent histogram slot can be non-zero: none when `count`
/// is 0, else up to the bucket of `max` (every recorded value is at most `max`), and never
/// more than `capacity`. A reader may copy just these (FORMAT.md §5.5).
pub fn used_buckets(count: u64, max: u64, k: u32, capacity: usize) -> usize {
    if count == 0 {
        0
    } else {
        bucket_index(max, k).saturating_add(1).min(capacity)
    }
}

/// The lowest value and the width of bucket `i` (FORMAT.md §5.6).
pub fn bucket_bounds(i: usize, k: u32) -> (u64, u64) {
    let sub = 1usize << k;
    if i < 2 * sub {
        return (i as u64, 1);
    }
    let s = (i >> k) - 1;
    let low = ((i - (s << k)) as u64) << s;
    (low, 1u64 << s)
}

/// A histogram or timer field's value as decoded from a file (FORMAT.md §5.5): what readers
/// merge, subtract and render. The writer's handle that records into such a field is
/// `mmstats::Histogram` (or `mmstats::Timer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramValue {
    /// Sub-bucket exponent.
    pub k: u32,
    /// Values recorded.
    pub count: u64,
    /// Their sum (wrapping).
    pub sum: u64,
    /// Smallest, `u64::MAX` when empty.
    pub min: u64,
    /// Largest, 0 when empty.
    pub max: u64,
    /// Last recorded value.
    pub last: u64,
    /// Timers: durations in the moving window.
    pub window_count: u64,
    /// Timers: their sum.
    pub window_sum: u64,
    /// Count per bucket, up to the last non-zero one as decoded from a file (FORMAT.md §5.5);
    /// the buckets past the end of the vector are zero.
    pub buckets: Vec<u64>,
}

impl HistogramValue {
    /// An empty histogram with `buckets` buckets.
    pub fn empty(k: u32, buckets: usize) -> HistogramValue {
        HistogramValue {
            k,
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
            last: 0,
            window_count: 0,
            window_sum: 0,
            buckets: vec![0; buckets],
        }
    }

    /// Records one value, as a writer does (used by tests and tools that build histograms).
    pub fn record(&mut self, v: u64) {
        let i = bucket_index(v, self.k).min(self.buckets.len().saturating_sub(1));
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = v;
    }

    /// Adds another histogram of the same `k` into this one; `false` if the exponents differ.
    pub fn merge(&mut self, other: &HistogramValue) -> bool {
        if other.k != self.k {
            return false;
        }
        if other.buckets.len() > self.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a = a.wrapping_add(*b);
        }
        self.count = self.count.wrapping_add(other.count);
        self.sum = self.sum.wrapping_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.window_count = self.window_count.wrapping_add(other.window_count);
        self.window_sum = self.window_sum.wrapping_add(other.window_sum);
        true
    }

    /// What this histogram holds beyond `earlier` (an older reading of the same histogram, or
    /// a part of it): bucket by bucket, count and sum subtracted (never below zero), `min` and
    /// `max` narrowed to the lowest and highest bucket left non-zero (within this histogram's
    /// own `min` and `max`), `last` and the timer window kept from this one. `None` if the
    /// exponents differ. The interval rule of FORMAT.md §12 is built on it.
    pub fn minus(&self, earlier: &HistogramValue) -> Option<HistogramValue> {
        if self.k != earlier.k {
            return None;
        }
        // Only the buckets up to the last one that grew are allocated: the difference of an
        // idle histogram holds none, however many its copies hold.
        let grew = |i: usize| self.buckets[i] > earlier.buckets.get(i).copied().unwrap_or(0);
        let used = (0..self.buckets.len()).rposition(grew).map_or(0, |i| i + 1);
        let buckets = (0..used)
            .map(|i| self.buckets[i].saturating_sub(earlier.buckets.get(i).copied().unwrap_or(0)))
            .collect();
        let mut d = HistogramValue { buckets, ..*self };
        d.count = self.count.saturating_sub(earlier.count);
        d.sum = self.sum.wrapping_sub(earlier.sum);
        if d.count == 0 {
            d.sum = 0;
        }
        let lowest = d.buckets.iter().position(|n| *n > 0);
        let highest = d.buckets.iter().rposition(|n| *n > 0);
        match (lowest, highest) {
            (Some(lo), Some(hi)) => {
                let (low, _) = bucket_bounds(lo, self.k);
                let (high, width) = bucket_bounds(hi, self.k);
                d.min = low.max(self.min);
                d.max = high.saturating_add(width - 1).min(self.max);
            }
            _ => {
                d.min = u64::MAX;
                d.max = 0;
            }
        }
        Some(d)
    }

    /// Mean of every recorded value.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Mean of the moving window (timers).
    pub fn window_mean(&self) -> Option<f64> {
        (self.window_count > 0).then(|| self.window_sum as f64 / self.window_count as f64)
    }

    /// The value at quantile `q` in (0, 1], within the relative error of FORMAT.md §5.6.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.buckets.iter().fold(0u64, |a, b| a.saturating_add(*b));
        if total == 0 || !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            seen = seen.saturating_add(*n);
            if seen >= rank {
                let (low, width) = bucket_bounds(i, self.k);
                let mid = low.saturating_add((width - 1) / 2);
                let (lo, hi) = if self.min <= self.max {
                    (self.min, self.max)
                } else {
                    (0, u64::MAX)
                };
                return Some(mid.clamp(lo, hi));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_values_are_exact_and_indexes_are_contiguous() {
        for k in 1..=10u32 {
            for v in 0..(1u64 << (k + 1)) {
                assert_eq!(bucket_index(v, k), v as usize);
            }
            let mut prev = bucket_index((1 << (k + 1)) - 1, k);
            for v in (1u64 << (k + 1))..(1u64 << (k + 4)) {
                let i = bucket_index(v, k);
                assert!(i == prev || i == prev + 1, "k={k} v={v}");
                prev = i;
            }
            assert_eq!(bucket_index(u64::MAX, k), full_bucket_count(k) as usize - 1);
        }
    }

    proptest! {
        #[test]
        fn bounds_contain_value(v in any::<u64>(), k in 1u32..=10) {
            let i = bucket_index(v, k);
            let (low, width) = bucket_bounds(i, k);
            prop_assert!(low <= v);
            prop_assert!(v - low < width);
            // relative error of the midpoint is at most 2^-(k+1)
            let mid = low + (width - 1) / 2;
            let err = (mid as f64 - v as f64).abs() / (v.max(1) as f64);
            prop_assert!(err <= 1.0 / f64::from(1u32 << (k + 1)) + 1e-12);
        }
    }

    #[test]
    fn quantiles_of_uniform_within_bound() {
        let mut h = HistogramValue::empty(5, full_bucket_count(5) as usize);
        for v in 1..=100_000u64 {
            h.record(v);
        }
        for (q, _) in QUANTILES {
            let got = h.quantile(q).unwrap() as f64;
            let exact = (q * 100_000.0).ceil();
            assert!(
                (got - exact).abs() / exact <= 0.016,
                "q={q} got={got} exact={exact}"
            );
        }
        assert_eq!(h.mean(), Some(50_000.5));
    }

    #[test]
    fn used_buckets_end_at_the_bucket_of_max() {
        let mut h = HistogramValue::empty(5, full_bucket_count(5) as usize);
        assert_eq!(used_buckets(h.count, h.max, 5, h.buckets.len()), 0);
        for v in [3, 900, 70_000] {
            h.record(v);
        }
        let n = used_buckets(h.count, h.max, 5, h.buckets.len());
        assert!(h.buckets[n - 1] > 0, "the bucket of max is included");
        assert!(h.buckets[n..].iter().all(|b| *b == 0));
        assert_eq!(
            used_buckets(1, u64::MAX, 5, 100),
            100,
            "capped at the capacity"
        );
    }

    #[test]
    fn merge_adds() {
        let mut a = HistogramValue::empty(5, 100);
        let mut b = HistogramValue::empty(5, 200);
        a.record(3);
        b.record(1000);
        assert!(a.merge(&b));
        assert_eq!((a.count, a.min, a.max, a.buckets.len()), (2, 3, 1000, 200));
        assert!(!a.merge(&HistogramValue::empty(4, 10)));
    }
}
