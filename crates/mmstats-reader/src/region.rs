//! A read-only view of a mapped stats file, word by word: with `wide.rs` (the 64-byte loads it
//! uses for histograms' buckets where the CPU has them) and the `SIGBUS` handler of `fault.rs`,
//! the only `unsafe` code of the reader.
//!
//! Another process writes the mapped bytes while we read them, so this module never forms a
//! reference (`&[u8]`, `&u64`, ...) to the mapping: that would promise the compiler the memory
//! does not change, which is false. It hands out copies of whole words, each read with one
//! atomic 8-byte load, as FORMAT.md §4 asks of every reader (or, for a sequence-counted
//! payload, with the per-byte atomic wide loads §4.2 also allows).
//!
//! # Invariants
//!
//! - The mapping is created from an open file whose size (`fstat`) was at least 256 bytes and a
//!   multiple of 8, and it covers exactly `len` bytes. A conforming writer allocates every byte
//!   before naming the file and never changes its size afterwards (FORMAT.md §6.2).
//! - The mapping starts on a page boundary, so an offset that is a multiple of 8 gives a pointer
//!   aligned for `AtomicU64`.
//! - Every access is an atomic, relaxed, 8-byte load of an in-bounds, 8-aligned word, checked
//!   with a real `if` before any pointer arithmetic. Ordering comes from `fence(Acquire)` in the
//!   callers: relaxed loads are the accesses the standard library documents as sound on
//!   read-only memory ("Atomic accesses to read-only memory" in `core::sync::atomic`).
//! - The mapping is private to this value and lives until it is dropped; no pointer escapes.
//! - A HotSpot JVM's performance data file (`format-spec/HSPERFDATA.md`) is mapped the same
//!   way, from a file of at least 32 bytes, over its whole words. The JVM stores into it with
//!   plain, not atomic, stores; it is another process, outside this program's memory model, so
//!   our atomic loads race with nothing the compiler knows of. Its 8-byte values are 8-aligned,
//!   and an aligned 8-byte store or load is single-copy atomic on the 64-bit CPUs a JVM runs
//!   on, so each load sees a whole old or a whole new value.
//!
//! # Truncation and SIGBUS
//!
//! If some process truncates a mapped file, touching a page past the new end raises `SIGBUS`.
//! Writers never do this (the size is fixed at creation), so it takes a misbehaving or hostile
//! process. [`crate::StatsFile`] compares `fstat`'s size with the mapped length when it opens a
//! file and before every snapshot, but a truncation between that check and the loads cannot be
//! prevented, so every mapping is registered with [`crate::fault`], whose `SIGBUS` handler maps
//! a zero page over the faulting page and marks the mapping faulted; [`Region::faulted`] tells
//! the caller to throw away what it read.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use crate::fault::Guard;

/// A read-only mapping of a whole stats file.
pub(crate) struct Region {
    /// Declared before `map` so that the range is unregistered before it is unmapped.
    guard: Option<Guard>,
    map: MmapRaw,
    len: usize,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("len", &self.len).finish()
    }
}

impl Region {
    /// Maps the first `len` bytes of `file` read-only. `len` must be the file's current size
    /// (checked by the caller with `fstat`), non-zero and a multiple of 8.
    pub(crate) fn map(file: &File, len: u64) -> io::Result<Region> {
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l > 0 && l % 8 == 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad mapping length"))?;
        let map = MmapOptions::new().len(len).map_raw_read_only(file)?;
        if map.len() != len || map.as_ptr().align_offset(8) != 0 {
            return Err(io::Error::other(
                "mapping has an unexpected size or alignment",
            ));
        }
        let guard = Guard::register(map.as_ptr() as usize, len);
        Ok(Region { guard, map, len })
    }

    /// True if a load from the mapping faulted (the file shrank under it): some of it now
    /// reads as zeros, so nothing read from it since it was mapped can be trusted.
    pub(crate) fn faulted(&self) -> bool {
        self.guard.as_ref().is_some_and(Guard::faulted)
    }

