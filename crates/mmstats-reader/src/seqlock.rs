//! The reader's side of the sequence counter that guards every multi-word value
//! (FORMAT.md §4.2).

use std::sync::atomic::{Ordering, fence};

use mmstats_format::layout::limits::{SEQ_READ_ATTEMPTS, SEQ_YIELD_EVERY};
use mmstats_format::layout::slot::histogram as hist;
use mmstats_format::{ByteOrder, used_buckets};

use crate::region::Region;

/// The even value of a sequence word seen before a copy; [`SeqLock::validate`] checks that it
/// did not change during the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

/// The sequence word at the start of one value slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeqLock<'a> {
    region: &'a Region,
    offset: usize,
    order: ByteOrder,
}

/// Every attempt at a consistent copy failed: the sequence word stayed odd or kept changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The writer never finished an update in time (or died in the middle of one).
    Busy,
    /// The slot is not inside the mapping (cannot happen for a validated record).
    OutOfBounds,
}

impl<'a> SeqLock<'a> {
    /// The sequence word at `offset` of a file in byte order `order`.
    pub(crate) fn new(region: &'a Region, offset: usize, order: ByteOrder) -> SeqLock<'a> {
        SeqLock {
            region,
            offset,
            order,
        }
    }

    /// Step 1: loads the sequence word with acquire ordering; `None` while it is odd (a write is
    /// in progress) or unreadable.
    pub(crate) fn begin_read(&self) -> Option<Stamp> {
        let raw = self.region.load(self.offset)?;
        fence(Ordering::Acquire);
        self.order.word(raw).is_multiple_of(2).then_some(Stamp(raw))
    }

    /// Steps 3 to 5: after the payload was loaded, an acquire fence and a second load of the
    /// sequence word; `true` if it still equals `stamp`, so the copy is consistent.
    pub(crate) fn validate(&self, stamp: Stamp) -> bool {
        fence(Ordering::Acquire);
        self.region.load(self.offset) == Some(stamp.0)
    }

    /// Copies the slot's `words` words (the sequence word first) into `out`, each turned into its
    /// value with the file's byte order, retrying as FORMAT.md §4.2 step 6 says. Returns the
    /// sequence word of the consistent copy, as loaded.
    pub(crate) fn read(&self, words: usize, out: &mut Vec<u64>) -> Result<u64, Failure> {
        self.read_with(words, out)
    }

    /// Like [`SeqLock::read`] for a histogram or timer slot (FORMAT.md §5.5): copies the eight
    /// head words into `out.head`, then, of the buckets that can be non-zero (up to the bucket
    /// of `max`), only the non-zero ones, as `(index, count)` ([`SparseCopy::indexes`] and
    /// [`SparseCopy::counts`]): reading a full-range histogram costs what its values use, not
    /// its capacity, and its zero buckets are neither kept nor decoded.
    pub(crate) fn read_histogram(
        &self,
        k: u32,
        capacity: usize,
        out: &mut SparseCopy,
    ) -> Result<u64, Failure> {
        let order = self.order;
        let SparseCopy {
            head,
            indexes,
            counts,
            len,
        } = out;
        // The head and the first buckets are fetched while the head's load, which says how
        // many buckets are in use, is waited for.
        self.region.prefetch_run(
            self.offset,
            (hist::BUCKETS + capacity).min(HEAD_START_WORDS),
        );
        let copied = self.attempts(|| {
            *len = 0;
            if !self.region.load_array(self.offset, head) {
                return false;
            }
            let (count, max) = (order.word(head[hist::COUNT]), order.word(head[hist::MAX]));
            let used = used_buckets(count, max, k, capacity);
            if used == 0 {
                return true;
            }
            match self.region.gather_nonzero_words(
                self.offset + 8 * hist::BUCKETS,
                used,
                indexes,
                counts,
            ) {
                Some(n) => {
                    *len = n;
                    true
                }
                None => false,
            }
        })?;
        if order != ByteOrder::NATIVE {
            for w in head.iter_mut().chain(counts[..*len].iter_mut()) {
                *w = w.swap_bytes();
            }
        }
        Ok(copied)
    }

    /// Copies `words` words into `out` within one validated attempt, then turns them into
    /// their values with the file's byte order.
    fn read_with(&self, words: usize, out: &mut Vec<u64>) -> Result<u64, Failure> {
        let copied = self.attempts(|| self.region.load_words(self.offset, words, out))?;
        if self.order != ByteOrder::NATIVE {
            for w in out.iter_mut() {
                *w = w.swap_bytes();
            }
        }
        Ok(copied)
    }

    /// Runs `copy` (which loads the payload, `false` if it is out of bounds) between
    /// [`SeqLock::begin_read`] and [`SeqLock::validate`] until one attempt is consistent, as
    /// FORMAT.md §4.2 step 6 says; the sequence word of that attempt, as loaded.
    fn attempts(&self, mut copy: impl FnMut() -> bool) -> Result<u64, Failure> {
        for attempt in 1..=SEQ_READ_ATTEMPTS {
            if let Some(stamp) = self.begin_read() {
                if !copy() {
                    return Err(Failure::OutOfBounds);
                }
                if self.validate(stamp) {
                    return Ok(stamp.0);
                }
            } else if self.region.load(self.offset).is_none() {
                return Err(Failure::OutOfBounds);
            }
            if attempt % SEQ_YIELD_EVERY == 0 {
                std::thread::yield_now();
            }
        }
        Err(Failure::Busy)
    }
}

/// How many words of a histogram slot, from its sequence word on, are prefetched before its
/// head is loaded: the head and the first 120 buckets, sixteen cache lines.
const HEAD_START_WORDS: usize = 128;

/// Room for the copy of one histogram or timer slot ([`SeqLock::read_histogram`]): its head
/// words and its non-zero buckets, reused from one slot to the next (and from one file to the
/// next) without being allocated or cleared again.
#[derive(Debug, Default)]
pub(crate) struct SparseCopy {
    /// The sequence word and the seven head words.
    pub(crate) head: [u64; hist::BUCKETS],
    /// Room for the index of each non-zero bucket; the first `len` are the copy's.
    indexes: Vec<u16>,
    /// Room for their counts.
    counts: Vec<u64>,
    /// How many non-zero buckets the copy has.
    len: usize,
}

impl SparseCopy {
    /// The index of each non-zero bucket of the copy, ascending.
    pub(crate) fn indexes(&self) -> &[u16] {
        &self.indexes[..self.len]
    }

