//! The handles `metrics` hands out, and how each resolves to a field of the calling thread's
//! own file: the update path.
//!
//! Each thread keeps, per recorder, its stats file and one entry per counter and histogram
//! number, filled on the thread's first use of the handle. An update finds its handle in the
//! thread's lane (`lane.rs`: a thread-local access and a compare), or else by number in the
//! thread's file list, and writes through the mmstats handle: the plain load and store of the
//! field's word.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{OnceLock, Weak};
use std::thread::LocalKey;

use metrics::{CounterFn, GaugeFn, HistogramFn};
use mmstats::{Histogram, SharedCounter, SharedGauge, Stats};

use crate::files::Files;
use crate::lane::{self, Lane, next_series};
use crate::placement::code_block_start;
use crate::spec::Spec;
use crate::unit;

/// Bucket count of every histogram: k = 5 covers values up to about 2^40 (1,100 s in
/// nanoseconds) in distinct buckets, within 1.6%; larger values count in the last bucket.
const HISTOGRAM_BUCKETS: u32 = 1152;

/// One thread's entry for one handle.
#[derive(Debug)]
enum Entry<H> {
    /// Not used in this thread yet.
    Unresolved,
    /// Could not be registered (no file, file full): updates are dropped.
    Failed,
    /// The field in this thread's file.
    Ready(H),
}

/// One thread's file for one recorder, and its resolved handles (boxed, so that the thread's
/// lanes can point at them: see `lane.rs`).
#[derive(Debug)]
struct ThreadFile {
    // Declared first so that it is dropped (folded into the totals, removed) first; the
    // handles would keep working on the removed file anyway.
    stats: Option<Stats>,
    counters: Vec<Entry<mmstats::Counter>>,
    histograms: Vec<Entry<Box<Histogram>>>,
}

impl Drop for ThreadFile {
    fn drop(&mut self) {
        // Before the handles go: no lane entry may outlive what it points at.
        Lane::clear(&COUNTER_LANE);
        Lane::clear(&HISTOGRAM_LANE);
    }
}

thread_local! {
    /// The calling thread's files, by recorder number.
    static THREAD: RefCell<Vec<Option<ThreadFile>>> = const { RefCell::new(Vec::new()) };
    /// The calling thread's recently used counters.
    static COUNTER_LANE: Lane<AtomicU64> = const { Lane::new() };
    /// The calling thread's recently used histograms.
    static HISTOGRAM_LANE: Lane<Histogram> = const { Lane::new() };
}

/// Where a series' handles live: its recorder's number, its own number within the recorder,
/// and its number among all series (the lane key).
#[derive(Debug, Clone, Copy)]
struct Place {
    rec: usize,
    id: usize,
    series: u64,
}

/// How one kind of handle goes through the update path: where a thread's file keeps them
/// (`S`, a handle whose target never moves while it lives), and what the lane points at (`T`).
struct Path<S: 'static, T: 'static> {
    lane: &'static LocalKey<Lane<T>>,
    list: fn(&mut ThreadFile) -> &mut Vec<Entry<S>>,
    target: fn(&S) -> &T,
}

/// Counters: the lane points at the counter's word in the mapped file.
const COUNTERS: Path<mmstats::Counter, AtomicU64> = Path {
    lane: &COUNTER_LANE,
    list: |f| &mut f.counters,
    target: mmstats::Counter::word,
};

/// Histograms: the lane points at the boxed handle.
const HISTOGRAMS: Path<Box<Histogram>, Histogram> = Path {
    lane: &HISTOGRAM_LANE,
    list: |f| &mut f.histograms,
    target: |h| h,
};

/// A use of a handle that the thread's lane does not hold: finds this thread's handle for the
/// series at `at` in the thread's file list (resolving it on the thread's first use), fills
/// the lane's entry `slot` (unless `slot` is `None`: a handle kept out of the lane) and runs
/// `update` on it. Does nothing while the thread is being torn down.
///
/// The hit path (each handle's update) tries the lane inline and calls its own `#[cold]`
/// function that leads here, so that the hit path keeps no stack frame for the miss's
/// arguments.
#[inline]
fn miss<S, T>(
    path: &Path<S, T>,
    at: Place,
    slot: Option<usize>,
    resolve: impl FnOnce(&Stats) -> Option<S>,
    owner: &Weak<Files>,
    update: impl Fn(&T),
) {
    let _ = THREAD.try_with(|t| {
        if let Ok(mut files) = t.try_borrow_mut()
            && let Some(Some(file)) = files.get_mut(at.rec)
        {
            match (path.list)(file).get(at.id) {
                Some(Entry::Ready(h)) => {
                    let target = (path.target)(h);
                    if let Some(slot) = slot {
                        Lane::fill(path.lane, slot, at.series, target);
                    }
                    return update(target);
                }
                Some(Entry::Failed) => return,
                _ => {}
            }
        }
        slow(t, path, at, slot, resolve, owner, update);
    });
}

