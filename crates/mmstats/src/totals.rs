//! Process totals: when a thread's stats file goes away, its values are first added to a
//! per-process file, so that sums across a process's files never go backwards (FORMAT.md §2.1
//! state `PROCESS`, §6.4).
//!
//! One totals file per model type (or per name, directory and template, for stats objects
//! created with [`Options::fold_totals`]) and process, with thread id 0 and the `PROCESS` state
//! bit, named from the same template with `{TID}` replaced by `totals` (default
//! `{CMD}-{PID}-totals.mmstats`), created when the first thread's file is folded. Fields are
//! added on demand (same label and metadata) through the normal registration path. Every fold
//! holds one process-wide lock, so the totals file keeps a single writer at a time. The fold
//! reads the ending file's own slot words: the folding thread is the file's only writer, so
//! plain loads see exactly what it wrote.
//!
//! What is folded, and how, is the format's rule ([`mmstats_format::folds`],
//! [`mmstats_format::fold`]): counters (added), averages (count and sum added), histograms and
//! timers (count, sum and buckets added, min and max combined, last replaced; a timer's moving
//! window is not carried over), windowed fields (count and sum added, and each slot added to the
//! slot of the same period, or taking its place if newer); each slot is decoded, folded and
//! encoded again. Gauges, texts, constants, timestamps and moving averages describe the thread
//! that ended and are not folded. A file is folded when it
//! ends: when its stats object and the last of its handles are gone, or at [`Stats::close`]
//! (values a handle writes after that are not folded).
//!
//! Removal: when the process exits normally (after the exiting thread's own instances have been
//! dropped and folded), and when [`remove_all`] is called, the totals files and the files of the
//! process's stats objects still alive are removed too (not those created with
//! [`Options::keep`]), as the original mmstats did. A process forked from this one never
//! removes its parent's files.

use std::any::TypeId;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use mmstats_format::names;
use mmstats_format::{ByteOrder, FieldMeta, Reserve, Value, folds};

use crate::options::Options;

/// Which totals file a thread's file folds into: one per model type (or per name, directory
/// and template for plain stats objects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TotalsKey {
    /// The model's type ([`crate::Stats`] for a plain stats object).
    pub(crate) model: TypeId,
    /// The model's name, for `{NAME}`.
    pub(crate) name: String,
    /// The directory of the model's files (`None`: from the environment).
    pub(crate) dir: Option<std::path::PathBuf>,
    /// The file name template of the model's files.
    pub(crate) template: Option<String>,
}

/// The template of a totals file: the thread files' template with `totals` for the thread id.
pub(crate) fn template(t: &str) -> String {
    names::process_template(t, "totals")
}

/// A thread's file that ends, as a fold reads it.
pub(crate) trait Ending {
    /// Every published field with the words of its slot.
    fn fields(&self) -> Vec<(FieldMeta, Vec<u64>)>;
    /// The capacities the file was created with: a totals file made for it gets as much room.
    fn capacities(&self) -> Reserve;
    /// Sets `FOLDED` in its `state` (FORMAT.md §6.4 step 3).
    fn mark_folded(&self);
}

/// A process's totals file, as a fold writes into it (FORMAT.md §6.4).
pub(crate) trait TotalsFile: std::fmt::Debug + Send {
    /// Step 1: makes `fold_seq` odd.
    fn begin_fold(&self);
    /// Step 4: makes `fold_seq` even again.
    fn end_fold(&self);
    /// The words of the slot of the field `meta` describes, publishing it (zero) first if it
    /// is missing; `None` if it exists with other metadata or cannot be added.
    fn words(&self, meta: &FieldMeta) -> Option<Vec<u64>>;
    /// Stores `words` into that slot, under its sequence word if it has one.
    fn store(&self, meta: &FieldMeta, words: &[u64]);
}

/// A totals file, the key it serves and the process that created it.
#[derive(Debug)]
struct Totals {
    key: TotalsKey,
    pid: u32,
    file: Box<dyn TotalsFile>,
}

/// A live file of this process, to remove with [`remove_all`].
#[derive(Debug)]
struct Tracked {
    pid: u32,
    path: PathBuf,
    dev: u64,
    ino: u64,
    keep: bool,
}

