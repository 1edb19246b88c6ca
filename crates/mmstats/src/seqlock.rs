//! The per-field sequence counter that keeps multi-word values from tearing (FORMAT.md §4.2).
//!
//! The writer makes the sequence word odd, stores the payload words, then makes it even again;
//! a reader accepts a copy only if the sequence word was the same even number before and after
//! it. Every payload word is itself an atomic, so there is no data race at all, only copies a
//! reader throws away.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU64, fence};

/// An update in progress: the sequence word is odd until the guard is dropped.
#[derive(Debug)]
pub(crate) struct WriteGuard<'a> {
    seq: &'a AtomicU64,
    end: u64,
}

impl<'a> WriteGuard<'a> {
    /// Starts an update (§4.2 writer steps 1 and 2). Only the slot's single writer calls this.
    #[inline]
    pub(crate) fn begin(seq: &'a AtomicU64) -> WriteGuard<'a> {
        // The writer's own last store; `| 1` makes it odd even if an earlier update was cut
        // short by a panic between the odd and the even store.
        let odd = seq.load(Relaxed) | 1;
        seq.store(odd, Relaxed);
        fence(Release);
        WriteGuard {
            seq,
            end: odd.wrapping_add(1),
        }
    }
}

impl Drop for WriteGuard<'_> {
    /// Ends the update (§4.2 writer step 4): the sequence word is even again.
    #[inline]
    fn drop(&mut self) {
        self.seq.store(self.end, Release);
    }
}

/// A reader's view of the sequence word before a copy (§4.2 reader step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

/// Reader step 1: the stamp to validate a copy against, or `None` while an update is in
/// progress.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn begin_read(seq: &AtomicU64) -> Option<Stamp> {
    let s = seq.load(Acquire);
    s.is_multiple_of(2).then_some(Stamp(s))
}

/// Reader steps 3 to 5: true if the words loaded since `stamp` form a consistent copy.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn validate(seq: &AtomicU64, stamp: Stamp) -> bool {
    fence(Acquire);
    seq.load(Relaxed) == stamp.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_makes_the_word_odd_then_even() {
        let seq = AtomicU64::new(4);
        {
            let _g = WriteGuard::begin(&seq);
            assert_eq!(seq.load(Relaxed), 5);
            assert_eq!(begin_read(&seq), None);
        }
        assert_eq!(seq.load(Relaxed), 6);
        let stamp = begin_read(&seq).unwrap();
        assert!(validate(&seq, stamp));
        drop(WriteGuard::begin(&seq));
        assert!(!validate(&seq, stamp));
    }

    #[test]
    fn an_odd_word_left_by_a_cut_update_recovers() {
        let seq = AtomicU64::new(7);
        drop(WriteGuard::begin(&seq));
        assert_eq!(seq.load(Relaxed), 8);
    }
}