    /// Bytes mapped.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Loads the word at byte offset `off` (relaxed, native byte order), or `None` if `off` is not
    /// a multiple of 8 or the word is not inside the mapping.
    #[inline]
    pub(crate) fn load(&self, off: usize) -> Option<u64> {
        if !off.is_multiple_of(8) || off.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY:
        // - `off + 8 <= self.len` was checked above, so the word lies inside the mapping, which
        //   lives as long as `self` (Invariants);
        // - `off % 8 == 0` and the mapping is page-aligned, so the pointer is aligned for
        //   `AtomicU64`, as `from_ptr` requires;
        // - every process touches this word only through 8-byte atomics (FORMAT.md §4), and we
        //   only load, relaxed, which is sound on read-only memory.
        let word =
            unsafe { AtomicU64::from_ptr(self.map.as_ptr().add(off).cast::<u64>().cast_mut()) };
        Some(word.load(Ordering::Relaxed))
    }

    /// The first `i` from `from` on whose word at byte offset `offsets[i]` no longer equals
    /// `expected[i]` (both as loaded, in file order), or whose offset is not an aligned word
    /// inside the mapping (or, if `expected` is the shorter, its length); `None` if every word
    /// is as expected. One load per word and no allocation: what telling an idle file from a
    /// changed one costs.
    pub(crate) fn first_change(
        &self,
        offsets: &[u32],
        expected: &[u64],
        from: usize,
    ) -> Option<usize> {
        let base = self.map.as_ptr().cast::<u64>().cast_mut();
        let n = offsets.len().min(expected.len());
        for i in from..n {
            let off = offsets[i] as usize;
            if !off.is_multiple_of(8) || off + 8 > self.len {
                return Some(i);
            }
            // SAFETY:
            // - `off + 8 <= self.len` was checked just above (`off` came from a `u32`, so the
            //   sum cannot overflow), so the word lies inside the mapping, which lives as long
            //   as `self` (Invariants);
            // - `off % 8 == 0` and the mapping is page-aligned, so the pointer is aligned for
            //   `AtomicU64`, as `from_ptr` requires;
            // - every process touches this word only through 8-byte atomics (FORMAT.md §4),
            //   and we only load, relaxed, which is sound on read-only memory.
            let word = unsafe { AtomicU64::from_ptr(base.add(off / 8)) };
            if word.load(Ordering::Relaxed) != expected[i] {
                return Some(i);
            }
        }
        (n < offsets.len()).then_some(n)
    }

    /// Appends the bytes `[off, off + len)` to `out`, copied word by word with atomic loads, in
    /// file order. `off` must be a multiple of 8; the words covering the range must lie inside
    /// the mapping. Returns `false` (appending nothing) otherwise.
    pub(crate) fn copy_bytes(&self, off: usize, len: usize, out: &mut Vec<u8>) -> bool {
        let Some(end) = off.checked_add(len) else {
            return false;
        };
        let words_end = end.div_ceil(8) * 8;
        if !off.is_multiple_of(8) || words_end > self.len {
            return false;
        }
        let start = out.len();
        out.reserve(words_end - off);
        let mut at = off;
        while at < words_end {
            match self.load(at) {
                Some(w) => out.extend_from_slice(&w.to_ne_bytes()),
                None => {
                    out.truncate(start);
                    return false;
                }
            }
            at += 8;
        }
        out.truncate(start + len);
        true
    }

    /// True if `count` whole words from the 8-aligned offset `off` lie inside the mapping: what
    /// every multi-word load checks once before its loop.
    fn holds_words(&self, off: usize, count: usize) -> bool {
        off.is_multiple_of(8)
            && count
                .checked_mul(8)
                .and_then(|n| n.checked_add(off))
                .is_some_and(|end| end <= self.len)
    }