/// The totals files of this process. Lock order: `TOTALS` before `LIVE`.
static TOTALS: Mutex<Vec<Totals>> = Mutex::new(Vec::new());
/// Every live stats file of the process.
static LIVE: Mutex<Vec<Tracked>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records a newly created file, so that [`remove_all`] and the process's exit remove it.
pub(crate) fn track(path: &Path, file: &File, keep: bool) {
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY:
        // - `atexit` only stores the function pointer, which stays valid for the life of the
        //   process;
        // - `remove_at_exit` takes no arguments and never unwinds: it only calls `try_lock`,
        //   file-system calls whose errors it ignores, and drops of stats objects, none of
        //   which panic.
        // Failure to register (no room for handlers) only means files are left at exit.
        let _ = unsafe { libc::atexit(remove_at_exit) };
    });
    let Ok(md) = file.metadata() else { return };
    lock(&LIVE).push(Tracked {
        pid: std::process::id(),
        path: path.to_path_buf(),
        dev: md.dev(),
        ino: md.ino(),
        keep,
    });
}

/// Forgets a file its stats object is about to close.
pub(crate) fn untrack(path: &Path) {
    lock(&LIVE).retain(|t| t.path != path);
}

/// Removes the process's stats files: its totals files, and the files of every stats object
/// of the process that is still alive (except those created with [`Options::keep`]). Handles
/// keep working on the removed files; a stats object created later gets a new file, and a
/// thread that ends later starts a new totals file.
///
/// The process's normal exit does the same.
pub fn remove_all() {
    let totals = std::mem::take(&mut *lock(&TOTALS));
    close_own(totals);
    remove_live(&lock(&LIVE));
}

/// Closes and removes the totals files this process created. A child forked from the process
/// inherits the parent's list but must not remove the parent's files: those are forgotten.
fn close_own(totals: Vec<Totals>) {
    let pid = std::process::id();
    for t in totals {
        if t.pid == pid {
            drop(t); // marks the file closed and removes it
        } else {
            std::mem::forget(t);
        }
    }
}

/// Unlinks every tracked file of this process that is not kept and still is the file that
/// was created.
fn remove_live(live: &[Tracked]) {
    let pid = std::process::id();
    for t in live.iter().filter(|t| !t.keep && t.pid == pid) {
        if let Ok(md) = std::fs::symlink_metadata(&t.path)
            && md.dev() == t.dev
            && md.ino() == t.ino
        {
            let _ = std::fs::remove_file(&t.path);
        }
    }
}

/// The process's exit: like [`remove_all`], but never waits for a lock another thread holds.
extern "C" fn remove_at_exit() {
    if let Ok(mut all) = TOTALS.try_lock() {
        let totals = std::mem::take(&mut *all);
        drop(all);
        close_own(totals);
    }
    if let Ok(live) = LIVE.try_lock() {
        remove_live(&live);
    }
}

/// Adds the foldable fields of a thread's file into the totals file of `key`, made with
/// `create` (from options naming it) if this process has none yet. Failures (no room, a file
/// name taken) leave the totals as they were: they cannot be reported from a thread's exit.
pub(crate) fn fold(
    key: &TotalsKey,
    thread: &dyn Ending,
    create: impl FnOnce(Options) -> Option<Box<dyn TotalsFile>>,
) {
    let mut all = lock(&TOTALS);
    let pid = std::process::id();
    let index = match all.iter().position(|t| t.key == *key && t.pid == pid) {
        Some(i) => i,
        None => {
            let mut options = Options::new().name(&key.name).reserve(thread.capacities());
            options.dir.clone_from(&key.dir);
            options.file_template.clone_from(&key.template);
            options.totals = true;
            let Some(file) = create(options) else {
                return;
            };
            all.push(Totals {
                key: key.clone(),
                pid,
                file,
            });
            all.len() - 1
        }
    };
    let totals = &*all[index].file;
    totals.begin_fold();
    for (meta, words) in thread.fields() {
        if folds(meta.kind) {
            add(totals, &meta, &words);
        }
    }
    thread.mark_folded();
    totals.end_fold();
}

