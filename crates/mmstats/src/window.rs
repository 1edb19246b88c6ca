//! Counts and sums in per-second slots, for rates and means over the last minutes
//! (FORMAT.md §5.7).

use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};

use mmstats_format::{FieldMeta, Kind};

use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::handle::GaugeValue;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// Slots of a windowed field unless the declaration gives a count: one minute of one-second
/// slots.
pub const DEFAULT_SLOTS: u32 = 60;

/// Slot width in seconds.
const WIDTH: u64 = 1;

/// Values recorded in one-second slots: readers show the rate (values per second) and the
/// mean over the last S seconds, S being the declaration's capacity (default
/// [`DEFAULT_SLOTS`]). `Windowed<u64>` with `record(1)` counts events per second.
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Windowed<T> {
    slot: Slot,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> Windowed<T> {
    /// Records one value now.
    pub fn record(&self, v: T) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.record_at(now, v);
    }

    /// Records one value at Unix time `secs`.
    fn record_at(&self, secs: u64, v: T) {
        let s = &self.slot;
        let slots = self.slot.capacity() as u64;
        let period = secs / WIDTH;
        let j = 3 + 3 * (period % slots) as usize;
        let w = v.to_wide();
        let count = s.word(1).load(Relaxed).wrapping_add(1);
        let sum = T::wide_add(s.word(2).load(Relaxed), w);
        let (slot_count, slot_sum) = if s.word(j).load(Relaxed) == period {
            (
                s.word(j + 1).load(Relaxed).wrapping_add(1),
                T::wide_add(s.word(j + 2).load(Relaxed), w),
            )
        } else {
            (1, w)
        };
        let _g = WriteGuard::begin(s.first());
        s.word(1).store(count, Relaxed);
        s.word(2).store(sum, Relaxed);
        s.word(j).store(period, Relaxed);
        s.word(j + 1).store(slot_count, Relaxed);
        s.word(j + 2).store(slot_sum, Relaxed);
    }
}

impl<T: GaugeValue> Handle for Windowed<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::Windowed, T::TYPE);
        meta.param = WIDTH as u16;
        meta.capacity = decl.capacity.unwrap_or(DEFAULT_SLOTS);
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        Windowed {
            slot,
            _t: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, Stats};

    #[test]
    fn slots_reset_when_their_period_comes_round_again() {
        let tmp = tempfile::tempdir().unwrap();
        let stats = Stats::create(Options::new().dir(tmp.path())).unwrap();
        let w = stats.register::<Windowed<u64>>(FieldDecl {
            capacity: Some(4),
            ..FieldDecl::new("w")
        });
        let w = w.unwrap();
        w.record_at(100, 5);
        w.record_at(100, 7);
        w.record_at(101, 1);
        w.record_at(104, 2); // same slot as 100, four periods later
        let s = &w.slot;
        let word = |i: usize| s.word(i).load(Relaxed);
        assert_eq!((word(1), word(2)), (4, 15));
        // Period 100 and 104 share slot 0; it now holds only period 104.
        assert_eq!((word(3), word(4), word(5)), (104, 1, 2));
        assert_eq!((word(6), word(7), word(8)), (101, 1, 1));
        assert_eq!(word(0) % 2, 0);
    }
}