    /// Loads `count` consecutive words starting at `off` into `out` (cleared first), or returns
    /// `false` if any is out of bounds.
    pub(crate) fn load_words(&self, off: usize, count: usize, out: &mut Vec<u64>) -> bool {
        out.clear();
        if !self.holds_words(off, count) {
            return false;
        }
        out.resize(count, 0);
        self.load_array(off, out)
    }

    /// Loads the `out.len()` consecutive words starting at `off` into `out`, or returns
    /// `false` (leaving `out` as it may have been partly written) if any is out of bounds: a
    /// fixed-size copy, such as a histogram's head, with no allocation.
    pub(crate) fn load_array(&self, off: usize, out: &mut [u64]) -> bool {
        if !self.holds_words(off, out.len()) {
            return false;
        }
        let base = self.map.as_ptr().cast::<u64>().cast_mut();
        let first = off / 8;
        for (i, w) in out.iter_mut().enumerate() {
            // SAFETY:
            // - `off + 8 * out.len() <= self.len` was checked above and `i < out.len()`, so
            //   word `first + i` lies inside the mapping, which lives as long as `self`;
            // - the mapping is page-aligned, so every word index gives an aligned `AtomicU64`,
            //   as `from_ptr` requires;
            // - every process touches this word only through 8-byte atomics (FORMAT.md §4), and
            //   we only load, relaxed, which is sound on read-only memory.
            let word = unsafe { AtomicU64::from_ptr(base.add(first + i)) };
            *w = word.load(Ordering::Relaxed);
        }
        true
    }

    /// Loads `count` consecutive words starting at `off` and gathers the non-zero ones: each
    /// word's position in the run into `indexes`, the word itself (as loaded) into `counts`,
    /// both from their first element on; returns how many it gathered, or `None` (gathering
    /// nothing) if any word is out of bounds or the run is longer than 65,536 words (positions
    /// are 16-bit). What copying a histogram's buckets costs when most are zero.
    ///
    /// The two lists are room to write into, not results: they are lengthened (with zeros) to
    /// at least `count + 8` words when shorter, never shortened, so a caller that keeps them
    /// from one run to the next neither allocates nor clears them again; only the first `n`
    /// entries (the returned count) are this run's. Words are loaded eight at a time: a block
    /// of eight zeros costs its loads and one test, and the words of any other block are
    /// written at the next free place, which moves on only past a non-zero word (no branch on
    /// the values, whose pattern a predictor cannot learn). The lines a few blocks ahead are
    /// prefetched, so that a run's loads overlap instead of waiting on one line at a time. On
    /// a CPU with AVX-512 the whole pairs of blocks are gathered eight words a load instead
    /// (`wide.rs`), the same words into the same places.
    pub(crate) fn gather_nonzero_words(
        &self,
        off: usize,
        count: usize,
        indexes: &mut Vec<u16>,
        counts: &mut Vec<u64>,
    ) -> Option<usize> {
        self.gather_nonzero_words_with(crate::wide::available(), off, count, indexes, counts)
    }

