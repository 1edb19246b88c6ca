//! The interval engine: the one place where two samples become rates, per-interval means,
//! per-interval histograms and windowed rates, with the rules of FORMAT.md §12 for threads
//! that end, processes that exit or restart, and counters that wrap.
//!
//! [`Intervals::update`] takes every snapshot of one scan, groups them into processes
//! (FORMAT.md §6.5) and returns a [`Sample`]: for each process its [`Series`] (one per series key, FORMAT.md §3.5,
//! summed over its files) and, for a per-thread view, each file's own share of them. Every tool
//! (line output, full-screen view, web API, history, Prometheus output) reads its numbers from
//! a `Sample`, so the same files give the same numbers everywhere.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, UNIX_EPOCH};
//! use mmstats_reader::{FieldMeta, FieldValue, FileInfo, FormatVersion, Intervals, Kind, Num,
//!     Snapshot, Value, ValueType};
//!
//! let counter = Arc::new(FieldMeta::new("jobs", Kind::Counter, ValueType::U64));
//! let file = |at: u64, v: u64| Snapshot {
//!     path: "/s/batch-7-7.mmstats".into(),
//!     info: Arc::new(FileInfo { pid: Some(7), tid: Some(7), created: Some(UNIX_EPOCH),
//!         ..FileInfo::new(FormatVersion::V2, (1, 1)) }),
//!     taken: UNIX_EPOCH + Duration::from_secs(at),
//!     listed: None,
//!     appeared: None,
//!     fold_seq: None,
//!     fields: vec![FieldValue { meta: Arc::clone(&counter), value: Ok(Value::Number(Num::U(v))) }].into(),
//!     settled: true,
//!     liveness: None,
//! };
//! let mut engine = Intervals::new().assume_alive();
//! engine.update(&[file(10, 100)]);
//! let sample = engine.update(&[file(12, 150)]);
//! let jobs = sample.combined().into_iter().find(|s| s.meta.label == "jobs").unwrap();
//! assert_eq!(jobs.number(None), Some(25.0)); // 50 jobs in 2 s
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use mmstats_format::{Combine, FieldMeta, HistogramValue, Kind, Num, Value, WindowSummary};

use crate::clock::unix_seconds;
use crate::liveness::by_identity;
use crate::process::ProcessId;
use crate::snapshot::{FieldValue, Snapshot};
use crate::writer::{FileInfo, Liveness};
use mmstats_format::merge;
use places::{Map, Places};

/// What happened to one label during an interval.
#[derive(Debug, Clone, PartialEq)]
pub enum Interval {
    /// A counter's increase and its rate per second.
    Counter {
        /// The increase.
        delta: f64,
        /// The increase per second.
        rate: f64,
    },
    /// An average's values recorded in the interval.
    Average {
        /// How many.
        count: u64,
        /// Their sum.
        sum: f64,
    },
    /// The values a histogram or timer recorded in the interval (bucket differences), shared
    /// by the process's series and its files' (one copy of each difference).
    Histogram(Arc<HistogramValue>),
    /// A windowed field's rate and mean over its window (FORMAT.md §5.7), boxed so that an
    /// interval (kept in every series) stays three words.
    Window(Box<WindowSummary>),
}

/// One label of one process (or one file, or combined over processes) in a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metadata of the first file that had the label.
    pub meta: Arc<FieldMeta>,
    /// The value now: a counter's continuous total (it never goes down, FORMAT.md §12); the
    /// merged histogram, average or window; a gauge combined by its rule over live files; the
    /// newest constant, text or timestamp. `None` when there is no single value (constants
    /// that differ across processes: see `distinct`).
    pub value: Option<Value>,
    /// What happened since the previous sample; `None` on a process's first sample and for
    /// kinds without intervals (gauges, constants, texts, timestamps, moving averages).
    pub interval: Option<Interval>,
    /// How many files contributed.
    pub files: usize,
    /// Constants, texts and `none`-rule fields that differ between files or processes: each
    /// distinct value, in order of appearance (empty when `value` is set).
    pub distinct: Box<[Value]>,
}

/// A list that samples share: a process whose files did not change keeps the same allocation
/// from one sample to the next, so an idle process costs no copy ([`Shared::same`] tells).
#[derive(Debug, PartialEq)]
pub struct Shared<T>(Arc<[T]>);

impl<T> Shared<T> {
    /// True if both are the same allocation (and so hold the same items).
    pub fn same(&self, other: &Shared<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared(Arc::from(Vec::new()))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Self {
        Shared(Arc::from(v))
    }
}

impl<T> FromIterator<T> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Shared(iter.into_iter().collect())
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One file of a process, with its own share of each series.
#[derive(Debug, Clone)]
pub struct FileSample {
    /// The file.
    pub path: PathBuf,
    /// Its writer.
    pub info: Arc<FileInfo>,
    /// Its series: its own values, and as `interval` what it added to its process's.
    pub series: Shared<Series>,
}

/// One process in a sample.
#[derive(Debug, Clone)]
pub struct ProcessSample {
    /// Who it is.
    pub id: ProcessId,
    /// Its program name (from the file name's `{CMD}` part, else `/proc/<pid>/comm`), shared
    /// from one sample to the next.
    pub cmd: Arc<str>,
    /// Alive, or dead and why.
    pub liveness: Liveness,
    /// When its files were read (the latest of them).
    pub taken: SystemTime,
    /// Seconds since its previous sample; `None` on its first.
    pub seconds: Option<f64>,
    /// Its series, summed over its files.
    pub series: Shared<Series>,
    /// Its files, threads first by thread id, then its process files.
    pub files: Shared<FileSample>,
}

/// Everything one scan says, process by process.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The processes, by pid.
    pub processes: Vec<ProcessSample>,
    /// The final continuous totals of processes that exited since the engine started
    /// (counters, averages and histograms), so that a sum over processes never goes down.
    pub exited: Shared<Series>,
}

/// Remembers the previous sample of every process to compute the next intervals.
///
/// A process whose files hand over the same values as at its previous sample (the scanner
/// shares them, [`Snapshot::same_values`]) twice in a row gets that sample's series again:
/// every interval zero, every total as it was, and the same allocation
/// ([`Shared::same`]), so an idle process costs neither work nor memory from one sample to
/// the next, and tools can skip what they worked out from it before.
#[derive(Debug)]
pub struct Intervals {
    /// The processes of the previous update, in its order: processes come in the same order
    /// from one scan to the next, so each is found at the next place (see [`places`]).
    remembered: Vec<ProcessId>,
    /// What is remembered of each of them; an update takes each out (`None`) as it finds it.
    memory: Vec<Option<Memory>>,
    /// When the previous update's files were read, and when the list of them was settled
    /// ([`Snapshot::listed`]): a process first seen after it whose files were created since
    /// then did everything it counts within the interval.
    last: Option<(SystemTime, SystemTime)>,
    exited: Vec<Series>,
    /// `exited` as handed out, rebuilt when it changes.
    exited_shared: Shared<Series>,
    alive: fn(&FileInfo) -> Liveness,
}