/// Folds one field's values into the same field of the totals file: both slots decoded, the
/// thread's value folded into the totals' ([`mmstats_format::fold`]), the result stored back.
fn add(totals: &dyn TotalsFile, meta: &FieldMeta, words: &[u64]) {
    let Some(theirs) = totals.words(meta) else {
        return;
    };
    let decode = |words: &[u64]| Value::decode(meta, words, ByteOrder::NATIVE).ok();
    let (Some(thread), Some(mut total)) = (decode(words), decode(&theirs)) else {
        return;
    };
    if mmstats_format::fold(&mut total, &thread)
        && let Some(words) = total.encode(meta)
    {
        totals.store(meta, &words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Stats;
    use mmstats_format::layout::state;
    use mmstats_format::{Header, HistogramValue, Kind, Num, ValueType, bucket_index};

    /// A type of its own, so this test's totals file is not another test's.
    struct FoldTest;

    fn metas() -> [FieldMeta; 3] {
        let counter = FieldMeta::new("c", Kind::Counter, ValueType::U64);
        let average = FieldMeta::new("a", Kind::Average, ValueType::U64);
        let mut hist = FieldMeta::new("h", Kind::Histogram, ValueType::U64);
        hist.param = 5;
        hist.capacity = 64;
        [counter, average, hist]
    }

    /// A thread's file holding counter `c`, an average of `avg` and a histogram of `values`.
    fn thread_file(
        dir: &std::path::Path,
        name: &str,
        c: u64,
        avg: &[u64],
        values: &[u64],
    ) -> Stats {
        let stats = Stats::create(
            Options::new()
                .dir(dir)
                .name(name)
                .file_template("{NAME}-{TID}.mmstats"),
        )
        .unwrap();
        let [counter, average, hist] = metas();
        let mut h = HistogramValue::empty(5, 64);
        for v in values {
            h.record(*v);
        }
        let values = [
            (counter, Value::Number(Num::U(c))),
            (
                average,
                Value::Average {
                    count: avg.len() as u64,
                    sum: Num::U(avg.iter().sum()),
                },
            ),
            (hist, Value::Histogram(h.into())),
        ];
        for (meta, value) in values {
            stats.store(&meta, &value.encode(&meta).unwrap());
        }
        stats
    }

    fn values(path: &std::path::Path) -> (Header, Vec<(String, Value)>) {
        let bytes = std::fs::read(path).unwrap();
        let (h, fields) = mmstats_format::decode_file(&bytes).unwrap();
        let out = fields
            .into_iter()
            .map(|f| {
                let start = f.value_offset as usize;
                let words: Vec<u64> = bytes[start..start + f.value_length as usize]
                    .chunks_exact(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
                    .collect();
                let v = Value::decode(&f.meta, &words, h.byte_order).unwrap();
                (f.meta.label, v)
            })
            .collect();
        (h, out)
    }

    #[test]
    fn counters_averages_and_histograms_fold_into_the_totals() {
        let tmp = tempfile::tempdir().unwrap();
        let key = TotalsKey {
            model: TypeId::of::<FoldTest>(),
            name: "t".into(),
            dir: Some(tmp.path().to_path_buf()),
            template: Some("{NAME}-{TID}.mmstats".into()),
        };
        let mut one = thread_file(tmp.path(), "one", 3, &[4, 6], &[5, 100]);
        let one_path = one.path().to_path_buf();
        one.fold_on_close(key.clone());
        drop(one);
        assert!(!one_path.exists());
        let totals = tmp.path().join("t-totals.mmstats");
        let two = thread_file(tmp.path(), "two", 4, &[5], &[1]);
        fold(&key, &two.contents(), |options| {
            Some(Box::new(Stats::create(options).ok()?) as Box<dyn TotalsFile>)
        });

        let (h, v) = values(&totals);
        assert_eq!(h.identity.tid, 0);
        assert_eq!(h.live.state & state::PROCESS, state::PROCESS);
        let get = |l: &str| v.iter().find(|(k, _)| k == l).unwrap().1.clone();
        assert_eq!(get("c"), Value::Number(Num::U(7)));
        assert_eq!(
            get("a"),
            Value::Average {
                count: 3,
                sum: Num::U(15)
            }
        );
        let Value::Histogram(hist) = get("h") else {
            panic!("not a histogram")
        };
        assert_eq!((hist.count, hist.sum, hist.min, hist.max), (3, 106, 1, 100));
        assert_eq!(hist.last, 1, "the latest fold's last value");
        assert_eq!(hist.bucket(bucket_index(100, 5).min(63)), 1);
        assert_eq!(hist.bucket(1) + hist.bucket(5), 2);
        assert_eq!(hist.bucket_total(), 3);
        assert_eq!(get("sys.tid"), Value::Number(Num::U(0)));
    }
}