    /// [`Region::gather_nonzero_words`], with 64-byte loads if `wide` (which only
    /// `wide::available()` may make true) or the portable loop.
    fn gather_nonzero_words_with(
        &self,
        wide: bool,
        off: usize,
        count: usize,
        indexes: &mut Vec<u16>,
        counts: &mut Vec<u64>,
    ) -> Option<usize> {
        if !self.holds_words(off, count) || count > usize::from(u16::MAX) + 1 {
            return None;
        }
        if indexes.len() < count + BLOCK {
            indexes.resize(count + BLOCK, 0);
        }
        if counts.len() < count + BLOCK {
            counts.resize(count + BLOCK, 0);
        }
        let base = self.map.as_ptr().cast::<u64>().cast_mut();
        let first = off / 8;
        let load = |j: usize| {
            // SAFETY:
            // - `off + 8 * count <= self.len` was checked above and every caller passes
            //   `j < count`, so word `first + j` lies inside the mapping, which lives as long
            //   as `self` (Invariants);
            // - the mapping is page-aligned, so every word index gives an aligned `AtomicU64`,
            //   as `from_ptr` requires;
            // - every process touches this word only through 8-byte atomics (FORMAT.md §4),
            //   and we only load, relaxed, which is sound on read-only memory.
            let word = unsafe { AtomicU64::from_ptr(base.add(first + j)) };
            word.load(Ordering::Relaxed)
        };
        // The first lines of the run at once, then each line a fixed distance ahead.
        self.prefetch_run(off, PREFETCH_AHEAD.min(count));
        let mut n = 0;
        let mut j = 0;
        #[cfg(target_arch = "x86_64")]
        if wide {
            // Whole pairs of blocks; the loop below takes the rest.
            let lines = count / (2 * BLOCK) * 2;
            // SAFETY:
            // - `wide` is true only when `wide::available()` is (the callers);
            // - `off` is 8-aligned and the `count >= 8 * lines` words from it lie inside the
            //   mapping (checked above), which lives as long as `self`;
            // - `lines` is even, `count <= 65,536` (checked above) and both lists hold
            //   `count + 8` elements (resized above).
            n = unsafe {
                crate::wide::gather_nonzero(base.add(first).cast_const(), lines, indexes, counts)
            };
            j = lines * BLOCK;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = wide;
        while j + BLOCK <= count {
            self.prefetch(off + 8 * (j + PREFETCH_AHEAD).min(count - 1));
            let w: [u64; BLOCK] = std::array::from_fn(|t| load(j + t));
            if w.iter().fold(0, |a, x| a | x) != 0 {
                // `n <= j`, so `n + 8 <= count + 8`, which both lists hold.
                let (to_index, to_count) = (&mut indexes[n..n + BLOCK], &mut counts[n..n + BLOCK]);
                let mut m = 0;
                for (t, w) in w.into_iter().enumerate() {
                    // `m <= t < 8`: the mask only shows the compiler the bound. `j + t <
                    // count <= 65,536`, checked above.
                    to_index[m & (BLOCK - 1)] = (j + t) as u16;
                    to_count[m & (BLOCK - 1)] = w;
                    m += usize::from(w != 0);
                }
                n += m;
            }
            j += BLOCK;
        }
        for j in j..count {
            let w = load(j);
            // `n <= j < count`, within both lists.
            indexes[n] = j as u16;
            counts[n] = w;
            n += usize::from(w != 0);
        }
        Some(n)
    }

    /// Asks the CPU to fetch every cache line of the `words` words from byte offset `off` on
    /// (those inside the mapping), ahead of their loads: see [`Region::prefetch`].
    pub(crate) fn prefetch_run(&self, off: usize, words: usize) {
        let end = off.saturating_add(words.saturating_mul(8)).min(self.len);
        for at in (off..end).step_by(64) {
            self.prefetch(at);
        }
    }

    /// Asks the CPU to fetch the cache line of byte offset `off` ahead of its loads (nothing
    /// if `off` is outside the mapping). A hint only: it reads nothing into the program and
    /// cannot fault, so the loads that follow it start their wait for memory early, and
    /// several such waits overlap.
    #[inline(always)]
    pub(crate) fn prefetch(&self, off: usize) {
        #[cfg(target_arch = "x86_64")]
        if off < self.len {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // SAFETY: `off < self.len`, so the pointer lies inside the mapping (Invariants);
            // a prefetch neither reads into the program nor faults, whatever the page holds.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.map.as_ptr().add(off).cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = off;
    }
}

/// Words [`Region::gather_nonzero_words`] loads and tests together: one cache line.
const BLOCK: usize = 8;

/// How many words ahead of its loads [`Region::gather_nonzero_words`] prefetches: sixteen
/// lines, enough to cover a load from memory at the pace the loop consumes lines.
const PREFETCH_AHEAD: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn region_of(bytes: &[u8]) -> (tempfile::NamedTempFile, Region) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        let r = Region::map(f.as_file(), bytes.len() as u64).unwrap();
        (f, r)
    }