/// What the engine keeps of a process between samples: its previous sample and the files it
/// was made from. Those files' values (shared with the scanner, not copied) are what the next
/// sample's intervals start from, and the sample's summed series are the process's continuous
/// totals.
#[derive(Debug)]
struct Memory {
    taken: SystemTime,
    /// When the list of the files it was made from was settled ([`Snapshot::listed`]; `taken`
    /// for files not read by a scan): a file first seen at the next sample and created after
    /// this was missed by no scan, and did all it counts within that sample's interval.
    listed: SystemTime,
    /// `None` for a process first seen after an update: nothing remembered of it but when that
    /// update's files were read.
    made: Option<Made>,
}

impl Memory {
    /// The process's series as of its previous sample: the continuous totals of its summed
    /// labels among them.
    fn series(&self) -> &[Series] {
        self.made.as_ref().map_or(&[], |m| &m.series[..])
    }
}

/// A process's previous sample and the files it was made from: when the next scan hands
/// over the same values again, the sample is the same (see [`Made::idle`]).
#[derive(Debug)]
struct Made {
    /// Each file as read, in scan order.
    inputs: Vec<Input>,
    cmd: Arc<str>,
    /// The input whose file gave `cmd`.
    named_by: usize,
    liveness: Liveness,
    series: Shared<Series>,
    files: Shared<FileSample>,
    /// True if the sample was made from the same values as the one before it, so that every
    /// interval in it is zero and every total as before: the sample of the same values once
    /// more is this one again.
    idle: bool,
    /// No file has a windowed field (whose summary moves with the clock).
    timeless: bool,
}

/// One file as the engine read it.
#[derive(Debug)]
struct Input {
    path: PathBuf,
    info: Arc<FileInfo>,
    fold_seq: Option<u64>,
    fields: Arc<[FieldValue]>,
}

impl Input {
    fn of(s: &Snapshot) -> Input {
        Input {
            path: s.path.clone(),
            info: Arc::clone(&s.info),
            fold_seq: s.fold_seq,
            fields: Arc::clone(&s.fields),
        }
    }

    /// True if `s` is this file with the same values (the scanner handed the same ones over).
    fn unchanged(&self, s: &Snapshot) -> bool {
        Arc::ptr_eq(&self.fields, &s.fields)
            && self.fold_seq == s.fold_seq
            && self.unchanged_identity(s)
    }

    /// True if `s` is this file, its writer described as before.
    fn unchanged_identity(&self, s: &Snapshot) -> bool {
        self.path == s.path && (Arc::ptr_eq(&self.info, &s.info) || self.info == s.info)
    }
}

impl Made {
    /// True if `files` are the files this sample was made from, each with the same values.
    fn unchanged(&self, files: &[&Snapshot]) -> bool {
        self.inputs.len() == files.len()
            && self.inputs.iter().zip(files).all(|(i, s)| i.unchanged(s))
    }
}

impl Input {
    /// This file's value of `f`'s series as last read, if it had one of the same kind and type
    /// (`j` is where `f` is in its file now: mostly where it was).
    fn value_of(&self, j: usize, f: &FieldValue) -> Option<&Value> {
        let key = f.meta.series_key();
        let g = match self.fields.get(j) {
            Some(g) if Arc::ptr_eq(&g.meta, &f.meta) || g.meta.series_key() == key => g,
            _ => self.fields.iter().find(|g| g.meta.series_key() == key)?,
        };
        (g.meta.kind == f.meta.kind && g.meta.value_type == f.meta.value_type).then_some(())?;
        g.value.as_ref().ok()
    }
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals::new()
    }
}

/// True for kinds whose values are summed over a process's files and have intervals.
fn summed(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Counter | Kind::Average | Kind::Histogram | Kind::Timer
    )
}

fn liveness_of(info: &FileInfo) -> Liveness {
    by_identity(info)
}

fn always_alive(_: &FileInfo) -> Liveness {
    Liveness::Alive
}

impl Intervals {
    /// An engine with no memory, deciding liveness from each process's identity (FORMAT.md
    /// §6.3).
    pub fn new() -> Intervals {
        Intervals {
            remembered: Vec::new(),
            memory: Vec::new(),
            last: None,
            exited: Vec::new(),
            exited_shared: Shared::default(),
            alive: liveness_of,
        }
    }

    /// The same, but taking every process as alive (for tests and for files copied from
    /// another machine).
    pub fn assume_alive(mut self) -> Intervals {
        self.alive = always_alive;
        self
    }

    /// Turns one scan's snapshots into a sample, and remembers it for the next.
    pub fn update<'a>(&mut self, snapshots: impl IntoIterator<Item = &'a Snapshot>) -> Sample {
        let snapshots: Vec<&Snapshot> = snapshots.into_iter().collect();
        let (groups, grouped) = group_by_process(&snapshots);
        let mut processes = Vec::with_capacity(groups.len());
        let old_ids = std::mem::take(&mut self.remembered);
        let mut old = std::mem::take(&mut self.memory);
        let mut ids = Vec::with_capacity(groups.len());
        let mut kept = Vec::with_capacity(groups.len());
        let mut places: Places<&ProcessId> = Places::default();
        let mut next = 0;
        for (id, range) in &groups {
            let files = &grouped[range.clone()];
            let at = places.find(old_ids.len(), next, id, |i| old_ids.get(i));
            let mut prev = at.and_then(|i| {
                next = i + 1;
                old[i].take()
            });
            let liveness = liveness_of_process(prev.as_ref(), files, self.alive);
            if let Some(sample) = prev.as_mut().and_then(|p| again(p, id, files, &liveness)) {
                ids.push(id.clone());
                kept.push(prev);
                processes.push(sample);
                continue;
            }
            let prev = prev.or_else(|| {
                self.last.map(|(taken, listed)| Memory {
                    taken,
                    listed,
                    made: None,
                })
            });
            let (sample, memory) = process_sample(id.clone(), files, prev, liveness);
            if memory.is_some() {
                ids.push(id.clone());
                kept.push(memory);
            }
            processes.push(sample);
        }
        self.remembered = ids;
        self.memory = kept;
        // Processes not seen again have exited: keep their final totals.
        let mut exited = false;
        for gone in old.into_iter().flatten() {
            for total in gone.series().iter().filter(|t| summed(t.meta.kind)) {
                add_exited(&mut self.exited, total.clone());
                exited = true;
            }
        }
        if exited {
            self.exited_shared = Shared::from(self.exited.clone());
        }
        self.last = snapshots
            .iter()
            .map(|s| s.taken)
            .max()
            .map(|taken| (taken, listed_of(&snapshots, taken)))
            .or(self.last);
        // ids are unique: an unstable sort gives the one order, without a buffer
        if !processes.is_sorted_by(|a, b| a.id <= b.id) {
            processes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        Sample {
            processes,
            exited: self.exited_shared.clone(),
        }
    }
}

