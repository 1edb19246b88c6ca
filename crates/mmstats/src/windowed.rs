//! Counts and sums per period of time, for rates and means over the last minute
//! ([`Windowed`], FORMAT.md §5.7).
//!
//! A value recorded at Unix time `t` goes into period `floor(t / W)`, slot `period mod S`; a
//! slot still holding an older period is reset first. Readers take only the slots of the last
//! S periods, so "events per second over the last 60 s" and "mean over the last 60 s" decay to
//! nothing when the writer goes idle, with no work from the writer.
//!
//! The time comes from the coarse real-time clock (`CLOCK_REALTIME_COARSE`, read from the vDSO
//! without a system call), which costs less than half of `SystemTime::now()` (benchmark
//! `record`, group `clock`) and is exact enough for slots a second wide.
//!
//! # Thread safety
//!
//! `Send` but not `Sync` and not `Clone`, like every handle.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;

use mmstats_format::layout::slot::windowed::{
    COUNT, PERIOD, PERIOD_COUNT, PERIOD_SUM, PERIOD_WORDS, PERIODS, SUM,
};
use mmstats_format::{FieldMeta, Kind};
use nix::time::{ClockId, clock_gettime};

use crate::average::{Acc, AccOf, Numeric};
use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// The default number of slots when the declaration gives none: a minute of 1 s slots.
pub const DEFAULT_SLOTS: u32 = 60;

/// Counts and sums of the values recorded in each of the last S periods of W seconds
/// (FORMAT.md §5.7); S is the declaration's capacity (default [`DEFAULT_SLOTS`]), W its width
/// (default 1: [`crate::Register::width`], `#[stat(width = N)]`). Readers show `label.count` (since
/// creation), `label.rate` (values per second over the window) and `label.mean`.
///
/// ```
/// # let tmp = tempfile::tempdir()?;
/// # let stats = mmstats::Stats::create(mmstats::Options::new().dir(tmp.path()))?;
/// let requests = stats.windowed::<u64>("requests", 60).register()?;
/// let bytes = stats.windowed::<u64>("bytes", 60).register()?;
/// requests.incr(); // one event: the rate is events per second
/// bytes.record(1500); // the mean is bytes per request over the last minute
/// assert_eq!(requests.count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Thread safety
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Windowed<T: Numeric> {
    slot: Slot,
    width: u64,
    slots: u64,
    count: Cell<u64>,
    sum: Cell<AccOf<T>>,
    /// The Unix second of the last record, and what it maps to.
    second: Cell<u64>,
    period: Cell<u64>,
    /// Word index of the current period's slot.
    base: Cell<usize>,
    period_count: Cell<u64>,
    period_sum: Cell<AccOf<T>>,
    _t: PhantomData<T>,
}

/// The current Unix time in whole seconds from the coarse real-time clock.
#[inline]
fn now_secs() -> u64 {
    match clock_gettime(ClockId::CLOCK_REALTIME_COARSE) {
        Ok(ts) => u64::try_from(ts.tv_sec()).unwrap_or(0),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

impl<T: Numeric> Windowed<T> {
    /// Records `v` now.
    #[inline]
    pub fn record(&self, v: T) {
        self.record_at(now_secs(), v);
    }

    /// Records `v` at Unix second `secs` (for replaying timestamped events; times should not
    /// go backwards by more than the window).
    #[inline]
    pub fn record_at(&self, secs: u64, v: T) {
        if secs != self.second.get() {
            self.enter(secs);
        }
        let w = v.widen();
        let count = self.count.get().wrapping_add(1);
        let sum = self.sum.get().add(w);
        let pc = self.period_count.get().wrapping_add(1);
        let ps = self.period_sum.get().add(w);
        self.count.set(count);
        self.sum.set(sum);
        self.period_count.set(pc);
        self.period_sum.set(ps);
        let base = self.base.get();
        let s = &self.slot;
        let _g = WriteGuard::begin(s.first());
        s.word(COUNT).store(count, Relaxed);
        s.word(SUM).store(sum.to_wide(), Relaxed);
        if pc == 1 {
            // First value of the period: the slot is (re)claimed for it.
            s.word(base + PERIOD).store(self.period.get(), Relaxed);
        }
        s.word(base + PERIOD_COUNT).store(pc, Relaxed);
        s.word(base + PERIOD_SUM).store(ps.to_wide(), Relaxed);
    }

    /// Moves to the period of Unix second `secs`.
    #[cold]
    fn enter(&self, secs: u64) {
        self.second.set(secs);
        let p = secs / self.width;
        if p == self.period.get() {
            return;
        }
        self.period.set(p);
        let base = PERIODS + PERIOD_WORDS * (p % self.slots) as usize;
        self.base.set(base);
        if self.slot.word(base + PERIOD).load(Relaxed) == p {
            self.period_count
                .set(self.slot.word(base + PERIOD_COUNT).load(Relaxed));
            self.period_sum.set(AccOf::<T>::from_wide(
                self.slot.word(base + PERIOD_SUM).load(Relaxed),
            ));
        } else {
            // The slot holds an older period (or none): it restarts at (p, 0, 0) with the
            // next store, all under one sequence update.
            self.period_count.set(0);
            self.period_sum.set(AccOf::<T>::default());
        }
    }

    /// Records one event: `record(1)`, for event rates.
    #[inline]
    pub fn incr(&self)
    where
        T: From<u8>,
    {
        self.record(T::from(1));
    }

    /// Values recorded since creation.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// The slot width W in seconds.
    pub fn width(&self) -> u64 {
        self.width
    }

    fn with_width(slot: Slot, width: u64) -> Windowed<T> {
        let slots = ((slot.words() - PERIODS) / PERIOD_WORDS).max(1) as u64;
        Windowed {
            width: width.max(1),
            slots,
            count: Cell::new(slot.word(COUNT).load(Relaxed)),
            sum: Cell::new(AccOf::<T>::from_wide(slot.word(SUM).load(Relaxed))),
            second: Cell::new(u64::MAX),
            period: Cell::new(u64::MAX),
            base: Cell::new(PERIODS),
            period_count: Cell::new(0),
            period_sum: Cell::new(AccOf::<T>::default()),
            slot,
            _t: PhantomData,
        }
    }
}

impl<T: Numeric> Handle for Windowed<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::Windowed, T::TYPE);
        meta.param = decl.width.unwrap_or(1);
        meta.capacity = decl.capacity.unwrap_or(DEFAULT_SLOTS);
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        Self::with_width(slot, 1)
    }
    fn bind_decl(slot: Slot, decl: &FieldDecl) -> Self {
        Self::with_width(slot, u64::from(decl.width.unwrap_or(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_agrees_with_system_time() {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let coarse = now_secs();
        assert!(coarse.abs_diff(sys) <= 1, "{coarse} vs {sys}");
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        assert_send::<Windowed<f64>>();
    }
}