    #[test]
    fn loads_words_in_bounds_only() {
        let bytes: Vec<u8> = (0..64u8).collect();
        let (_f, r) = region_of(&bytes);
        assert_eq!(r.len(), 64);
        assert_eq!(
            r.load(8),
            Some(u64::from_ne_bytes(bytes[8..16].try_into().unwrap()))
        );
        assert_eq!(r.load(56).map(|w| w.to_ne_bytes()[7]), Some(63));
        assert_eq!(r.load(57), None, "misaligned");
        assert_eq!(r.load(64), None, "past the end");
        assert_eq!(r.load(usize::MAX - 3), None, "overflow");
    }

    #[test]
    fn copies_bytes_and_words() {
        let bytes: Vec<u8> = (0..64u8).collect();
        let (_f, r) = region_of(&bytes);
        let mut out = vec![0xAA];
        assert!(r.copy_bytes(16, 13, &mut out));
        assert_eq!(out[0], 0xAA);
        assert_eq!(&out[1..], &bytes[16..29]);
        assert!(!r.copy_bytes(60, 8, &mut out), "runs past the end");
        assert!(!r.copy_bytes(3, 1, &mut out), "misaligned");
        assert_eq!(out.len(), 14);
        let mut words = Vec::new();
        assert!(r.load_words(0, 8, &mut words));
        assert_eq!(words.len(), 8);
        assert!(!r.load_words(8, 8, &mut words));
        assert!(!r.load_words(0, usize::MAX, &mut words));
    }

    #[test]
    fn gathers_the_non_zero_words_of_a_run_into_room_it_keeps() {
        // Runs of zeros longer than a block, single words between them, and a tail shorter
        // than a block.
        let words: Vec<u64> = (0..203u64)
            .map(|i| match i {
                0 | 9 | 31 | 64..=79 | 150 | 201 => i * 7 + 1,
                _ => 0,
            })
            .collect();
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let (_f, r) = region_of(&bytes);
        let (mut indexes, mut counts) = (Vec::new(), Vec::new());
        for (start, count) in [(0, 203), (8, 195), (0, 3), (72, 100), (0, 0)] {
            let n = r
                .gather_nonzero_words(8 * start, count, &mut indexes, &mut counts)
                .expect("in bounds");
            assert_eq!(
                (indexes[..n].to_vec(), counts[..n].to_vec()),
                gathered(&r, false, start, count),
                "the portable loop, run of {count} from word {start}"
            );
            let want: Vec<(u16, u64)> = words[start..start + count]
                .iter()
                .enumerate()
                .filter(|(_, w)| **w != 0)
                .map(|(j, w)| (j as u16, *w))
                .collect();
            let got: Vec<(u16, u64)> = indexes[..n]
                .iter()
                .copied()
                .zip(counts[..n].iter().copied())
                .collect();
            assert_eq!(got, want, "run of {count} from word {start}");
        }
        assert!(indexes.len() >= 203 && counts.len() >= 203, "room kept");
        assert_eq!(
            r.gather_nonzero_words(8, 203, &mut indexes, &mut counts),
            None
        );
        assert_eq!(
            r.gather_nonzero_words(4, 2, &mut indexes, &mut counts),
            None
        );
        let mut head = [0u64; 8];
        assert!(r.load_array(8 * 60, &mut head));
        assert_eq!(head[..], words[60..68]);
        assert!(!r.load_array(8 * 200, &mut head), "runs past the end");
    }

    /// The positions and words [`Region::gather_nonzero_words_with`] gathers from the run of
    /// `count` words at word `start`, the wide way or the portable one.
    fn gathered(r: &Region, wide: bool, start: usize, count: usize) -> (Vec<u16>, Vec<u64>) {
        let (mut indexes, mut counts) = (Vec::new(), Vec::new());
        let n = r
            .gather_nonzero_words_with(wide, 8 * start, count, &mut indexes, &mut counts)
            .expect("in bounds");
        indexes.truncate(n);
        counts.truncate(n);
        (indexes, counts)
    }