/// The snapshots grouped into processes (FORMAT.md §6.5), in order of each process's first
/// file: each process with the range its files take in the returned list, where they keep
/// their order. A process's files are mostly next to each other in a scan (sorted by path), so
/// a process is looked up by hash only when its id differs from the previous file's.
fn group_by_process<'a>(
    snapshots: &[&'a Snapshot],
) -> (Vec<(ProcessId, std::ops::Range<usize>)>, Vec<&'a Snapshot>) {
    let mut ids: Vec<(ProcessId, usize)> = Vec::new();
    let mut index: Map<ProcessId, usize> =
        Map::with_capacity_and_hasher(snapshots.len(), Default::default());
    // the process of each snapshot, by its place in `ids`
    let mut of: Vec<usize> = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let id = ProcessId::of(&s.info, &s.path);
        let i = match of.last() {
            Some(&last) if ids[last].0 == id => last,
            _ => *index.entry(id).or_insert_with_key(|id| {
                ids.push((id.clone(), 0));
                ids.len() - 1
            }),
        };
        ids[i].1 += 1;
        of.push(i);
    }
    // each process's start in the grouped list, then every snapshot put in its place
    let mut next = Vec::with_capacity(ids.len());
    let mut start = 0;
    for (_, n) in &ids {
        next.push(start);
        start += *n;
    }
    let mut groups = Vec::with_capacity(ids.len());
    for ((id, n), &from) in ids.into_iter().zip(&next) {
        groups.push((id, from..from + n));
    }
    let mut grouped: Vec<Option<&Snapshot>> = vec![None; snapshots.len()];
    for (s, i) in snapshots.iter().zip(of) {
        grouped[next[i]] = Some(*s);
        next[i] += 1;
    }
    (groups, grouped.into_iter().flatten().collect())
}

/// Whether a process is alive: asked once per sample, except that a process found dead stays
/// dead while its first file is the same. Death is final: its pid may be reused, but by
/// another process (one with another start time, or, for a file that records none, one that
/// a pid alone cannot tell from the writer and that must not bring it back to life).
fn liveness_of_process(
    prev: Option<&Memory>,
    files: &[&Snapshot],
    alive: fn(&FileInfo) -> Liveness,
) -> Liveness {
    let Some(first) = files.first() else {
        return Liveness::Alive;
    };
    if let Some(made) = prev.and_then(|p| p.made.as_ref())
        && matches!(made.liveness, Liveness::Dead(_))
        && made
            .inputs
            .first()
            .is_some_and(|i| Arc::ptr_eq(&i.info, &first.info) || *i.info == *first.info)
    {
        return made.liveness.clone();
    }
    alive(&first.info)
}

/// The sample of a process whose files hand over the same values as for its previous sample,
/// which was itself made from unchanged values: that sample again, with the new time and
/// liveness. `None` when it would differ (a value, a file, a fold, a windowed field).
fn again(
    p: &mut Memory,
    id: &ProcessId,
    files: &[&Snapshot],
    liveness: &Liveness,
) -> Option<ProcessSample> {
    let made = p.made.as_mut()?;
    if !made.idle || !made.timeless || !files.iter().all(|s| s.settled) || !made.unchanged(files) {
        return None;
    }
    let taken = files.iter().map(|s| s.taken).max()?;
    let seconds = taken.duration_since(p.taken).ok()?.as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    p.taken = taken;
    p.listed = listed_of(files, taken);
    made.liveness = liveness.clone();
    Some(ProcessSample {
        id: id.clone(),
        cmd: Arc::clone(&made.cmd),
        liveness: liveness.clone(),
        taken,
        seconds: Some(seconds),
        series: made.series.clone(),
        files: made.files.clone(),
    })
}

fn add_exited(exited: &mut Vec<Series>, total: Series) {
    match exited
        .iter_mut()
        .find(|e| e.meta.series_key() == total.meta.series_key())
    {
        Some(e) => {
            if let (Some(acc), Some(v)) = (e.value.as_mut(), total.value.as_ref())
                && e.meta.kind == total.meta.kind
                && merge(acc, v)
            {
                e.files += total.files;
            }
        }
        None => exited.push(Series {
            interval: None,
            ..total
        }),
    }
}

/// The zero of a summed value's shape.
fn zero_like(v: &Value) -> Value {
    match v {
        Value::Number(Num::U(_)) => Value::Number(Num::U(0)),
        Value::Number(Num::I(_)) => Value::Number(Num::I(0)),
        Value::Number(Num::F(_)) => Value::Number(Num::F(0.0)),
        Value::Average { sum, .. } => Value::Average {
            count: 0,
            sum: match sum {
                Num::U(_) => Num::U(0),
                Num::I(_) => Num::I(0),
                Num::F(_) => Num::F(0.0),
            },
        },
        Value::Histogram(h) => Value::Histogram(HistogramValue::empty(h.k, 0).into()),
        other => other.clone(),
    }
}

/// A summed value's change from `before` to `now` within one file (FORMAT.md §12): an
/// unsigned counter that went down from the upper half of its width into the lower half
/// wrapped; anything else that went down was reset and counts from its new value. The flag
/// tells that the change continues `before`: `before` plus the change is `now` (no wrap, no
/// reset, no bucket of a histogram that went down).
fn file_delta(meta: &FieldMeta, before: &Value, now: &Value) -> (Value, bool) {
    match (before, now) {
        (Value::Number(Num::U(a)), Value::Number(Num::U(b))) => {
            let bits = meta.value_type.bits().unwrap_or(64).clamp(1, 64);
            let half = 1u64 << (bits - 1);
            let d = if b >= a {
                b - a
            } else if *a >= half && *b < half {
                // wrapped: the distance to the top of the width, then up from zero
                b.wrapping_sub(*a) & (u64::MAX >> (64 - bits))
            } else {
                *b
            };
            (Value::Number(Num::U(d)), b >= a)
        }
        (Value::Number(Num::I(a)), Value::Number(Num::I(b))) => (
            Value::Number(Num::I(if b >= a { b.wrapping_sub(*a) } else { *b })),
            b >= a,
        ),
        (Value::Number(Num::F(a)), Value::Number(Num::F(b))) => (
            Value::Number(Num::F(if b >= a { b - a } else { *b })),
            b >= a,
        ),
        (Value::Average { count: c1, sum: s1 }, Value::Average { count: c2, sum: s2 }) => {
            if c2 < c1 {
                (now.clone(), false)
            } else {
                let d = Value::Average {
                    count: c2 - c1,
                    sum: num_minus(*s2, *s1),
                };
                (d, true)
            }
        }
        (Value::Histogram(a), Value::Histogram(b)) => {
            if b.count < a.count || a.k != b.k {
                return (now.clone(), false);
            }
            match b.growth(a) {
                Some((d, whole)) => (Value::Histogram(d.into()), whole),
                None => (now.clone(), false),
            }
        }
        _ => (now.clone(), false),
    }
}

fn num_minus(a: Num, b: Num) -> Num {
    match (a, b) {
        (Num::U(x), Num::U(y)) => Num::U(x.wrapping_sub(y)),
        (Num::I(x), Num::I(y)) => Num::I(x.wrapping_sub(y)),
        (x, y) => Num::F(x.as_f64() - y.as_f64()),
    }
}

/// True for a delta in which nothing happened: no increase, no value recorded.
fn nothing(delta: &Value) -> bool {
    match delta {
        Value::Number(Num::U(n)) => *n == 0,
        Value::Number(Num::I(n)) => *n == 0,
        Value::Number(Num::F(n)) => *n == 0.0,
        Value::Average { count, sum } => *count == 0 && sum.as_f64() == 0.0,
        Value::Histogram(h) => h.count == 0 && h.sum == 0 && h.bucket_list().is_empty(),
        _ => false,
    }
}

