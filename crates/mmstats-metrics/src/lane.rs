//! The update path's fast lane: a small per-thread cache from a series to the handle this
//! thread resolved for it.
//!
//! A lane is a direct-mapped table of [`SLOTS`] entries. A series' entry is chosen by bits of
//! the address of its `metrics` handle ([`slot`]), which the update already holds in a
//! register, and the entry is checked against the series' unique number. So the target's
//! address takes one load from the thread pointer (the table is a `const` thread-local without
//! a destructor, so reaching it takes no state check) and no load from the handle: the check
//! (one load from the handle, one from the lane, a compare) runs beside it, off the path to the
//! update. A miss goes the long way (the thread's file list, see `series.rs`), which fills the
//! entry; a counter whose increments are multiplied (kibibytes and up) is kept out of the lane,
//! so that a hit adds the value as given.
//!
//! Invariants that make the raw pointers sound:
//! - an entry (both of its halves) is written only by [`Lane::fill`] and [`Lane::clear`], from
//!   the thread that owns the lane and never while a hit runs its update; `fill` stores a
//!   pointer to what a handle held by one of that thread's files (`ThreadFile`) keeps in place:
//!   a counter's word in its mapping (the handle keeps the mapping alive), a boxed histogram;
//! - a file's handles are never moved out, replaced or freed while its `ThreadFile` lives;
//! - a `ThreadFile` empties every lane of its thread ([`Lane::clear`]) before it drops its
//!   handles (its `Drop`), so no entry outlives its handle;
//! - series numbers are never reused (a global 64-bit count), so an entry never answers for a
//!   series other than the one that filled it, even when another handle's address picks the
//!   same entry or a freed handle's address is reused.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::LocalKey;

/// Entries per lane: enough for the series a hot loop touches, small enough to stay in cache.
pub(crate) const SLOTS: usize = 64;

/// One thread's table for one kind of handle: entry `i` is the series number `series[i]` and
/// this thread's target for it, `targets[i]`. Two arrays rather than one of pairs, so that each
/// half of an entry is one load at a fixed offset from the thread pointer.
#[derive(Debug)]
pub(crate) struct Lane<H: 'static> {
    series: [Cell<u64>; SLOTS],
    targets: [Cell<*const H>; SLOTS],
}

/// The entry of the series whose handle is `owner`: bits of the handle's address above its
/// alignment (handles are at least 16 bytes apart), so that handles allocated one after
/// another take different entries. Computed from the address alone, with no load.
#[inline(always)]
pub(crate) fn slot<T>(owner: &T) -> usize {
    (ptr::from_ref(owner).addr() >> 4) % SLOTS
}

impl<H> Lane<H> {
    /// An empty lane (number 0 is never a series).
    pub(crate) const fn new() -> Lane<H> {
        Lane {
            series: [const { Cell::new(0) }; SLOTS],
            targets: [const { Cell::new(ptr::null()) }; SLOTS],
        }
    }

    /// Runs `update` on this thread's handle for `series` (whose entry is `slot`) if the lane
    /// holds it; returns whether it did.
    #[inline(always)]
    pub(crate) fn hit(
        key: &'static LocalKey<Lane<H>>,
        slot: usize,
        series: u64,
        update: impl FnOnce(&H),
    ) -> bool {
        key.try_with(
            #[inline(always)]
            |lane| {
                let i = slot % SLOTS;
                if lane.series[i].get() != series {
                    return false;
                }
                let handle = lane.targets[i].get();
                // SAFETY: the entry was filled by `fill` on this thread with a pointer to what a
                // handle of one of this thread's live `ThreadFile`s keeps in place (a file
                // empties the lane before its handles drop), and numbers are never reused, so
                // `handle` points at a live `H` of this series. Only shared access is made.
                update(unsafe { &*handle });
                true
            },
        )
        .unwrap_or(false)
    }

    /// Remembers `handle` (kept in place by a handle of one of this thread's files) as this
    /// thread's target for `series`, in entry `slot`.
    pub(crate) fn fill(key: &'static LocalKey<Lane<H>>, slot: usize, series: u64, handle: &H) {
        let _ = key.try_with(|lane| {
            let i = slot % SLOTS;
            lane.series[i].set(series);
            lane.targets[i].set(handle);
        });
    }

    /// Forgets every entry of this thread's lane.
    pub(crate) fn clear(key: &'static LocalKey<Lane<H>>) {
        let _ = key.try_with(|lane| {
            for (s, t) in lane.series.iter().zip(&lane.targets) {
                s.set(0);
                t.set(ptr::null());
            }
        });
    }
}

/// A number for a new series, never given out before.
pub(crate) fn next_series() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}