/// The first use of a handle in this thread: creates the thread's file if needed and
/// registers the field.
#[cold]
fn slow<S, T>(
    t: &RefCell<Vec<Option<ThreadFile>>>,
    path: &Path<S, T>,
    at: Place,
    slot: Option<usize>,
    resolve: impl FnOnce(&Stats) -> Option<S>,
    owner: &Weak<Files>,
    update: impl Fn(&T),
) {
    let Place { rec, id, series } = at;
    let Some(owner) = owner.upgrade() else { return };
    let Ok(mut files) = t.try_borrow_mut() else {
        return;
    };
    if files.len() <= rec {
        files.resize_with(rec + 1, || None);
    }
    let file = files[rec].get_or_insert_with(|| ThreadFile {
        stats: Stats::create(owner.thread_options()).ok(),
        counters: Vec::new(),
        histograms: Vec::new(),
    });
    match (path.list)(file).get(id) {
        Some(Entry::Ready(h)) => return update((path.target)(h)),
        Some(Entry::Failed) => return,
        _ => {}
    }
    let handle = file.stats.as_ref().and_then(resolve);
    let entries = (path.list)(file);
    if entries.len() <= id {
        entries.resize_with(id + 1, || Entry::Unresolved);
    }
    entries[id] = match handle {
        Some(h) => {
            let target = (path.target)(&h);
            if let Some(slot) = slot {
                Lane::fill(path.lane, slot, series, target);
            }
            update(target);
            Entry::Ready(h)
        }
        None => Entry::Failed,
    };
}

/// A counter: per-thread fields, plus a shared one for `absolute` and late descriptions.
#[derive(Debug)]
pub(crate) struct CounterSeries {
    files: Weak<Files>,
    at: Place,
    pub(crate) spec: Spec,
    /// Increments are multiplied by this (bytes of a kibibyte).
    scale: u64,
    used: AtomicBool,
    shared: OnceLock<Option<SharedCounter>>,
}

impl CounterSeries {
    pub(crate) fn new(files: Weak<Files>, rec: usize, id: usize, spec: Spec) -> CounterSeries {
        CounterSeries {
            files,
            at: Place {
                rec,
                id,
                series: next_series(),
            },
            scale: spec.scale.max(1.0) as u64,
            spec,
            used: AtomicBool::new(false),
            shared: OnceLock::new(),
        }
    }

    /// Whether any thread has registered a field for it.
    pub(crate) fn used(&self) -> bool {
        self.used.load(Relaxed)
    }

    /// The shared field (registered with the help text known now).
    fn shared(&self) -> Option<&SharedCounter> {
        self.shared
            .get_or_init(|| {
                let files = self.files.upgrade()?;
                files.register_shared(files.decl(&self.spec, None))
            })
            .as_ref()
    }

    /// Puts the help text in a file: on the shared field if that is registered now, else (it
    /// was registered before the description) on a zero-valued field in the descriptions file.
    pub(crate) fn publish_description(&self) {
        if self.shared.get().is_some() {
            if let Some(files) = self.files.upgrade() {
                let _: Option<SharedCounter> = files.register_note(files.decl(&self.spec, None));
            }
        } else {
            let _ = self.shared();
        }
    }
}

/// What [`mmstats::Counter::incr`] does to the counter's word: the plain load and store of its
/// single writer.
#[inline(always)]
fn add_to(word: &AtomicU64, n: u64) {
    word.store(word.load(Relaxed).wrapping_add(n), Relaxed);
}

impl CounterSeries {
    /// An increment that the thread's lane does not hold: every increment of a scaled counter
    /// (see `increment`), and an unscaled one's first in a while.
    #[cold]
    #[inline(never)]
    fn increment_missed(&self, value: u64) {
        let n = value.wrapping_mul(self.scale);
        miss(
            &COUNTERS,
            self.at,
            (self.scale == 1).then(|| lane::slot(self)),
            |stats| {
                self.used.store(true, Relaxed);
                let files = self.files.upgrade()?;
                stats.register(files.decl(&self.spec, None)).ok()
            },
            &self.files,
            |w| add_to(w, n),
        );
    }
}

impl CounterFn for CounterSeries {
    /// Adds `value` to this thread's field. Only counters whose values are stored as given
    /// (scale 1, every unit but the multiples of bytes) enter the lane, so a hit adds `value`
    /// without a multiply, which would lengthen the hit path measurably; a counter in
    /// kibibytes and up takes the miss path's lookup on every increment.
    #[inline]
    fn increment(&self, value: u64) {
        code_block_start!();
        if !Lane::hit(&COUNTER_LANE, lane::slot(self), self.at.series, |w| {
            add_to(w, value)
        }) {
            self.increment_missed(value);
        }
    }

    /// Raises the series' shared field to `value` (a counter never goes down): for counters
    /// mirrored from a source that reports totals. Readers add it to the per-thread fields.
    fn absolute(&self, value: u64) {
        if let Some(c) = self.shared() {
            c.raise_to(value.wrapping_mul(self.scale));
        }
    }
}

/// A gauge: one shared field for the whole process, registered at its first update.
#[derive(Debug)]
pub(crate) struct GaugeSeries {
    files: Weak<Files>,
    pub(crate) spec: Spec,
    shared: OnceLock<Option<SharedGauge>>,
}