/// True if two histograms hold the same counts (the buckets past either's end being zero);
/// `last` and a timer's window may differ.
fn same_histogram(a: &Value, b: &Value) -> bool {
    let (Value::Histogram(a), Value::Histogram(b)) = (a, b) else {
        return false;
    };
    a.k == b.k
        && (a.count, a.sum, a.min, a.max) == (b.count, b.sum, b.min, b.max)
        && a.bucket_list() == b.bucket_list()
}

/// `acc − v`, never below zero: what a process's delta becomes when a folded thread's last
/// reading is taken back out of its process file's growth.
fn take_back(acc: &mut Value, v: &Value) {
    match (acc, v) {
        (Value::Number(Num::U(a)), Value::Number(Num::U(b))) => *a = a.saturating_sub(*b),
        (Value::Number(Num::I(a)), Value::Number(Num::I(b))) => *a = (*a - *b).max(0),
        (Value::Number(Num::F(a)), Value::Number(Num::F(b))) => *a = (*a - *b).max(0.0),
        (Value::Average { count, sum }, Value::Average { count: c, sum: s }) => {
            if *c > *count {
                *count = 0;
                *sum = num_minus(*sum, *sum);
            } else {
                *count -= *c;
                *sum = num_minus(*sum, *s);
            }
        }
        (Value::Histogram(a), Value::Histogram(b)) => {
            if let Some(d) = a.minus(b) {
                *a = d.into();
            }
        }
        _ => {}
    }
}

/// A delta as an interval over `seconds`.
fn as_interval(delta: &Value, seconds: f64) -> Option<Interval> {
    Some(match delta {
        Value::Number(n) => {
            let d = n.as_f64().max(0.0);
            Interval::Counter {
                delta: d,
                rate: d / seconds,
            }
        }
        Value::Average { count, sum } => Interval::Average {
            count: *count,
            sum: sum.as_f64(),
        },
        Value::Histogram(h) => Interval::Histogram(Arc::clone(h)),
        _ => return None,
    })
}

/// A field of one of a process's live files, as the sample uses it.
#[derive(Debug, Clone)]
struct Slot<'p> {
    /// Which of the process's series it belongs to (`NO_SERIES`: none, e.g. its value could
    /// not be read, or another file has the label with another kind).
    series: u32,
    /// For a summed field: what it added to its series since the previous sample.
    share: Option<Value>,
    /// For a summed field whose share continues its previous reading (see [`file_delta`]):
    /// that reading. A series whose only file it is and whose total was that reading has
    /// what the file holds now as its total, without adding the share to it.
    continues: Option<&'p Value>,
}

const NO_SERIES: u32 = u32::MAX;

/// A live (not folded) file of a process, as the sample uses it.
#[derive(Debug)]
struct LiveFile<'a> {
    snap: &'a Snapshot,
    /// Where its fields' slots start.
    start: usize,
    /// The same file in the previous sample, by its place in the remembered inputs.
    before: Option<usize>,
}