    /// Their counts.
    pub(crate) fn counts(&self) -> &[u64] {
        &self.counts[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn region_of(words: &[u64]) -> (tempfile::NamedTempFile, Region) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for w in words {
            f.write_all(&w.to_ne_bytes()).unwrap();
        }
        f.flush().unwrap();
        let r = Region::map(f.as_file(), 8 * words.len() as u64).unwrap();
        (f, r)
    }

    #[test]
    fn even_sequence_reads_and_odd_fails() {
        let (_f, r) = region_of(&[4, 10, 20, 7, 30]);
        let lock = SeqLock::new(&r, 0, ByteOrder::NATIVE);
        let mut out = Vec::new();
        assert_eq!(lock.read(3, &mut out), Ok(4), "the stamp of the copy");
        assert_eq!(out, vec![4, 10, 20]);
        let odd = SeqLock::new(&r, 24, ByteOrder::NATIVE);
        assert_eq!(odd.begin_read(), None);
        assert_eq!(odd.read(2, &mut out), Err(Failure::Busy));
        let outside = SeqLock::new(&r, 32, ByteOrder::NATIVE);
        assert_eq!(outside.read(2, &mut out), Err(Failure::OutOfBounds));
    }

    #[test]
    fn swaps_words_of_the_other_byte_order() {
        let other = match ByteOrder::NATIVE {
            ByteOrder::Little => ByteOrder::Big,
            ByteOrder::Big => ByteOrder::Little,
        };
        // seq 2 and value 5 as the other order stores them
        let (_f, r) = region_of(&[2u64.swap_bytes(), 5u64.swap_bytes()]);
        let lock = SeqLock::new(&r, 0, other);
        let mut out = Vec::new();
        assert_eq!(
            lock.read(2, &mut out),
            Ok(2u64.swap_bytes()),
            "the stamp as loaded"
        );
        assert_eq!(out, vec![2, 5]);
        // the parity is judged after swapping: 1 swapped is even in native order
        let (_f2, r2) = region_of(&[1u64.swap_bytes()]);
        assert_eq!(SeqLock::new(&r2, 0, other).begin_read(), None);
    }

    #[test]
    fn a_histogram_copy_keeps_only_its_non_zero_buckets_up_to_that_of_max() {
        // seq 2, count 3, sum, min 0, max 2 (bucket 2), last, window count and sum, then
        // buckets 0..=3 with bucket 3 beyond the bucket of max (a torn or stale word)
        let slot = [2u64, 3, 3, 0, 2, 2, 0, 0, 1, 0, 2, 9];
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let stored: Vec<u64> = slot
                .iter()
                .map(|w| {
                    if order == ByteOrder::NATIVE {
                        *w
                    } else {
                        w.swap_bytes()
                    }
                })
                .collect();
            let (_f, r) = region_of(&stored);
            let mut out = SparseCopy::default();
            let seq = SeqLock::new(&r, 0, order).read_histogram(5, 4, &mut out);
            assert_eq!(seq, Ok(stored[0]));
            assert_eq!(out.head[..], slot[..8]);
            assert_eq!(
                (out.indexes(), out.counts()),
                (&[0u16, 2][..], &[1u64, 2][..])
            );
        }
    }
}