    /// Where the CPU has AVX-512, the wide loads gather exactly what the portable loop does,
    /// from runs that start anywhere (not only on a line), up to the longest run (65,536
    /// words), over patterns from empty to full, and into lists kept from a longer run.
    #[test]
    fn wide_loads_gather_what_the_portable_loop_does() {
        let len = (1 << 16) + 64;
        // A cheap generator: every pattern is the same in every run of the test.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: Vec<u64> = (0..len)
            .map(|i| {
                let r = next();
                match (i / 4096) % 4 {
                    0 => 0,
                    1 => u64::from(r % 5 == 0) * (r >> 3),
                    2 => r | 1 << 63,
                    _ => u64::from(r % 97 == 0),
                }
            })
            .collect();
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let (_f, r) = region_of(&bytes);
        let want = |start: usize, count: usize| -> (Vec<u16>, Vec<u64>) {
            words[start..start + count]
                .iter()
                .enumerate()
                .filter(|(_, w)| **w != 0)
                .map(|(j, w)| (j as u16, *w))
                .unzip()
        };
        let runs = [
            (0, 1 << 16),
            (3, 1 << 16),
            (4095, 8193),
            (8191, 679),
            (12_000, 7),
            (12_001, 17),
            // odd numbers of blocks of eight: one, three, and 8,191 with four words after them
            (4100, 8),
            (4101, 27),
            (1, 65_532),
            (5, 0),
        ];
        for (start, count) in runs {
            assert_eq!(
                gathered(&r, false, start, count),
                want(start, count),
                "the portable loop, run of {count} from word {start}"
            );
        }
        assert_eq!(
            r.gather_nonzero_words_with(false, 0, (1 << 16) + 1, &mut Vec::new(), &mut Vec::new()),
            None,
            "longer than 16-bit positions"
        );
        // The loads are chosen as the kernel sees the CPU: on a CPU without them, the scanner
        // runs the portable loop checked above.
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags: Vec<&str> = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("flags"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, f)| f.split_whitespace().collect())
            .unwrap_or_default();
        let needed = ["avx512f", "avx512bw", "avx512vl", "avx512_vbmi2", "popcnt"];
        let has = needed.iter().all(|f| flags.contains(f));
        assert_eq!(crate::wide::available(), has, "flags: {flags:?}");
        if !has {
            return;
        }
        let (mut indexes, mut counts) = (Vec::new(), Vec::new());
        for (start, count) in runs {
            assert_eq!(
                gathered(&r, true, start, count),
                want(start, count),
                "wide loads, run of {count} from word {start}"
            );
            // Into lists kept from the runs before, as a scanner keeps them.
            let n = r
                .gather_nonzero_words_with(true, 8 * start, count, &mut indexes, &mut counts)
                .expect("in bounds");
            assert_eq!(
                (indexes[..n].to_vec(), counts[..n].to_vec()),
                want(start, count)
            );
        }
    }

    #[test]
    fn a_file_truncated_under_the_mapping_reads_zeros_and_is_marked() {
        let bytes = vec![0xABu8; 3 * 4096];
        let (f, r) = region_of(&bytes);
        assert_eq!(r.load(4096), Some(u64::from_ne_bytes([0xAB; 8])));
        assert!(!r.faulted());
        f.as_file().set_len(4096).unwrap();
        // Without the handler this load would end the process with SIGBUS.
        assert_eq!(r.load(2 * 4096 + 8), Some(0));
        assert!(r.faulted());
        let mut words = Vec::new();
        assert!(r.load_words(4096, 1024, &mut words));
        assert!(words.iter().all(|w| *w == 0));
        // The page still backed by the file reads as before.
        assert_eq!(r.load(0), Some(u64::from_ne_bytes([0xAB; 8])));
    }

    #[test]
    fn refuses_bad_lengths() {
        let f = tempfile::tempfile().unwrap();
        assert!(Region::map(&f, 0).is_err());
        assert!(Region::map(&f, 12).is_err());
    }
}
