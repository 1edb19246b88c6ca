//! Handles that summarise many recorded values: averages, histograms and timers
//! (FORMAT.md §5.3 to §5.6). Each update goes through the field's sequence counter, so readers
//! always see a consistent summary.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use mmstats_format::layout::limits::HISTOGRAM_K_DEFAULT;
use mmstats_format::{FieldMeta, Kind, ValueType, bucket_index};

use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::handle::GaugeValue;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// Buckets of a histogram or timer unless the declaration gives a count: with the writer's
/// sub-bucket exponent of 5 they resolve values up to 2^36 (68.7 s in nanoseconds) to 1.6%;
/// larger values count in the last bucket (and still in `max` and `sum`).
pub const DEFAULT_BUCKETS: u32 = 1024;

/// Window of a moving average or timer unless the declaration gives one.
pub const DEFAULT_WINDOW: u32 = 100;

/// A running average of every value recorded: count and sum (FORMAT.md §5.3).
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Average<T> {
    slot: Slot,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> Average<T> {
    /// Records one value.
    #[inline]
    pub fn record(&self, v: T) {
        let s = &self.slot;
        let count = s.word(1).load(Relaxed).wrapping_add(1);
        let sum = T::wide_add(s.word(2).load(Relaxed), v.to_wide());
        let _g = WriteGuard::begin(s.first());
        s.word(1).store(count, Relaxed);
        s.word(2).store(sum, Relaxed);
    }
}

impl<T: GaugeValue> Handle for Average<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Average, T::TYPE))
    }
    fn bind(slot: Slot) -> Self {
        Average {
            slot,
            _t: PhantomData,
        }
    }
}

/// The writer's copy of the last N values of a window.
#[derive(Debug)]
struct Ring {
    values: Vec<u64>,
    next: usize,
}

impl Ring {
    fn new(capacity: u32) -> Ring {
        Ring {
            values: Vec::with_capacity(capacity as usize),
            next: 0,
        }
    }

    /// Adds `w`; returns the value it pushed out of a full window.
    fn push(&mut self, w: u64) -> Option<u64> {
        if self.values.len() < self.values.capacity() {
            self.values.push(w);
            return None;
        }
        let old = std::mem::replace(&mut self.values[self.next], w);
        self.next = (self.next + 1) % self.values.len();
        Some(old)
    }
}

/// The average of the last N recorded values (FORMAT.md §5.4), N being the declaration's
/// capacity (default [`DEFAULT_WINDOW`]). The writer keeps the window's values in its own
/// memory.
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct MovingAverage<T> {
    slot: Slot,
    ring: RefCell<Ring>,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> MovingAverage<T> {
    /// Records one value.
    pub fn record(&self, v: T) {
        let s = &self.slot;
        let w = v.to_wide();
        let mut ring = self.ring.borrow_mut();
        let pushed_out = ring.push(w);
        let window_sum = if T::TYPE.is_float() && ring.next == 0 && pushed_out.is_some() {
            // Once per turn of the window, a float sum is recomputed, so rounding errors of
            // adding and subtracting never pile up.
            ring.values
                .iter()
                .fold(0f64.to_bits(), |a, b| T::wide_add(a, *b))
        } else {
            let sum = T::wide_add(s.word(3).load(Relaxed), w);
            pushed_out.map_or(sum, |old| T::wide_sub(sum, old))
        };
        let count = s.word(1).load(Relaxed).wrapping_add(1);
        let _g = WriteGuard::begin(s.first());
        s.word(1).store(count, Relaxed);
        s.word(2).store(ring.values.len() as u64, Relaxed);
        s.word(3).store(window_sum, Relaxed);
        s.word(4).store(w, Relaxed);
    }
}

impl<T: GaugeValue> Handle for MovingAverage<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::MovingAverage, T::TYPE);
        meta.capacity = decl.capacity.unwrap_or(DEFAULT_WINDOW);
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        let ring = RefCell::new(Ring::new(slot.capacity()));
        MovingAverage {
            slot,
            ring,
            _t: PhantomData,
        }
    }
}