/// One process's sample from its files and what was remembered of it.
///
/// Files and fields are taken in order, and what was remembered is found where it was (see
/// [`places`]): a process whose files keep their layout costs no hashing and no label copy.
fn process_sample(
    id: ProcessId,
    files: &[&Snapshot],
    prev: Option<Memory>,
    liveness: Liveness,
) -> (ProcessSample, Option<Memory>) {
    let taken = files
        .iter()
        .map(|s| s.taken)
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    // a thread's file names the program best; resources (read from /proc) least
    let named_by = files
        .iter()
        .position(|s| !s.info.process_totals && s.info.resource_kind().is_none())
        .or_else(|| files.iter().position(|s| s.info.resource_kind().is_none()))
        .unwrap_or(0);
    let cmd = match (
        files.get(named_by),
        prev.as_ref().and_then(|p| p.made.as_ref()),
    ) {
        // the file that named it last time names it again
        (Some(s), Some(m))
            if m.inputs
                .get(m.named_by)
                .is_some_and(|i| i.unchanged_identity(s)) =>
        {
            Arc::clone(&m.cmd)
        }
        (Some(s), _) => Arc::from(crate::process::command_name(s)),
        (None, _) => Arc::from(""),
    };
    let settled = files.iter().all(|s| s.settled);
    // An unsettled read may count a thread twice: keep the previous memory and show no
    // interval this time.
    let prev = match prev {
        Some(mut p) if !settled => {
            let sample = current_only(id, cmd, liveness, taken, files, p.series());
            if let Some(made) = &mut p.made {
                made.idle = false;
            }
            return (sample, Some(p));
        }
        // Nothing consistent seen of it yet (e.g. its writer died in the middle of a fold, so
        // its process file stays odd): a sum over its files might count a thread twice, so
        // its summed series are unavailable, and nothing is remembered until a read settles.
        None if !settled => {
            let sample = current_only(id, cmd, liveness, taken, files, &[]);
            return (sample, None);
        }
        p => p,
    };
    let seconds = prev.as_ref().and_then(|p| {
        let s = taken.duration_since(p.taken).ok()?.as_secs_f64();
        (s > 0.0).then_some(s)
    });
    let made_before = prev.as_ref().and_then(|p| p.made.as_ref());
    // The same values as the previous sample's: every interval is zero.
    let idle = seconds.is_some() && made_before.is_some_and(|m| m.unchanged(files));
    let before: &[Input] = made_before.map_or(&[], |m| &m.inputs);
    let totals: &[Series] = prev.as_ref().map_or(&[], |p| p.series());
    let prev_listed = prev.as_ref().map(|p| p.listed);

    // The process's series in order of first appearance in its live files, each field's
    // series, and each summed field's share of its series' delta.
    let width = files.first().map_or(0, |s| s.fields.len());
    let mut metas: Vec<Arc<FieldMeta>> = Vec::with_capacity(width);
    let mut keys: Vec<&str> = Vec::with_capacity(width);
    let mut key_places: Places<&str> = Places::default();
    let mut file_places: Places<(&std::path::Path, (u64, u64))> = Places::default();
    let mut deltas: Vec<Option<Value>> = Vec::with_capacity(width);
    let mut slots: Vec<Slot> = Vec::with_capacity(width * live_count(files));
    let mut live: Vec<LiveFile> = Vec::with_capacity(files.len());
    let mut matched = vec![false; before.len()];
    for (at, s) in files.iter().enumerate() {
        if s.info.folded {
            continue;
        }
        let first = live.is_empty();
        let was = file_places.find(before.len(), at, (s.path.as_path(), s.info.dev_ino), |i| {
            let b = &before[i];
            (!b.info.folded).then(|| (b.path.as_path(), b.info.dev_ino))
        });
        if let Some(i) = was {
            matched[i] = true;
        }
        let start = slots.len();
        slots.resize(
            start + s.fields.len(),
            Slot {
                series: NO_SERIES,
                share: None,
                continues: None,
            },
        );
        for (j, f) in s.fields.iter().enumerate() {
            let Ok(v) = &f.value else { continue };
            let key = f.meta.series_key();
            // labels are unique within a file: the first file's are all new
            let found = if first {
                None
            } else {
                key_places.find(keys.len(), j, key, |i| Some(keys[i]))
            };
            let mi = found.unwrap_or_else(|| {
                metas.push(Arc::clone(&f.meta));
                keys.push(key);
                key_places.add(key, keys.len() - 1);
                keys.len() - 1
            });
            if metas[mi].kind != f.meta.kind || metas[mi].value_type != f.meta.value_type {
                continue;
            }
            slots[start + j].series = mi as u32;
            if !summed(f.meta.kind) {
                continue;
            }
            let Some(prev_listed) = prev_listed else {
                continue;
            };
            let share = match was.and_then(|i| before[i].value_of(j, f)) {
                Some(b) => {
                    let (share, continues) = file_delta(&f.meta, b, v);
                    if continues {
                        slots[start + j].continues = Some(b);
                    }
                    share
                }
                None => {
                    // New since the previous sample: all of it happened in the interval if the
                    // file was created (or its name published) after that sample's list of
                    // files was settled (the sample could not have had it); otherwise it was
                    // seen late.
                    let fresh = new_since(s, prev_listed) || was.is_some();
                    if fresh { v.clone() } else { zero_like(v) }
                }
            };
            if deltas.len() <= mi {
                deltas.resize(mi + 1, None);
            }
            add_into(&mut deltas[mi], &share);
            slots[start + j].share = Some(share);
        }
        live.push(LiveFile {
            snap: s,
            start,
            before: was,
        });
    }
    // Threads gone since the previous sample whose values a process file took in.
    if let Some(prev_listed) = prev_listed {
        for (i, gone) in before.iter().enumerate() {
            if matched[i] || gone.info.folded || gone.info.process_totals {
                continue;
            }
            for f in gone.fields.iter() {
                let Ok(last) = &f.value else { continue };
                if !summed(f.meta.kind) {
                    continue;
                }
                let label = f.meta.series_key();
                let folded = live.iter().any(|l| {
                    l.snap.info.process_totals
                        && l.snap.field(label).is_some()
                        && match l.before {
                            Some(b) => {
                                l.snap.fold_seq.unwrap_or(0) > before[b].fold_seq.unwrap_or(0)
                            }
                            None => l.snap.info.created.is_none() || new_since(l.snap, prev_listed),
                        }
                });
                if !folded {
                    continue;
                }
                if let Some(Some(d)) = key_places
                    .find(keys.len(), 0, label, |i| Some(keys[i]))
                    .and_then(|mi| deltas.get_mut(mi))
                {
                    take_back(d, last);
                }
                // The process file's share carries the correction.
                if let Some(l) = live
                    .iter()
                    .find(|l| l.snap.info.process_totals && l.snap.field(label).is_some())
                    && let Some(j) = l.snap.fields.iter().position(|g| g.meta.label == label)
                    && let Some(share) = &mut slots[l.start + j].share
                {
                    take_back(share, last);
                    slots[l.start + j].continues = None;
                }
            }
        }
    }

    // Each series' fields, series by series: the slots in file order, sorted by series when
    // they are not in that order already (they are for a process of one file).
    let mut starts = vec![0usize; metas.len() + 1];
    let mut in_order = true;
    let mut last = 0;
    for slot in &slots {
        if slot.series != NO_SERIES {
            starts[slot.series as usize + 1] += 1;
            in_order &= slot.series >= last;
            last = slot.series;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut order: Vec<(&Snapshot, &Value)> = Vec::with_capacity(starts[metas.len()]);
    // the slot of each entry of `order`
    let mut order_slots: Vec<usize> = Vec::with_capacity(starts[metas.len()]);
    let slot_list = &slots;
    let series_fields = live.iter().flat_map(|l| {
        l.snap.fields.iter().enumerate().filter_map(move |(j, f)| {
            let mi = slot_list[l.start + j].series;
            let v = f.value.as_ref().ok().filter(|_| mi != NO_SERIES)?;
            Some((mi as usize, l.start + j, (l.snap, v)))
        })
    });
    if in_order {
        for (_, at, sv) in series_fields {
            order.push(sv);
            order_slots.push(at);
        }
    } else {
        let mut next = starts.clone();
        let mut place: Vec<Option<(usize, (&Snapshot, &Value))>> = vec![None; starts[metas.len()]];
        for (mi, at, sv) in series_fields {
            place[next[mi]] = Some((at, sv));
            next[mi] += 1;
        }
        for (at, sv) in place.into_iter().flatten() {
            order.push(sv);
            order_slots.push(at);
        }
    }

    // Series of the process, label by label in order of first appearance.
    let mut series = Vec::with_capacity(metas.len());
    let mut total_places: Places<&str> = Places::default();
    for (mi, meta) in metas.iter().enumerate() {
        let counted = &order[starts[mi]..starts[mi + 1]];
        let mut merged_files = counted.len();
        let mut s = if summed(meta.kind) {
            let current = sum_counted(counted.iter().map(|(_, v)| *v)).map(|(v, n)| {
                merged_files = n;
                v
            });
            let delta = deltas.get(mi).and_then(Option::as_ref);
            let total = total_places
                .find(totals.len(), mi, keys[mi], |i| {
                    let t = &totals[i];
                    summed(t.meta.kind).then(|| t.meta.series_key())
                })
                .map(|i| &totals[i]);
            // The series' one file continues its reading that was the total: the total is what
            // the file holds now (nothing to add up).
            let continued = match (counted, total) {
                ([(_, v)], Some(t)) => slots[order_slots[starts[mi]]]
                    .continues
                    .is_some_and(|b| t.value.as_ref() == Some(b))
                    .then(|| (*v).clone()),
                _ => None,
            };
            let value = match (total, delta) {
                // Nothing happened: the total as it was (a histogram's not copied).
                (Some(t), Some(d)) if nothing(d) => t.value.clone(),
                (Some(_), Some(_)) if continued.is_some() => continued,
                (Some(t), Some(d)) => t.value.clone().map(|mut acc| {
                    if !merge(&mut acc, d) {
                        acc = current.clone().unwrap_or(acc);
                    }
                    // A histogram whose total is what its files hold now shares their copy.
                    match &current {
                        Some(c) if same_histogram(&acc, c) => c.clone(),
                        _ => acc,
                    }
                }),
                // Nothing counted this time (every file folded or gone): the total stays.
                (Some(t), None) => t.value.clone().or(current),
                (None, _) => current,
            };
            Series {
                meta: Arc::clone(meta),
                value,
                interval: delta
                    .zip(seconds)
                    .and_then(|(d, secs)| as_interval(d, secs)),
                files: counted.len(),
                distinct: Box::default(),
            }
        } else {
            level(meta, counted)
        };
        s.files = merged_files;
        series.push(s);
    }

    // Totals of labels no file shows any more (their threads were folded into a process file
    // that has gone too, as the process exits) stay: a continuous total never goes down, and
    // an exited process's totals are kept from the last of them.
    for (k, t) in totals.iter().enumerate() {
        if !summed(t.meta.kind) {
            continue;
        }
        let here = key_places
            .find(keys.len(), k, t.meta.series_key(), |i| Some(keys[i]))
            .is_some_and(|mi| summed(metas[mi].kind));
        if !here {
            series.push(Series {
                interval: None,
                ..t.clone()
            });
        }
    }

    // A process of one file whose own series are its process's shares them: each series the
    // file's field, and every total what the file holds.
    let one_file = matches!(files, [s] if !s.info.folded)
        && series.len() == order.len()
        && series.iter().zip(&order).all(|(p, (_, v))| {
            !summed(p.meta.kind) || p.value.as_ref().is_some_and(|total| total == *v)
        });
    let series: Shared<Series> = series.into();
    let file_samples: Shared<FileSample> = if one_file {
        let only = files[0];
        Shared::from(vec![FileSample {
            path: only.path.clone(),
            info: Arc::clone(&only.info),
            series: series.clone(),
        }])
    } else {
        file_samples(files, &live, &slots, seconds).into()
    };
    let sample = ProcessSample {
        id,
        cmd,
        liveness,
        taken,
        seconds,
        series,
        files: file_samples,
    };
    let memory = remember(files, named_by, &sample, idle);
    (sample, Some(memory))
}

/// Each file's own series, with its share as the interval: threads first by thread id, then
/// the process files.
fn file_samples(
    files: &[&Snapshot],
    live: &[LiveFile],
    slots: &[Slot],
    seconds: Option<f64>,
) -> Vec<FileSample> {
    let mut next_live = live.iter();
    let mut file_samples: Vec<FileSample> = files
        .iter()
        .map(|s| {
            let this = if s.info.folded {
                None
            } else {
                next_live.next()
            };
            FileSample {
                path: s.path.clone(),
                info: Arc::clone(&s.info),
                series: s
                    .fields
                    .iter()
                    .enumerate()
                    .filter_map(|(j, f)| {
                        let v = f.value.as_ref().ok()?;
                        let share = this.and_then(|l| slots[l.start + j].share.as_ref());
                        let own = [(*s, v)];
                        let mut series = if summed(f.meta.kind) {
                            Series {
                                meta: Arc::clone(&f.meta),
                                value: Some(v.clone()),
                                interval: share
                                    .zip(seconds)
                                    .and_then(|(d, secs)| as_interval(d, secs)),
                                files: 1,
                                distinct: Box::default(),
                            }
                        } else {
                            level(&f.meta, &own)
                        };
                        series.files = 1;
                        Some(series)
                    })
                    .collect(),
            }
        })
        .collect();
    let file_order = |a: &FileSample, b: &FileSample| {
        (a.info.process_totals, a.info.tid, &a.path).cmp(&(
            b.info.process_totals,
            b.info.tid,
            &b.path,
        ))
    };
    if !file_samples.is_sorted_by(|a, b| file_order(a, b).is_le()) {
        file_samples.sort_by(file_order);
    }
    file_samples
}

/// Whether `s` came into being after `t`: it was created then, or its name was published
/// then (FORMAT.md §12, [`Snapshot::appeared`]).
fn new_since(s: &Snapshot, t: SystemTime) -> bool {
    s.info.created.is_some_and(|c| c > t) || s.appeared.is_some_and(|a| a >= t)
}

/// When the list of `files` was settled: the earliest of their [`Snapshot::listed`], or
/// `taken` (when they were read) if no scan read them.
fn listed_of(files: &[&Snapshot], taken: SystemTime) -> SystemTime {
    files
        .iter()
        .filter_map(|s| s.listed)
        .min()
        .map_or(taken, |l| l.min(taken))
}

/// How many of `files` are live (not folded).
fn live_count(files: &[&Snapshot]) -> usize {
    files.iter().filter(|s| !s.info.folded).count()
}

/// What the engine keeps of a process after making `sample` from `files`.
fn remember(files: &[&Snapshot], named_by: usize, sample: &ProcessSample, idle: bool) -> Memory {
    Memory {
        taken: sample.taken,
        listed: listed_of(files, sample.taken),
        made: Some(Made {
            inputs: files.iter().map(|s| Input::of(s)).collect(),
            cmd: Arc::clone(&sample.cmd),
            named_by,
            liveness: sample.liveness.clone(),
            series: sample.series.clone(),
            files: sample.files.clone(),
            idle,
            timeless: files
                .iter()
                .all(|s| s.fields.iter().all(|f| f.meta.kind != Kind::Windowed)),
        }),
    }
}

/// A sample of a process whose read was not settled: its summed series as of its last settled
/// sample (`totals`; none if it never had one) and its other series as read, with no intervals.
fn current_only(
    id: ProcessId,
    cmd: Arc<str>,
    liveness: Liveness,
    taken: SystemTime,
    files: &[&Snapshot],
    totals: &[Series],
) -> ProcessSample {
    let mut series: Vec<Series> = totals
        .iter()
        .filter(|t| summed(t.meta.kind))
        .map(|t| Series {
            interval: None,
            ..t.clone()
        })
        .collect();
    let mut seen: Vec<&str> = series.iter().map(|s| s.meta.series_key()).collect();
    let mut levels = Vec::new();
    for s in files {
        for f in s.fields.iter() {
            if summed(f.meta.kind) || seen.contains(&f.meta.series_key()) {
                continue;
            }
            seen.push(f.meta.series_key());
            let values: Vec<(&Snapshot, &Value)> = files
                .iter()
                .filter_map(|s| Some((*s, s.field(f.meta.series_key())?.value.as_ref().ok()?)))
                .collect();
            levels.push(level(&f.meta, &values));
        }
    }
    series.extend(levels);
    ProcessSample {
        id,
        cmd,
        liveness,
        taken,
        seconds: None,
        series: series.into(),
        files: Shared::default(),
    }
}

fn add_into(delta: &mut Option<Value>, share: &Value) {
    match delta {
        Some(acc) => {
            merge(acc, share);
        }
        None => *delta = Some(share.clone()),
    }
}

fn sum_values<'a>(values: impl Iterator<Item = &'a Value>) -> Option<Value> {
    sum_counted(values).map(|(v, _)| v)
}

/// The sum of values, and how many of them could be added (the others have another shape).
fn sum_counted<'a>(mut values: impl Iterator<Item = &'a Value>) -> Option<(Value, usize)> {
    let mut acc = values.next()?.clone();
    let mut n = 1;
    for v in values {
        n += usize::from(merge(&mut acc, v));
    }
    Some((acc, n))
}

