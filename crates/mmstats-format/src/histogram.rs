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

/// The non-zero buckets of a histogram, in bucket order, as `(index, count)` pairs: what a
/// decoded histogram keeps of its buckets (a few hundred of a slot's thousands are in use, and
/// most of those are zero). One allocation holds the counts, each in the fewest bytes (1, 2, 4
/// or 8) that hold the largest of them, then the 16-bit indexes: a bucket costs 3 bytes while
/// no count passes 255 (an interval's differences, a quiet histogram), 6 while none passes
/// 2^32, 10 at most. The buckets not listed are zero, and the width is the one the largest
/// count needs, so two lists are equal exactly when the histograms they come from count the
/// same values in every bucket.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Buckets {
    /// `len` counts of `width` bytes, then `len` indexes of 2 bytes (bucket indexes of every
    /// exponent up to [`crate::layout::limits::HISTOGRAM_K_MAX`] fit in 16 bits), all
    /// little-endian.
    bytes: Box<[u8]>,
    len: u32,
    /// Bytes a count takes: 1, 2, 4 or 8 (0 for the empty list).
    width: u8,
}

/// A count stored in `c.len()` (1, 2, 4 or 8) little-endian bytes.
#[inline]
fn count_of(c: &[u8]) -> u64 {
    match *c {
        [a] => u64::from(a),
        [a, b] => u64::from(u16::from_le_bytes([a, b])),
        [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// Largest bucket index a [`Buckets`] list holds: that of `u64::MAX` at the largest exponent.
const INDEX_MAX: usize = u16::MAX as usize;

/// The fewest bytes, of 1, 2, 4 and 8, that hold `max`.
fn width_of(max: u64) -> u8 {
    match max {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    }
}

/// Writes `counts` into `to` as little-endian integers of `width` bytes, one after the other
/// (each count fits in `width` bytes). One loop per width, each simple enough to vectorise.
fn put_counts(width: u8, to: &mut [u8], counts: &[u64]) {
    match width {
        1 => {
            for (to, n) in to.iter_mut().zip(counts) {
                *to = *n as u8;
            }
        }
        2 => {
            for (to, n) in to.chunks_exact_mut(2).zip(counts) {
                to.copy_from_slice(&(*n as u16).to_le_bytes());
            }
        }
        4 => {
            for (to, n) in to.chunks_exact_mut(4).zip(counts) {
                to.copy_from_slice(&(*n as u32).to_le_bytes());
            }
        }
        _ => {
            for (to, n) in to.chunks_exact_mut(8).zip(counts) {
                to.copy_from_slice(&n.to_le_bytes());
            }
        }
    }
}

/// Reads `len` little-endian integers of `width` bytes from `from` (the inverse of
/// [`put_counts`]), one loop per width.
fn get_counts(width: u8, from: &[u8], len: usize) -> Vec<u64> {
    let w = usize::from(width);
    let from = &from[..len * w];
    match width {
        1 => from.iter().map(|b| u64::from(*b)).collect(),
        2 => from
            .chunks_exact(2)
            .map(|c| u64::from(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        4 => from
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => from
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
    }
}

impl Buckets {
    /// The non-zero buckets of `dense` (bucket `i` counted by `dense[i]`). Buckets past
    /// index 65,535 (beyond any exponent FORMAT.md §5.5 allows) are left out.
    pub fn from_dense(dense: &[u64]) -> Buckets {
        let dense = &dense[..dense.len().min(INDEX_MAX + 1)];
        Buckets::from_pairs(dense.iter().copied().enumerate())
    }

    /// The buckets of `pairs`, `(index, count)` in ascending order of index; zero counts and
    /// indexes past 65,535 are left out.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (usize, u64)>) -> Buckets {
        let pairs = pairs.into_iter();
        // room for as many pairs as may come (never more than there are indexes), so that
        // gathering them grows no list
        let (least, most) = pairs.size_hint();
        let room = most.unwrap_or(least).min(INDEX_MAX + 1);
        let (mut indexes, mut counts) = (Vec::with_capacity(room), Vec::with_capacity(room));
        for (i, n) in pairs {
            if n != 0 && i <= INDEX_MAX {
                indexes.push(i as u16);
                counts.push(n);
            }
        }
        Buckets::from_sorted(&indexes, &counts)
    }

    /// The buckets whose indexes are `indexes` (ascending, each once) and whose counts are
    /// `counts` (non-zero), pair by pair: what a reader gathers while it copies a slot's
    /// buckets, skipping the zero ones. Pairs past the shorter list are left out.
    pub fn from_sorted(indexes: &[u16], counts: &[u64]) -> Buckets {
        let mut buckets = Buckets::default();
        buckets.set_sorted(indexes, counts);
        buckets
    }

    /// Makes this list [`Buckets::from_sorted`]`(indexes, counts)`, in its own storage when
    /// the new list takes as many bytes as the old (as a histogram that changed its counts but
    /// not the width of the largest nor its number of non-zero buckets does).
    pub fn set_sorted(&mut self, indexes: &[u16], counts: &[u64]) {
        let len = indexes.len().min(counts.len());
        let (indexes, counts) = (&indexes[..len], &counts[..len]);
        debug_assert!(indexes.windows(2).all(|w| w[0] < w[1]), "ascending");
        debug_assert!(counts.iter().all(|n| *n != 0), "non-zero");
        if len == 0 {
            *self = Buckets::default();
            return;
        }
        // The width depends only on the highest bit set in any count: that of their union.
        let width = width_of(counts.iter().fold(0, |a, n| a | n));
        let w = usize::from(width);
        if self.bytes.len() != len * (w + 2) {
            self.bytes = vec![0u8; len * (w + 2)].into_boxed_slice();
        }
        let (to_counts, to_indexes) = self.bytes.split_at_mut(len * w);
        put_counts(width, to_counts, counts);
        for (to, i) in to_indexes.chunks_exact_mut(2).zip(indexes) {
            to.copy_from_slice(&i.to_le_bytes());
        }
        self.len = len as u32;
        self.width = width;
    }

    /// The count of the `j`th non-zero bucket (`j < len`).
    #[inline]
    fn count(&self, j: usize) -> u64 {
        let w = usize::from(self.width);
        count_of(&self.bytes[w * j..w * j + w])
    }

    /// The bucket index of the `j`th non-zero bucket (`j < len`).
    #[inline]
    fn index(&self, j: usize) -> usize {
        let at = self.len as usize * usize::from(self.width) + 2 * j;
        usize::from(u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]))
    }

    /// Sets the count of the `j`th non-zero bucket to `n`, if `n` fits its width (the caller
    /// keeps the width the one the largest count needs).
    fn set_count(&mut self, j: usize, n: u64) -> bool {
        let w = usize::from(self.width);
        if width_of(n) > self.width {
            return false;
        }
        self.bytes[w * j..w * j + w].copy_from_slice(&n.to_le_bytes()[..w]);
        true
    }

    /// Adds `n` to bucket `i` (wrapping); a bucket past index 65,535 is left out.
    pub fn add(&mut self, i: usize, n: u64) {
        if let Some(j) = self.position(i) {
            let old = self.count(j);
            let sum = old.wrapping_add(n);
            // In place only while the largest count still needs the width: a count that grew
            // but fits it. One that wrapped, or left zero, makes the list anew.
            if sum >= old && self.set_count(j, sum) {
                return;
            }
        }
        let one = Buckets::from_pairs([(i, n)]);
        *self = self.combine(&one, u64::wrapping_add);
    }

    /// How many buckets are non-zero.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True if every bucket is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The non-zero buckets as `(index, count)`, in ascending order of index: the counts and
    /// the indexes walked side by side, each a fixed-width chunk of the list's bytes.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (usize, u64)> + ExactSizeIterator + '_ {
        let w = usize::from(self.width).max(1);
        let (counts, indexes) = self
            .bytes
            .split_at(self.len as usize * usize::from(self.width));
        indexes
            .chunks_exact(2)
            .zip(counts.chunks_exact(w))
            .map(|(i, c)| (usize::from(u16::from_le_bytes([i[0], i[1]])), count_of(c)))
    }

    /// The count of bucket `i` (0 for a bucket not listed).
    pub fn get(&self, i: usize) -> u64 {
        self.position(i).map_or(0, |j| self.count(j))
    }

    /// Where bucket `i` is among the non-zero buckets, if it is one of them (binary search).
    fn position(&self, i: usize) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len as usize);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.index(mid).cmp(&i) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// One past the last non-zero bucket (0 when every bucket is zero): the length of the
    /// dense list that ends at the last non-zero bucket.
    pub fn end(&self) -> usize {
        self.len
            .checked_sub(1)
            .map_or(0, |j| self.index(j as usize) + 1)
    }

    /// The counts added up (saturating).
    pub fn total(&self) -> u64 {
        (0..self.len as usize).fold(0u64, |a, j| a.saturating_add(self.count(j)))
    }

    /// Every count, in order (the width decoded once for all of them).
    fn counts(&self) -> Vec<u64> {
        get_counts(self.width, &self.bytes, self.len as usize)
    }

    /// Every index, in order.
    fn indexes(&self) -> Vec<u16> {
        let from = &self.bytes[self.len as usize * usize::from(self.width)..];
        from.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    /// This list and `other` bucket by bucket: `op(this count, other count)` for every index
    /// non-zero in either (a bucket one list lacks counts zero there), zero results left out.
    /// Both lists are decoded once and walked side by side.
    fn combine(&self, other: &Buckets, mut op: impl FnMut(u64, u64) -> u64) -> Buckets {
        let (ai, ac) = (self.indexes(), self.counts());
        let (bi, bc) = (other.indexes(), other.counts());
        let mut indexes = Vec::with_capacity(ai.len() + bi.len());
        let mut counts = Vec::with_capacity(ai.len() + bi.len());
        let (mut i, mut j) = (0, 0);
        while i < ai.len() || j < bi.len() {
            let (at, x, y) = match (ai.get(i), bi.get(j)) {
                (Some(&a), Some(&b)) if a == b => {
                    i += 1;
                    j += 1;
                    (a, ac[i - 1], bc[j - 1])
                }
                (Some(&a), Some(&b)) if a < b => {
                    i += 1;
                    (a, ac[i - 1], 0)
                }
                (Some(&a), None) => {
                    i += 1;
                    (a, ac[i - 1], 0)
                }
                (_, Some(&b)) => {
                    j += 1;
                    (b, 0, bc[j - 1])
                }
                (None, None) => break,
            };
            let n = op(x, y);
            if n != 0 {
                indexes.push(at);
                counts.push(n);
            }
        }
        Buckets::from_sorted(&indexes, &counts)
    }

    /// The first `len` buckets as a dense list, zeros included.
    pub fn to_dense(&self, len: usize) -> Vec<u64> {
        let mut dense = vec![0; len];
        for (i, n) in self.iter() {
            if let Some(d) = dense.get_mut(i) {
                *d = n;
            }
        }
        dense
    }
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Serialised as the dense list of counts that ends at the last non-zero bucket (the form of
/// the test vectors, FORMAT.md §10).
impl Serialize for Buckets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let end = self.end();
        let mut seq = s.serialize_seq(Some(end))?;
        let mut next = 0;
        for (i, n) in self.iter() {
            for _ in next..i {
                seq.serialize_element(&0u64)?;
            }
            seq.serialize_element(&n)?;
            next = i + 1;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Buckets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Buckets, D::Error> {
        Vec::<u64>::deserialize(d).map(|dense| Buckets::from_dense(&dense))
    }
}

/// A histogram or timer field's value as decoded from a file (FORMAT.md §5.5): what readers
/// merge, subtract and render. The writer's handle that records into such a field is
/// `mmstats::Histogram` (or `mmstats::Timer`).
///
/// Only the non-zero buckets are kept ([`HistogramValue::buckets`]); the others are zero.
///
/// ```
/// use mmstats_format::{HistogramValue, bucket_index};
///
/// let mut h = HistogramValue::empty(5, 1920);
/// h.record(7);
/// h.record(7);
/// h.record(1_000);
/// assert_eq!(h.bucket(bucket_index(7, 5)), 2);
/// assert_eq!(h.buckets().count(), 2, "two buckets in use");
/// assert_eq!(h.bucket_end(), bucket_index(1_000, 5) + 1);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The non-zero buckets.
    buckets: Buckets,
    /// How many buckets the slot has (the field's capacity): where [`HistogramValue::record`]
    /// puts values past the last bucket. Not part of the value: two histograms that count the
    /// same are equal whatever their capacities.
    #[serde(skip)]
    capacity: u32,
}

/// Equal when every count, sum, extreme, window and bucket is.
impl PartialEq for HistogramValue {
    fn eq(&self, o: &HistogramValue) -> bool {
        (
            self.k,
            self.count,
            self.sum,
            self.min,
            self.max,
            self.last,
            self.window_count,
            self.window_sum,
        ) == (
            o.k,
            o.count,
            o.sum,
            o.min,
            o.max,
            o.last,
            o.window_count,
            o.window_sum,
        ) && self.buckets == o.buckets
    }
}

impl Eq for HistogramValue {}

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
            buckets: Buckets::default(),
            capacity: buckets.min(u32::MAX as usize) as u32,
        }
    }

    /// The histogram of a slot's head words (count, sum, min, max, last, window count and
    /// sum, in that order, as FORMAT.md §5.5 lays them out) and its non-zero `buckets`, for
    /// a slot of `capacity` buckets.
    pub fn from_parts(k: u32, head: [u64; 7], buckets: Buckets, capacity: usize) -> HistogramValue {
        let [count, sum, min, max, last, window_count, window_sum] = head;
        HistogramValue {
            k,
            count,
            sum,
            min,
            max,
            last,
            window_count,
            window_sum,
            buckets,
            capacity: capacity.min(u32::MAX as usize) as u32,
        }
    }

    /// Makes this value [`HistogramValue::from_parts`] of the same arguments, with the
    /// buckets of [`Buckets::from_sorted`]`(indexes, counts)`, in the storage it has where the
    /// new buckets fit it.
    pub fn set_parts(
        &mut self,
        k: u32,
        head: [u64; 7],
        indexes: &[u16],
        counts: &[u64],
        capacity: usize,
    ) {
        let [count, sum, min, max, last, window_count, window_sum] = head;
        (self.k, self.count, self.sum, self.min, self.max) = (k, count, sum, min, max);
        (self.last, self.window_count, self.window_sum) = (last, window_count, window_sum);
        self.buckets.set_sorted(indexes, counts);
        self.capacity = capacity.min(u32::MAX as usize) as u32;
    }

    /// The non-zero buckets as `(index, count)`, in ascending order of index.
    pub fn buckets(
        &self,
    ) -> impl DoubleEndedIterator<Item = (usize, u64)> + ExactSizeIterator + '_ {
        self.buckets.iter()
    }

    /// The non-zero buckets as a list.
    pub fn bucket_list(&self) -> &Buckets {
        &self.buckets
    }

    /// The count of bucket `i` (0 past the last non-zero one).
    pub fn bucket(&self, i: usize) -> u64 {
        self.buckets.get(i)
    }

    /// One past the last non-zero bucket (0 when none is).
    pub fn bucket_end(&self) -> usize {
        self.buckets.end()
    }

    /// The bucket counts added up (saturating): `count`, for a consistent copy.
    pub fn bucket_total(&self) -> u64 {
        self.buckets.total()
    }

    /// How many buckets the slot it was read from (or that it was made with) has.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Every bucket of the slot, zeros included, as a writer stores them: `capacity()` counts.
    pub fn dense_buckets(&self) -> Vec<u64> {
        self.buckets
            .to_dense(self.capacity().max(self.bucket_end()))
    }

    /// Records one value, as a writer does (used by tests and tools that build histograms):
    /// a value past the last bucket counts in the last one.
    pub fn record(&mut self, v: u64) {
        let last = self.capacity().min(INDEX_MAX + 1);
        if last > 0 {
            let i = bucket_index(v, self.k).min(last - 1);
            self.buckets.add(i, 1);
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
        if !other.buckets.is_empty() {
            self.buckets = if self.buckets.is_empty() {
                other.buckets.clone()
            } else {
                self.buckets.combine(&other.buckets, u64::wrapping_add)
            };
        }
        self.capacity = self.capacity.max(other.capacity);
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
        self.growth(earlier).map(|(d, _)| d)
    }

    /// [`HistogramValue::minus`], and whether no bucket of `earlier` is above this one's: then
    /// `earlier` with the difference added holds exactly this histogram's counts.
    pub fn growth(&self, earlier: &HistogramValue) -> Option<(HistogramValue, bool)> {
        if self.k != earlier.k {
            return None;
        }
        // Only the buckets that grew are kept: the difference of an idle histogram holds
        // none, however many its readings hold.
        let mut whole = true;
        let buckets = if self.buckets == earlier.buckets {
            Buckets::default()
        } else {
            self.buckets.combine(&earlier.buckets, |a, b| {
                whole &= a >= b;
                a.saturating_sub(b)
            })
        };
        let mut d = HistogramValue {
            buckets,
            ..self.clone_head()
        };
        d.count = self.count.saturating_sub(earlier.count);
        d.sum = self.sum.wrapping_sub(earlier.sum);
        if d.count == 0 {
            d.sum = 0;
        }
        let lowest = d.buckets.iter().next().map(|(i, _)| i);
        let highest = d.buckets.iter().next_back().map(|(i, _)| i);
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
        Some((d, whole))
    }

    /// Everything but the buckets (left empty).
    fn clone_head(&self) -> HistogramValue {
        HistogramValue {
            buckets: Buckets::default(),
            ..*self
        }
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
        let total = self.buckets.total();
        if total == 0 || !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (i, n) in self.buckets.iter() {
            seen = seen.saturating_add(n);
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

    /// A dense list of up to 80 buckets, most of them zero.
    fn dense() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(
            prop_oneof![
                6 => Just(0u64),
                2 => 0u64..5,
                1 => 0u64..70_000,
                1 => 0u64..5_000_000_000,
                1 => any::<u64>(),
            ],
            0..80,
        )
    }

    fn histogram_of(dense: &[u64]) -> HistogramValue {
        let total = dense.iter().fold(0u64, |a, n| a.wrapping_add(*n));
        HistogramValue::from_parts(
            5,
            [total, 0, 0, u64::MAX, 0, 0, 0],
            Buckets::from_dense(dense),
            80,
        )
    }

    proptest! {
        #[test]
        fn sparse_buckets_hold_what_the_dense_list_does(a in dense(), b in dense()) {
            let sa = Buckets::from_dense(&a);
            prop_assert_eq!(sa.to_dense(a.len()), a.clone());
            prop_assert_eq!(sa.len(), a.iter().filter(|n| **n != 0).count());
            prop_assert_eq!(sa.end(), a.iter().rposition(|n| *n != 0).map_or(0, |i| i + 1));
            for (i, n) in a.iter().enumerate() {
                prop_assert_eq!(sa.get(i), *n);
            }
            prop_assert_eq!(sa.get(a.len() + 3), 0);
            let json = serde_json::to_string(&sa).unwrap();
            let want: Vec<u64> = a[..sa.end()].to_vec();
            prop_assert_eq!(&json, &serde_json::to_string(&want).unwrap());
            prop_assert_eq!(serde_json::from_str::<Buckets>(&json).unwrap(), sa.clone());

            let len = a.len().max(b.len());
            let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
            let mut merged = histogram_of(&a);
            prop_assert!(merged.merge(&histogram_of(&b)));
            let sum: Vec<u64> = (0..len).map(|i| at(&a, i).wrapping_add(at(&b, i))).collect();
            prop_assert_eq!(merged.bucket_list(), &Buckets::from_dense(&sum));
            let d = histogram_of(&a).minus(&histogram_of(&b)).unwrap();
            let diff: Vec<u64> = (0..len).map(|i| at(&a, i).saturating_sub(at(&b, i))).collect();
            prop_assert_eq!(d.bucket_list(), &Buckets::from_dense(&diff));

            let mut added = Buckets::from_dense(&a);
            for (i, n) in b.iter().enumerate() {
                added.add(i, *n);
            }
            prop_assert_eq!(added, Buckets::from_dense(&sum));

            // a list rewritten in place holds what a new list of the same buckets does
            let mut rewritten = Buckets::from_dense(&a);
            let fresh = Buckets::from_dense(&b);
            let (indexes, counts) = (fresh.indexes(), fresh.counts());
            rewritten.set_sorted(&indexes, &counts);
            prop_assert_eq!(&rewritten, &fresh);
            prop_assert_eq!(rewritten.to_dense(b.len()), b.clone());
        }
    }

    #[test]
    fn counts_take_the_fewest_bytes_that_hold_the_largest() {
        for (largest, width) in [(255, 1), (256, 2), (65_535, 2), (70_000, 4), (1 << 40, 8)] {
            let b = Buckets::from_pairs([(3, 1), (9, largest), (700, 2)]);
            assert_eq!(b.bytes.len(), 3 * (width + 2), "largest {largest}");
            assert_eq!(
                b.iter().collect::<Vec<_>>(),
                [(3, 1), (9, largest), (700, 2)]
            );
            assert_eq!((b.get(9), b.total(), b.end()), (largest, largest + 3, 701));
        }
        // Adding past a width's largest count widens the list; the result is the list of the
        // same counts built at once, and equal to it.
        let mut b = Buckets::from_pairs([(3, 1), (9, 255)]);
        b.add(9, 1);
        b.add(3, u64::MAX);
        assert_eq!(b, Buckets::from_pairs([(9, 256)]));
        assert_eq!(b.bytes.len(), 4);
        // A count that wraps below the width's range narrows it again.
        b.add(9, u64::MAX);
        assert_eq!(b, Buckets::from_pairs([(9, 255)]));
        assert_eq!(b.bytes.len(), 3);
        assert_eq!(Buckets::from_pairs([]), Buckets::default());
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
        assert_eq!(used_buckets(h.count, h.max, 5, h.capacity()), 0);
        for v in [3, 900, 70_000] {
            h.record(v);
        }
        let n = used_buckets(h.count, h.max, 5, h.capacity());
        assert!(h.bucket(n - 1) > 0, "the bucket of max is included");
        assert_eq!(h.bucket_end(), n, "no bucket past it is in use");
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
        assert_eq!((a.count, a.min, a.max, a.capacity()), (2, 3, 1000, 200));
        assert_eq!(a.bucket(3), 1);
        assert_eq!(a.bucket(bucket_index(1000, 5)), 1);
        assert_eq!(a.buckets().count(), 2);
        assert!(!a.merge(&HistogramValue::empty(4, 10)));
    }
}