/// Records `v` into a histogram slot (§5.5); `window` is a timer's (count, sum) to store.
#[inline]
fn record_histogram(s: &Slot, v: u64, window: Option<(u64, u64)>) {
    let buckets = s.words() - 8;
    let i = bucket_index(v, u32::from(HISTOGRAM_K_DEFAULT)).min(buckets - 1);
    let count = s.word(1).load(Relaxed).wrapping_add(1);
    let sum = s.word(2).load(Relaxed).wrapping_add(v);
    let min = s.word(3).load(Relaxed).min(v);
    let max = s.word(4).load(Relaxed).max(v);
    let bucket = s.word(8 + i).load(Relaxed).wrapping_add(1);
    let _g = WriteGuard::begin(s.first());
    s.word(1).store(count, Relaxed);
    s.word(2).store(sum, Relaxed);
    s.word(3).store(min, Relaxed);
    s.word(4).store(max, Relaxed);
    s.word(5).store(v, Relaxed);
    if let Some((wc, ws)) = window {
        s.word(6).store(wc, Relaxed);
        s.word(7).store(ws, Relaxed);
    }
    s.word(8 + i).store(bucket, Relaxed);
}

/// Histogram metadata with the writer's sub-bucket exponent and the declared bucket count.
fn histogram_meta(decl: &FieldDecl, kind: Kind, buckets: Option<u32>) -> FieldMeta {
    let mut meta = decl.meta(kind, ValueType::U64);
    meta.param = HISTOGRAM_K_DEFAULT;
    meta.capacity = buckets.unwrap_or(DEFAULT_BUCKETS);
    meta
}

/// A distribution of `u64` values in log-linear buckets (FORMAT.md §5.5, §5.6): readers show
/// count, sum, min, max, mean and percentiles to within 1.6%. The declaration's capacity is
/// the number of buckets (default [`DEFAULT_BUCKETS`]).
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Histogram {
    slot: Slot,
}

impl Histogram {
    /// Records one value.
    #[inline]
    pub fn record(&self, v: u64) {
        record_histogram(&self.slot, v, None);
    }
}

impl Handle for Histogram {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(histogram_meta(decl, Kind::Histogram, decl.capacity))
    }
    fn bind(slot: Slot) -> Self {
        Histogram { slot }
    }
}

/// A histogram of durations in nanoseconds plus their moving average over the last N
/// (FORMAT.md §5.5), N being the declaration's capacity (default [`DEFAULT_WINDOW`]; the
/// timer has [`DEFAULT_BUCKETS`] buckets).
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Timer {
    slot: Slot,
    ring: RefCell<Ring>,
}

impl Timer {
    /// Records one duration, saturating at `u64::MAX` nanoseconds (584 years).
    pub fn record(&self, d: Duration) {
        self.record_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one duration in nanoseconds.
    pub fn record_ns(&self, ns: u64) {
        let mut ring = self.ring.borrow_mut();
        let pushed_out = ring.push(ns);
        let sum = self.slot.word(7).load(Relaxed).wrapping_add(ns);
        let sum = pushed_out.map_or(sum, |old| sum.wrapping_sub(old));
        record_histogram(&self.slot, ns, Some((ring.values.len() as u64, sum)));
    }

    /// Starts timing; the guard records the elapsed time when dropped.
    pub fn start(&self) -> TimerGuard<'_> {
        TimerGuard {
            timer: self,
            start: Instant::now(),
        }
    }

    /// Runs `f` and records how long it took.
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.start();
        f()
    }
}

impl Handle for Timer {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = histogram_meta(decl, Kind::Timer, None);
        meta.unit = "nanoseconds".into();
        if decl
            .capacity
            .is_some_and(|w| w == 0 || w > mmstats_format::layout::limits::WINDOW_MAX)
        {
            return Err(mmstats_format::FormatError::InvalidField {
                label: decl.label.clone(),
                what: format!(
                    "timer window must be 1 to {}",
                    mmstats_format::layout::limits::WINDOW_MAX
                ),
            }
            .into());
        }
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        let window = match slot.window() {
            0 => DEFAULT_WINDOW,
            w => w,
        };
        Timer {
            slot,
            ring: RefCell::new(Ring::new(window)),
        }
    }
}

/// Times a section of code: records the time since [`Timer::start`] when dropped.
#[derive(Debug)]
#[must_use = "the time is recorded when the guard is dropped"]
pub struct TimerGuard<'a> {
    timer: &'a Timer,
    start: Instant,
}

impl TimerGuard<'_> {
    /// The time elapsed so far.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Drop for TimerGuard<'_> {
    fn drop(&mut self) {
        self.timer.record(self.start.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_keeps_the_last_n() {
        let mut r = Ring::new(3);
        assert_eq!(r.push(1), None);
        assert_eq!(r.push(2), None);
        assert_eq!(r.push(3), None);
        assert_eq!(r.push(4), Some(1));
        assert_eq!(r.push(5), Some(2));
        assert_eq!(r.values.iter().sum::<u64>(), 12);
    }
}