/// A level (gauge, moving average, timestamp, constant, text, windowed field) over files.
fn level(meta: &Arc<FieldMeta>, values: &[(&Snapshot, &Value)]) -> Series {
    let mut s = Series {
        meta: Arc::clone(meta),
        value: None,
        interval: None,
        files: values.len(),
        distinct: Box::default(),
    };
    match meta.kind {
        Kind::Windowed => {
            let merged = sum_values(values.iter().map(|(_, v)| *v));
            let now = values.iter().map(|(s, _)| s.taken).max();
            let since = values
                .iter()
                .filter_map(|(s, _)| s.info.active_since())
                .min();
            if let (Some(Value::Windowed(w)), Some(now)) = (&merged, now) {
                let since = since.map_or(0.0, unix_seconds);
                s.interval = Some(Interval::Window(Box::new(
                    w.summary(unix_seconds(now), since),
                )));
            }
            s.value = merged;
        }
        Kind::Timestamp => {
            s.value = values
                .iter()
                .map(|(_, v)| *v)
                .max_by(|a, b| {
                    let (a, b) = (a.primary().unwrap_or(0.0), b.primary().unwrap_or(0.0));
                    a.total_cmp(&b)
                })
                .cloned();
        }
        Kind::Constant | Kind::Text => newest_or_distinct(&mut s, values),
        _ => match meta.combine {
            Combine::None => newest_or_distinct(&mut s, values),
            rule => {
                s.value = combine_levels(rule, values.iter().map(|(s, v)| (s.info.created, *v)))
            }
        },
    }
    s
}