impl GaugeSeries {
    pub(crate) fn new(files: Weak<Files>, spec: Spec) -> GaugeSeries {
        GaugeSeries {
            files,
            spec,
            shared: OnceLock::new(),
        }
    }

    /// The declaration of the gauge's field with the help known now.
    fn decl(&self, files: &Files) -> mmstats::FieldDecl {
        let mut decl = files.decl(&self.spec, None);
        // One field for the process: files of several processes add up.
        decl.combine = Some(mmstats::Combine::Sum);
        decl
    }

    /// Runs `op` on the shared field with `value`: the field is registered by the first
    /// update, which takes the slow path (so that the others keep no stack frame for it).
    #[inline(always)]
    fn update(&self, value: f64, op: fn(&SharedGauge, f64)) {
        match self.shared.get() {
            Some(Some(g)) => op(g, value),
            Some(None) => {}
            None => self.first_update(value, op),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_update(&self, value: f64, op: fn(&SharedGauge, f64)) {
        let field = self.shared.get_or_init(|| {
            let files = self.files.upgrade()?;
            files.register_shared(self.decl(&files))
        });
        if let Some(g) = field {
            op(g, value);
        }
    }

    /// Puts a description that came after the gauge's first update in the descriptions file,
    /// on a zero-valued field (one registered later carries its help itself).
    pub(crate) fn publish_description(&self) {
        if self.shared.get().is_some_and(Option::is_some)
            && let Some(files) = self.files.upgrade()
        {
            let _: Option<SharedGauge> = files.register_note(self.decl(&files));
        }
    }
}

impl GaugeFn for GaugeSeries {
    fn increment(&self, value: f64) {
        code_block_start!();
        self.update(value * self.spec.scale, SharedGauge::add);
    }
    fn decrement(&self, value: f64) {
        code_block_start!();
        self.update(-value * self.spec.scale, SharedGauge::add);
    }
    fn set(&self, value: f64) {
        code_block_start!();
        self.update(value * self.spec.scale, SharedGauge::set);
    }
}

/// A histogram: per-thread fields of integers (see the crate docs for the resolution).
#[derive(Debug)]
pub(crate) struct HistogramSeries {
    files: Weak<Files>,
    at: Place,
    pub(crate) spec: Spec,
    used: AtomicBool,
    described: OnceLock<()>,
}

impl HistogramSeries {
    pub(crate) fn new(files: Weak<Files>, rec: usize, id: usize, spec: Spec) -> HistogramSeries {
        HistogramSeries {
            files,
            at: Place {
                rec,
                id,
                series: next_series(),
            },
            spec,
            used: AtomicBool::new(false),
            described: OnceLock::new(),
        }
    }

    /// Whether any thread has registered a field for it.
    pub(crate) fn used(&self) -> bool {
        self.used.load(Relaxed)
    }

    /// Puts the help text in the shared file, on an empty histogram of this series.
    pub(crate) fn publish_description(&self) {
        self.described.get_or_init(|| {
            if let Some(files) = self.files.upgrade() {
                let _: Option<Histogram> =
                    files.register_shared(files.decl(&self.spec, Some(HISTOGRAM_BUCKETS)));
            }
        });
    }

    /// A record (already in the integer domain) that the thread's lane does not hold.
    #[cold]
    #[inline(never)]
    fn record_missed(&self, v: u64) {
        miss(
            &HISTOGRAMS,
            self.at,
            Some(lane::slot(self)),
            |stats| {
                self.used.store(true, Relaxed);
                let files = self.files.upgrade()?;
                stats
                    .register(files.decl(&self.spec, Some(HISTOGRAM_BUCKETS)))
                    .ok()
                    .map(Box::new)
            },
            &self.files,
            |h: &Histogram| h.record(v),
        );
    }
}

impl HistogramFn for HistogramSeries {
    #[inline]
    fn record(&self, value: f64) {
        code_block_start!();
        let Some(v) = unit::histogram_integer(value * self.spec.scale) else {
            return;
        };
        if !Lane::hit(&HISTOGRAM_LANE, lane::slot(self), self.at.series, |h| {
            h.record(v)
        }) {
            self.record_missed(v);
        }
    }
}

#[cfg(all(
    test,
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod tests {
    use super::*;

    /// Where each update function's code starts.
    fn starts() -> [(&'static str, usize); 5] {
        [
            (
                "counter increment",
                <CounterSeries as CounterFn>::increment as *const () as usize,
            ),
            (
                "gauge increment",
                <GaugeSeries as GaugeFn>::increment as *const () as usize,
            ),
            (
                "gauge decrement",
                <GaugeSeries as GaugeFn>::decrement as *const () as usize,
            ),
            (
                "gauge set",
                <GaugeSeries as GaugeFn>::set as *const () as usize,
            ),
            (
                "histogram record",
                <HistogramSeries as HistogramFn>::record as *const () as usize,
            ),
        ]
    }

    #[test]
    fn every_update_function_starts_a_block_of_code() {
        for (name, start) in starts() {
            assert_eq!(start % 64, 0, "{name} starts at {start:#x}");
        }
    }
}
