//! Distributions: [`Histogram`] of `u64` values and [`Timer`] of durations, in the log-linear
//! buckets of FORMAT.md §5.5 and §5.6.
//!
//! Readers derive everything from the slot: `label.count`, `.sum`, `.min`, `.max`, `.mean`,
//! `.p50`, `.p90`, `.p99`, `.p999` (within 1.6% of a recorded value at that rank, k = 5), and
//! for a timer `.avg`, the mean of the last N durations.
//!
//! # Thread safety
//!
//! Both handles are `Send` but not `Sync` and not `Clone`. One thread records, so a record is
//! a few plain stores under the field's sequence counter (FORMAT.md §4.2); the writer keeps
//! its own copies of count, sum, min and max, so it never loads them back from the mapping.

use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use mmstats_format::layout::limits::{HISTOGRAM_K_DEFAULT, WINDOW_MAX};
use mmstats_format::layout::slot::histogram::{
    BUCKETS, COUNT, LAST, MAX, MIN, SUM, WINDOW_COUNT, WINDOW_SUM,
};
use mmstats_format::{
    FieldError, FieldMeta, Kind, SlotError, ValueType, bucket_index, full_bucket_count,
};

use crate::average::{DEFAULT_WINDOW, Ring};
use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// The sub-bucket exponent every histogram of this writer uses.
const K: u32 = HISTOGRAM_K_DEFAULT as u32;

/// The writer's side of a histogram slot: its own copies of the summary words.
#[derive(Debug)]
struct Core {
    slot: Slot,
    last_bucket: usize,
    count: Cell<u64>,
    sum: Cell<u64>,
    min: Cell<u64>,
    max: Cell<u64>,
}

impl Core {
    fn new(slot: Slot) -> Core {
        let buckets = (slot.words() - BUCKETS).max(1);
        Core {
            last_bucket: buckets - 1,
            count: Cell::new(slot.word(COUNT).load(Relaxed)),
            sum: Cell::new(slot.word(SUM).load(Relaxed)),
            min: Cell::new(slot.word(MIN).load(Relaxed)),
            max: Cell::new(slot.word(MAX).load(Relaxed)),
            slot,
        }
    }

    /// The bucket word of `v`; computed before an update begins.
    #[inline(always)]
    fn bucket(&self, v: u64) -> usize {
        BUCKETS + bucket_index(v, K).min(self.last_bucket)
    }

    /// Stores the summary words and bumps bucket word `b`; the caller holds the write guard.
    #[inline(always)]
    fn write(&self, v: u64, b: usize) {
        let count = self.count.get().wrapping_add(1);
        let sum = self.sum.get().wrapping_add(v);
        self.count.set(count);
        self.sum.set(sum);
        let s = &self.slot;
        s.word(COUNT).store(count, Relaxed);
        s.word(SUM).store(sum, Relaxed);
        if v < self.min.get() {
            self.min.set(v);
            s.word(MIN).store(v, Relaxed);
        }
        if v > self.max.get() {
            self.max.set(v);
            s.word(MAX).store(v, Relaxed);
        }
        s.word(LAST).store(v, Relaxed);
        let bucket = s.word(b);
        bucket.store(bucket.load(Relaxed).wrapping_add(1), Relaxed);
    }
}

/// A histogram of `u64` values in log-linear buckets (FORMAT.md §5.5, §5.6) with sub-bucket
/// exponent 5: values below 64 are exact, larger ones within 1.6%. The bucket count is
/// [`full_bucket_count`]`(5)` = 1920 (every `u64`), or the declaration's capacity if smaller
/// (larger values then count in the last bucket).
///
/// # Thread safety
///
/// `Send` but not `Sync`: one thread records, so [`Histogram::record`] takes no lock and makes
/// no system call.
#[derive(Debug)]
pub struct Histogram {
    core: Core,
}

impl Histogram {
    /// Records `v`: count, sum, min, max, last and one bucket, in one update of the sequence
    /// counter.
    #[inline]
    pub fn record(&self, v: u64) {
        let b = self.core.bucket(v);
        let _g = WriteGuard::begin(self.core.slot.first());
        self.core.write(v, b);
    }
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.core.count.get()
    }
    /// Their sum (wrapping).
    pub fn sum(&self) -> u64 {
        self.core.sum.get()
    }
}

/// The metadata of a histogram or timer slot with `buckets` buckets.
fn histogram_meta(decl: &FieldDecl, kind: Kind, buckets: u32) -> FieldMeta {
    let mut meta = decl.meta(kind, ValueType::U64);
    meta.param = HISTOGRAM_K_DEFAULT;
    meta.capacity = buckets;
    meta
}

