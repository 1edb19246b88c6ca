//! Shared fields (FORMAT.md §8): one-word counters and gauges that any thread of the writer
//! updates with atomic operations, for values that have one meaning for the whole process (a
//! gauge set from any thread) rather than one per thread.
//!
//! Every other handle is single-writer and takes no atomic read-modify-write; these are the
//! exception, and cost what an atomic costs: use them where a value cannot be split per thread.

use std::sync::atomic::Ordering::Relaxed;

use mmstats_format::{FieldMeta, Kind, ValueType};

use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::region::{SharedSlot, Slot};

/// A shared `f64` gauge: `Send + Sync`, set and moved from any thread. `set` is one atomic
/// store; `add` a compare-and-swap loop.
#[derive(Debug)]
pub struct SharedGauge {
    slot: SharedSlot,
}

impl SharedGauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.slot.word().store(v.to_bits(), Relaxed);
    }
    /// Adds `d` (subtracts for a negative `d`), atomically with respect to every other update.
    #[inline]
    pub fn add(&self, d: f64) {
        let _ = self.slot.word().fetch_update(Relaxed, Relaxed, |w| {
            Some((f64::from_bits(w) + d).to_bits())
        });
    }
    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.slot.word().load(Relaxed))
    }
}

impl Handle for SharedGauge {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Gauge, ValueType::F64))
    }
    fn bind(slot: Slot) -> Self {
        SharedGauge {
            slot: SharedSlot::new(slot),
        }
    }
}

/// A shared `u64` counter: `Send + Sync`. `add` is an atomic `fetch_add`; `raise_to` an atomic
/// `fetch_max`, for counters mirrored from an absolute source.
#[derive(Debug)]
pub struct SharedCounter {
    slot: SharedSlot,
}

impl SharedCounter {
    /// Adds `n`, wrapping.
    #[inline]
    pub fn add(&self, n: u64) {
        self.slot.word().fetch_add(n, Relaxed);
    }
    /// Raises the value to `v` if it is below (a counter never goes down).
    #[inline]
    pub fn raise_to(&self, v: u64) {
        self.slot.word().fetch_max(v, Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.slot.word().load(Relaxed)
    }
}

impl Handle for SharedCounter {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Counter, ValueType::U64))
    }
    fn bind(slot: Slot) -> Self {
        SharedCounter {
            slot: SharedSlot::new(slot),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, Stats};

    #[test]
    fn shared_fields_take_updates_from_every_thread() {
        let tmp = tempfile::tempdir().unwrap();
        let stats = Stats::create(Options::new().dir(tmp.path())).unwrap();
        let gauge: SharedGauge = stats.register(FieldDecl::new("g")).unwrap();
        let counter: SharedCounter = stats.register(FieldDecl::new("c")).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        gauge.add(1.0);
                        gauge.add(-0.5);
                        counter.add(2);
                    }
                });
            }
        });
        assert_eq!(gauge.get(), 20_000.0);
        assert_eq!(counter.get(), 80_000);
        counter.raise_to(10);
        assert_eq!(counter.get(), 80_000, "never goes down");
        counter.raise_to(90_000);
        assert_eq!(counter.get(), 90_000);
        gauge.set(-3.0);
        assert_eq!(gauge.get(), -3.0);
    }
}