/// The newest file's value when every file agrees, else every distinct value.
fn newest_or_distinct(s: &mut Series, values: &[(&Snapshot, &Value)]) {
    let newest = || {
        values
            .iter()
            .max_by_key(|(snap, _)| snap.info.created)
            .map(|(_, v)| (*v).clone())
    };
    if values.len() <= 1 || matches!(s.meta.kind, Kind::Text) {
        s.value = newest();
        return;
    }
    let mut distinct: Vec<&Value> = Vec::new();
    for (_, v) in values {
        if !distinct.contains(v) {
            distinct.push(v);
        }
    }
    if distinct.len() <= 1 {
        s.value = newest();
        return;
    }
    if s.meta.combine == Combine::Last && s.meta.kind == Kind::Constant {
        s.value = newest();
    }
    s.distinct = distinct.into_iter().cloned().collect();
}

/// Gauge-like values combined by a rule (never `none`), each with its writer's creation time
/// (for `last`). Walks the values as often as the rule needs, without collecting them.
fn combine_levels<'a>(
    rule: Combine,
    values: impl Iterator<Item = (Option<SystemTime>, &'a Value)> + Clone,
) -> Option<Value> {
    let (_, first) = values.clone().next()?;
    if let Value::MovingAverage { .. } = first {
        return sum_values(values.map(|(_, v)| v));
    }
    if let Value::Bool(_) = first {
        let is_true = |v: &Value| *v == Value::Bool(true);
        let (trues, all) = values.clone().fold((0usize, 0usize), |(t, n), (_, v)| {
            (t + usize::from(is_true(v)), n + 1)
        });
        return Some(Value::Bool(match rule {
            Combine::Min => trues == all,
            Combine::Avg => 2 * trues > all,
            Combine::Last => values
                .max_by_key(|(c, _)| *c)
                .is_some_and(|(_, v)| is_true(v)),
            _ => trues > 0,
        }));
    }
    let nums = values.filter_map(|(c, v)| match v {
        Value::Number(n) => Some((c, *n)),
        _ => None,
    });
    let Some((_, n0)) = nums.clone().next() else {
        return Some(first.clone());
    };
    let pick = |better: fn(f64, f64) -> bool| {
        nums.clone()
            .reduce(|a, b| {
                if better(b.1.as_f64(), a.1.as_f64()) {
                    b
                } else {
                    a
                }
            })
            .map(|(_, n)| n)
    };
    let n = match rule {
        Combine::Max => pick(|b, a| b > a)?,
        Combine::Min => pick(|b, a| b < a)?,
        Combine::Last => nums.clone().max_by_key(|(c, _)| *c).map(|(_, n)| n)?,
        Combine::Avg => {
            let (sum, count) = nums
                .clone()
                .fold((0.0, 0usize), |(s, k), (_, n)| (s + n.as_f64(), k + 1));
            Num::F(sum / count as f64)
        }
        Combine::Sum | Combine::None => {
            let mut acc = Value::Number(n0);
            for (_, n) in nums.clone().skip(1) {
                merge(&mut acc, &Value::Number(n));
            }
            match acc {
                Value::Number(n) => n,
                _ => return None,
            }
        }
    };
    Some(Value::Number(n))
}

impl Series {
    /// The number a tool shows for this series, or for its derived value `name` (`p99`,
    /// `mean`, `count`, `rate`, ...; FORMAT.md §12):
    ///
    /// - no name: a counter's rate; an average's, histogram's or timer's interval mean; a
    ///   windowed field's rate; a gauge's, timestamp's or constant's value;
    /// - a histogram's or timer's `count`, `sum`, `min`, `max`, `mean`, `p50`, `p90`, `p99` and
    ///   `p999` describe the interval; `avg` (timers) is the writer's moving window;
    /// - an average's `count`, `sum` and `mean` describe the interval;
    /// - a windowed field's `count`, `rate` and `mean` describe its window;
    /// - `total` is a counter's continuous total.
    pub fn number(&self, name: Option<&str>) -> Option<f64> {
        match (&self.interval, name) {
            (Some(Interval::Counter { rate, .. }), None | Some("rate")) => Some(*rate),
            (Some(Interval::Counter { delta, .. }), Some("delta")) => Some(*delta),
            (_, Some("total")) if self.meta.kind == Kind::Counter => self.value.as_ref()?.primary(),
            (Some(Interval::Average { count, sum }), name) => match name {
                None | Some("mean") => (*count > 0).then(|| sum / *count as f64),
                Some("count") => Some(*count as f64),
                Some("sum") => Some(*sum),
                _ => None,
            },
            (Some(Interval::Histogram(h)), name) => {
                let name = name.unwrap_or("mean");
                if name == "avg" {
                    return h.window_mean();
                }
                Value::Histogram(Arc::clone(h)).derived(self.meta.kind, 0.0, 0.0, name)
            }
            (Some(Interval::Window(w)), name) => match name {
                None | Some("rate") => Some(w.rate),
                Some("count") => Some(w.count as f64),
                Some("mean") => w.mean,
                _ => None,
            },
            (None, _) if summed(self.meta.kind) => None,
            (_, None) => self.value.as_ref()?.primary(),
            (_, Some(sfx)) => self.value.as_ref()?.derived(self.meta.kind, 0.0, 0.0, sfx),
        }
    }

    /// [`Series::number`] of each of `names` that this series has, in that order, as
    /// `(name, number)`: what a tool listing several derived values at once shows, worked out
    /// once (a histogram's quantiles are found in one go, not once for each name).
    pub fn numbers(&self, names: &[&'static str]) -> Vec<(&'static str, f64)> {
        match &self.interval {
            Some(Interval::Histogram(h)) => {
                let all = mmstats_format::histogram_derived_values(h, self.meta.kind);
                names
                    .iter()
                    .filter_map(|&n| {
                        let v = if n == "avg" {
                            h.window_mean()
                        } else {
                            all.iter().find(|(d, _)| *d == n).map(|(_, x)| *x)
                        };
                        Some((n, v?))
                    })
                    .collect()
            }
            _ => names
                .iter()
                .filter_map(|&n| Some((n, self.number(Some(n))?)))
                .collect(),
        }
    }

    /// True if [`Series::number`] without a name is a rate per second.
    pub fn is_rate(&self) -> bool {
        matches!(self.meta.kind, Kind::Counter | Kind::Windowed)
    }

    /// The unit of [`Series::number`] for `name`: the field's unit, except counts (`count`)
    /// have none.
    pub fn unit(&self, name: Option<&str>) -> &str {
        match name {
            Some("count") => "",
            _ => &self.meta.unit,
        }
    }

    /// Several series combined into one as one label's series combine across processes
    /// (FORMAT.md §12): rates, deltas and totals added, histograms merged, levels combined by
    /// their rule; what a selection of several series of a family (FORMAT.md §3.5) shows. The
    /// first series' metadata; series of another kind than the first are left out. `None`
    /// when there are none.
    pub fn combined_of<'a>(series: impl IntoIterator<Item = &'a Series>) -> Option<Series> {
        let mut series = series.into_iter();
        let mut out = series.next()?.clone();
        for s in series {
            out.absorb(s, true);
        }
        Some(out)
    }