impl Handle for Histogram {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let buckets = decl.capacity.unwrap_or(full_bucket_count(K));
        Ok(histogram_meta(decl, Kind::Histogram, buckets))
    }
    fn bind(slot: Slot) -> Self {
        Histogram {
            core: Core::new(slot),
        }
    }
}

/// A histogram of durations in nanoseconds (unit `nanoseconds`), plus the mean of the last N
/// durations (N is the declaration's capacity, default 100, kept in the handle's memory).
///
/// ```
/// # let tmp = tempfile::tempdir()?;
/// # let stats = mmstats::Stats::create(mmstats::Options::new().dir(tmp.path()))?;
/// let latency = stats.timer("latency", 100).register()?;
/// {
///     let _t = latency.start(); // records when dropped
/// }
/// let took = latency.start().stop();
/// latency.record(took);
/// let n = latency.time(|| 6 * 7);
/// assert_eq!((n, latency.count()), (42, 4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Thread safety
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Timer {
    core: Core,
    ring: Ring<u64>,
}

impl Timer {
    /// Starts timing; the returned guard records the elapsed time when dropped (or when
    /// [`TimerGuard::stop`] is called).
    #[inline]
    pub fn start(&self) -> TimerGuard<'_> {
        TimerGuard {
            timer: self,
            start: Instant::now(),
        }
    }
    /// Records a duration, saturating at `u64::MAX` nanoseconds (584 years).
    #[inline]
    pub fn record(&self, d: Duration) {
        self.record_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }
    /// Records a duration given in nanoseconds.
    #[inline]
    pub fn record_ns(&self, ns: u64) {
        let b = self.core.bucket(ns);
        let (window_count, window_sum) = self.ring.push(ns);
        let _g = WriteGuard::begin(self.core.slot.first());
        self.core.write(ns, b);
        let s = &self.core.slot;
        s.word(WINDOW_COUNT).store(window_count, Relaxed);
        s.word(WINDOW_SUM).store(window_sum, Relaxed);
    }
    /// Runs `f` and records how long it took.
    #[inline]
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let _t = self.start();
        f()
    }
    /// Durations recorded.
    pub fn count(&self) -> u64 {
        self.core.count.get()
    }
    /// The moving window's size N.
    pub fn window(&self) -> usize {
        self.ring.capacity()
    }
}

impl Handle for Timer {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let window = decl.capacity.unwrap_or(DEFAULT_WINDOW);
        if window == 0 || window > WINDOW_MAX {
            return Err(FieldError::BadSlot {
                label: decl.label.clone(),
                kind: SlotError::OutOfRange {
                    what: "timer window",
                    min: 1,
                    max: WINDOW_MAX,
                },
            }
            .into());
        }
        let mut meta = histogram_meta(decl, Kind::Timer, full_bucket_count(K));
        meta.unit = "nanoseconds".into();
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        Timer {
            core: Core::new(slot),
            ring: Ring::new(DEFAULT_WINDOW as usize),
        }
    }
    fn bind_decl(slot: Slot, decl: &FieldDecl) -> Self {
        Timer {
            core: Core::new(slot),
            ring: Ring::new(decl.capacity.unwrap_or(DEFAULT_WINDOW) as usize),
        }
    }
}

/// A running measurement from [`Timer::start`]: records the elapsed time into its timer when
/// dropped, or when stopped.
#[derive(Debug)]
#[must_use = "the guard records when dropped; dropping it at once measures nothing"]
pub struct TimerGuard<'a> {
    timer: &'a Timer,
    start: Instant,
}

impl TimerGuard<'_> {
    /// Records the elapsed time now and returns it.
    #[inline]
    pub fn stop(self) -> Duration {
        let d = self.start.elapsed();
        self.timer.record(d);
        std::mem::forget(self);
        d
    }
}

impl Drop for TimerGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.timer.record(self.start.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::average::Average;
    use crate::options::Options;
    use crate::region::Region;
    use crate::seqlock::{begin_read, validate};
    use crate::stats::Stats;
    use std::path::Path;
    use std::sync::atomic::AtomicBool;

    /// The value offset and word count of every field, read from the file's bytes.
    fn slots(path: &Path) -> Vec<(String, usize, usize)> {
        let bytes = std::fs::read(path).unwrap();
        let (_, fields) = mmstats_format::decode_file(&bytes).unwrap();
        fields
            .into_iter()
            .map(|f| {
                (
                    f.meta.label,
                    f.value_offset as usize,
                    f.value_length as usize / 8,
                )
            })
            .collect()
    }

    /// A consistent copy of a slot's payload (words after `seq`) through the reader's side of
    /// FORMAT.md §4.2, or `None` after 64 failed attempts.
    fn read(region: &Region, off: usize, words: usize, out: &mut Vec<u64>) -> bool {
        let seq = region.word(off).unwrap();
        for attempt in 1..=64 {
            if let Some(stamp) = begin_read(seq) {
                out.clear();
                out.extend((1..words).map(|i| region.word(off + 8 * i).unwrap().load(Relaxed)));
                if validate(seq, stamp) {
                    return true;
                }
            }
            if attempt % 8 == 0 {
                std::thread::yield_now();
            }
        }
        false
    }

    /// Checks a histogram payload (words after `seq`): the counts agree and the mean lies
    /// between min and max.
    fn check_histogram(p: &[u64], window: u64) -> u64 {
        let (count, sum, min, max) = (p[0], p[1], p[2], p[3]);
        let buckets: u64 = p[7..].iter().sum();
        assert_eq!(count, buckets, "count is the sum of the buckets");
        assert!(p[5] <= window, "window_count {} > {window}", p[5]);
        if count > 0 {
            assert!(min <= max);
            let mean = sum as f64 / count as f64;
            assert!(
                min as f64 <= mean && mean <= max as f64,
                "mean {mean} outside [{min}, {max}]"
            );
        } else {
            assert_eq!((min, max, sum), (u64::MAX, 0, 0));
        }
        count
    }

    #[test]
    fn readers_never_see_a_torn_histogram_timer_or_average() {
        let tmp = tempfile::tempdir().unwrap();
        let stats = Stats::create(Options::new().dir(tmp.path())).unwrap();
        let timer = stats.timer("t", 50).register().unwrap();
        let hist: Histogram = stats
            .register(FieldDecl {
                capacity: Some(64),
                ..FieldDecl::new("h")
            })
            .unwrap();
        let avg: Average<u64> = stats.average("a").register().unwrap();
        let layout = slots(stats.path());
        let find = |l: &str| {
            let (_, off, words) = layout.iter().find(|(label, ..)| label == l).unwrap();
            (*off, *words)
        };
        let (t_off, t_words) = find("t");
        let (h_off, h_words) = find("h");
        let (a_off, a_words) = find("a");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(stats.path())
            .unwrap();
        let region = Region::map(&file, file.metadata().unwrap().len() as usize).unwrap();
        let stop = AtomicBool::new(false);
        let (reads, last) = std::thread::scope(|s| {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 1u64;
                while !stop.load(Relaxed) {
                    // Values spread over many buckets, larger than the 64 buckets hold.
                    let v = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) + 1;
                    hist.record(v);
                    avg.record(i);
                    if i.is_multiple_of(16) {
                        timer.record_ns(v);
                    }
                    i += 1;
                    // A short pause, so that readers of the 72-word slot succeed often enough
                    // while updates still land in the middle of their copies.
                    for _ in 0..32 {
                        std::hint::spin_loop();
                    }
                }
            });
            let mut p = Vec::new();
            let mut reads = 0u64;
            let mut last = [0u64; 3];
            while reads < 30_000 {
                if read(&region, h_off, h_words, &mut p) {
                    let c = check_histogram(&p, 0);
                    assert!(c >= last[0], "count went back");
                    last[0] = c;
                    reads += 1;
                }
                if read(&region, a_off, a_words, &mut p) {
                    let (count, sum) = (p[0], p[1]);
                    assert_eq!(sum, count * (count + 1) / 2, "torn average");
                    assert!(count >= last[1]);
                    last[1] = count;
                }
                if reads.is_multiple_of(16) && read(&region, t_off, t_words, &mut p) {
                    last[2] = check_histogram(&p, 50);
                    assert_eq!(p[5], last[2].min(50));
                }
            }
            stop.store(true, Relaxed);
            (reads, last)
        });
        assert_eq!(reads, 30_000);
        assert!(
            last.iter().all(|c| *c > 0),
            "the writer ran while the reader read"
        );
        eprintln!("{reads} reads; counts at the end {last:?}");
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        assert_send::<Histogram>();
        assert_send::<Timer>();
    }

    #[test]
    fn the_default_covers_every_u64() {
        assert_eq!(full_bucket_count(K), 1920);
        assert_eq!(bucket_index(u64::MAX, K), 1919);
    }
}