    /// This series combined with `other` of the same label (FORMAT.md §12, across processes):
    /// rates, deltas and totals added, histograms merged, levels combined by their rule,
    /// constants and texts kept when equal and listed when not. `false` if the kinds differ.
    fn absorb(&mut self, other: &Series, live: bool) -> bool {
        if self.meta.kind != other.meta.kind {
            return false;
        }
        self.files += other.files;
        match self.meta.kind {
            Kind::Counter | Kind::Average | Kind::Histogram | Kind::Timer => {
                match (&mut self.value, &other.value) {
                    (Some(a), Some(b)) => {
                        merge(a, b);
                    }
                    (a @ None, Some(b)) => *a = Some(b.clone()),
                    _ => {}
                }
                self.interval = match (self.interval.take(), &other.interval) {
                    (Some(a), Some(b)) => Some(add_intervals(a, b)),
                    (a, b) => a.or_else(|| b.clone()),
                };
            }
            Kind::Windowed => {
                if let (Some(a), Some(b)) = (&mut self.value, &other.value) {
                    merge(a, b);
                }
                self.interval = match (self.interval.take(), &other.interval) {
                    (Some(a), Some(b)) => Some(add_intervals(a, b)),
                    (a, b) => a.or_else(|| b.clone()),
                };
            }
            Kind::Gauge | Kind::MovingAverage if live => {
                let pair: Vec<&Value> = self.value.iter().chain(other.value.iter()).collect();
                self.value = match self.meta.combine {
                    Combine::None => {
                        list_distinct(self, other);
                        return true;
                    }
                    Combine::Avg => {
                        // A mean of means over processes, weighted by their files.
                        let n = (self.files - other.files) as f64;
                        let m = other.files as f64;
                        match (
                            pair.first().and_then(|v| v.primary()),
                            pair.get(1).and_then(|v| v.primary()),
                        ) {
                            (Some(a), Some(b)) => {
                                Some(Value::Number(Num::F((a * n + b * m) / (n + m))))
                            }
                            _ => self.value.clone().or_else(|| other.value.clone()),
                        }
                    }
                    rule => combine_levels(rule, pair.into_iter().map(|v| (None, v))),
                };
            }
            Kind::Gauge | Kind::MovingAverage => self.files -= other.files,
            Kind::Timestamp => {
                let newer = other.value.as_ref().and_then(Value::primary)
                    > self.value.as_ref().and_then(Value::primary);
                if newer {
                    self.value.clone_from(&other.value);
                }
            }
            Kind::Constant | Kind::Text => list_distinct(self, other),
        }
        true
    }
}

/// Keeps one value while every part agrees; lists the distinct values once they do not.
fn list_distinct(acc: &mut Series, other: &Series) {
    let mut all = std::mem::take(&mut acc.distinct).into_vec();
    if all.is_empty()
        && let Some(v) = acc.value.take()
    {
        all.push(v);
    }
    let theirs: &[Value] = if other.distinct.is_empty() {
        other.value.as_slice()
    } else {
        &other.distinct
    };
    for v in theirs {
        if !all.contains(v) {
            all.push(v.clone());
        }
    }
    if all.len() == 1 {
        acc.value = all.pop();
    } else {
        acc.distinct = all.into_boxed_slice();
    }
}

fn add_intervals(a: Interval, b: &Interval) -> Interval {
    match (a, b) {
        (
            Interval::Counter { delta, rate },
            Interval::Counter {
                delta: d2,
                rate: r2,
            },
        ) => Interval::Counter {
            delta: delta + d2,
            rate: rate + r2,
        },
        (Interval::Average { count, sum }, Interval::Average { count: c, sum: s }) => {
            Interval::Average {
                count: count + c,
                sum: sum + s,
            }
        }
        (Interval::Histogram(mut h), Interval::Histogram(g)) => {
            Arc::make_mut(&mut h).merge(g);
            Interval::Histogram(h)
        }
        (Interval::Window(w), Interval::Window(v)) => {
            let count = w.count + v.count;
            let mean = match (w.mean, v.mean) {
                (Some(a), Some(b)) => {
                    Some((a * w.count as f64 + b * v.count as f64) / count as f64)
                }
                (a, b) => a.or(b),
            };
            Interval::Window(Box::new(WindowSummary {
                count,
                rate: w.rate + v.rate,
                mean,
                seconds: w.seconds.max(v.seconds),
            }))
        }
        (a, _) => a,
    }
}

impl Sample {
    /// Every label combined over every process (FORMAT.md §12, across processes), in order of
    /// first appearance. Dead processes' gauges are left out of current values.
    pub fn combined(&self) -> Vec<Series> {
        self.combined_over(|_| true)
    }

    /// Every label combined over the processes `keep` selects.
    pub fn combined_over(&self, keep: impl Fn(&ProcessSample) -> bool) -> Vec<Series> {
        combine_all(
            self.processes
                .iter()
                .filter(|p| keep(p))
                .map(|p| (p.liveness == Liveness::Alive, &p.series[..])),
        )
    }

    /// The continuous totals of every summed label over every process, live and exited:
    /// a sum that never goes down (what an aggregated Prometheus counter serves).
    pub fn totals_with_exited(&self) -> Vec<Series> {
        let mut all = self.combined();
        for e in &self.exited {
            match all
                .iter_mut()
                .find(|s| s.meta.series_key() == e.meta.series_key())
            {
                Some(s) if summed(s.meta.kind) => {
                    if let (Some(a), Some(b)) = (&mut s.value, &e.value) {
                        merge(a, b);
                    }
                }
                Some(_) => {}
                None => all.push(e.clone()),
            }
        }
        all
    }

    /// Number of processes whose writer is alive.
    pub fn live_processes(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| p.liveness == Liveness::Alive)
            .count()
    }
}

/// Combines series of several parts (processes), each with its liveness.
pub(crate) fn combine_all<'a>(parts: impl Iterator<Item = (bool, &'a [Series])>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    let mut index: Map<&str, usize> = Map::default();
    for (live, series) in parts {
        for s in series {
            let levelish = matches!(s.meta.kind, Kind::Gauge | Kind::MovingAverage);
            match index.get(s.meta.series_key()) {
                Some(&i) => {
                    out[i].absorb(s, live);
                }
                None => {
                    index.insert(s.meta.series_key(), out.len());
                    let mut first = s.clone();
                    if levelish && !live {
                        first.value = None;
                        first.files = 0;
                    }
                    out.push(first);
                }
            }
        }
    }
    out
}

impl ProcessSample {
    /// The pid, if known.
    pub fn pid(&self) -> Option<u32> {
        self.id.pid()
    }

    /// The process's series with this label.
    pub fn series(&self, label: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.meta.series_key() == label)
    }

    /// Thread files (not process files) that are not folded.
    pub fn threads(&self) -> usize {
        self.files
            .iter()
            .filter(|f| !f.info.process_totals && !f.info.folded)
            .count()
    }
}

mod places;
#[cfg(test)]
mod tests;
