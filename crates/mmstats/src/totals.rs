//! Per-process totals: what threads that ended leave behind (FORMAT.md §2.1 `PROCESS`, §6.4).
//!
//! A reader sums a counter over a process's files. When a worker thread ends, its file goes;
//! without more, the sum would drop by that thread's share. So a stats object created with
//! [`Options::totals`] (every per-thread model instance, [`crate::Local`], is) *folds* its
//! final values into the process's totals file when it is dropped or closed, before its own
//! file is removed:
//!
//! - counters are added;
//! - histograms and timers add their count, sum and buckets and widen min and max (a timer's
//!   moving window is not carried over);
//! - averages add their count and sum;
//! - windowed fields add their count and sum, and their slots period by period;
//! - gauges, texts, constants, timestamps and moving averages describe one thread's present
//!   and are not folded.
//!
//! The totals file is named from the same directory and template as the file it totals, with
//! `{TID}` replaced by `totals` (default `{CMD}-{PID}-totals.mmstats`); its header has thread
//! id 0 and the `PROCESS` bit set in `state`. It is created on the first fold, under a
//! process-wide lock that serialises every fold, and gains a field (same label, kind and shape)
//! the first time a thread brings one; a field whose label is taken by another kind or shape,
//! or that no longer fits, is left out. Values a handle writes after its stats object is gone
//! are not folded.
//!
//! The fold reads the ending file's own words back: the folding thread is the file's only
//! writer, so plain loads see exactly what it wrote.
//!
//! Removal: when the process exits normally (after the exiting thread's own instances have
//! been dropped and folded), and when [`remove_all`] is called, the totals file and the files
//! of the process's other stats objects still alive are removed too (not those created with
//! [`Options::keep`]), as the original mmstats did.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use mmstats_format::layout::{HEADER_LEN, RECORD_LEN, header as h, state};
use mmstats_format::{
    ByteOrder, FieldMeta, Header, Kind, Num, Reserve, TableView, Value, ValueType,
};

use crate::dir;
use crate::identity;
use crate::options::Options;
use crate::region::Slot;
use crate::seqlock::WriteGuard;
use crate::stats::Stats;

/// Room in a totals file: 256 fields, 16 KiB of labels and help, 256 KiB of values (sixteen
/// histograms of every `u64`).
const RESERVE: Reserve = Reserve {
    fields: 256,
    strings: 16 * 1024,
    values: 256 * 1024,
};

/// Where a stats object's totals go: the directory, template and name it was created with.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    dir: Option<PathBuf>,
    template: Option<String>,
    name: String,
}

impl Target {
    /// The target of a stats object created with `options`.
    pub(crate) fn of(options: &Options) -> Target {
        Target {
            dir: options.dir.clone(),
            template: options.file_template.clone(),
            name: options.name.clone(),
        }
    }

    /// The totals file's template: the file's own, with `totals` for the thread id.
    fn template(&self) -> String {
        let t = dir::template(self.template.as_deref());
        if t.contains("{TID}") {
            t.replace("{TID}", "totals")
        } else if let Some(stem) = t.strip_suffix(".mmstats") {
            format!("{stem}-totals.mmstats")
        } else {
            format!("{t}-totals")
        }
    }
}

/// One process totals file and the fields it has so far.
#[derive(Debug)]
struct Totals {
    pid: u32,
    path: PathBuf,
    stats: Stats,
    fields: Vec<(FieldMeta, Slot)>,
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

/// Every totals file of the process. Lock order: `TOTALS` before `LIVE`.
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
        if let Ok(md) = std::fs::symlink_metadata(&t.path) {
            if md.dev() == t.dev && md.ino() == t.ino {
                let _ = std::fs::remove_file(&t.path);
            }
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

/// Adds the final values of `src` into its process totals file (module docs). Errors are
/// dropped: this runs while a stats object is dropped, which cannot report them.
pub(crate) fn fold(src: &Stats, target: &Target) {
    let Some((order, fields)) = read_own(src) else {
        return;
    };
    let mut all = lock(&TOTALS);
    let Some(totals) = totals_for(&mut all, target) else {
        return;
    };
    for (meta, words) in fields {
        totals.add(&meta, &words, order);
    }
}

/// A field's metadata and its slot's final words.
type FinalValue = (FieldMeta, Vec<u64>);

/// The fields of `src` that fold, with their slot words (native values), read back from its
/// own mapping.
fn read_own(src: &Stats) -> Option<(ByteOrder, Vec<FinalValue>)> {
    let region = src.region();
    let len = region
        .word(h::FILE_LENGTH)?
        .load(std::sync::atomic::Ordering::Relaxed) as usize;
    let mut bytes = Vec::with_capacity(len);
    for off in (0..len).step_by(8) {
        let w = region.word(off)?.load(std::sync::atomic::Ordering::Relaxed);
        bytes.extend_from_slice(&w.to_ne_bytes());
    }
    let header = Header::decode(&bytes, len as u64).ok()?;
    let count = usize::try_from(header.live.field_count).ok()?;
    let s0 = header.geometry.strings_offset as usize;
    let view = TableView {
        order: header.byte_order,
        table: bytes.get(HEADER_LEN..HEADER_LEN + count * RECORD_LEN)?,
        strings_offset: header.geometry.strings_offset,
        strings: bytes.get(s0..s0 + header.live.strings_used as usize)?,
        values_offset: header.geometry.values_offset,
        values_used: header.live.values_used,
    };
    let fields = view.decode().ok()?;
    let out = fields
        .into_iter()
        .filter(|f| folds(&f.meta))
        .filter_map(|f| {
            let start = f.value_offset as usize;
            let slot = bytes.get(start..start + f.value_length as usize)?;
            let words = slot
                .chunks_exact(8)
                .map(|c| {
                    header
                        .byte_order
                        .word(u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
                })
                .collect();
            Some((f.meta, words))
        })
        .collect();
    Some((header.byte_order, out))
}

/// True for the kinds that fold (module docs).
fn folds(meta: &FieldMeta) -> bool {
    match meta.kind {
        Kind::Counter => true,
        Kind::Average | Kind::Histogram | Kind::Timer | Kind::Windowed => true,
        Kind::Gauge | Kind::Constant | Kind::Text | Kind::Timestamp | Kind::MovingAverage => false,
    }
}

/// The totals file of `target`, created if this is the first fold into it.
fn totals_for<'a>(all: &'a mut Vec<Totals>, target: &Target) -> Option<&'a mut Totals> {
    let template = target.template();
    let pid = std::process::id();
    let name = dir::file_name(&template, &identity::command(), pid, 0, &target.name).ok()?;
    let path = dir::resolve(target.dir.as_deref()).join(name);
    if let Some(i) = all.iter().position(|t| t.path == path) {
        return all.get_mut(i);
    }
    let mut options = Options::new()
        .file_template(&template)
        .name(&target.name)
        .reserve(RESERVE);
    options.dir.clone_from(&target.dir);
    let mut id = identity::current();
    id.tid = 0;
    let stats = Stats::create_as(options, id).ok()?;
    stats.set_state(state::PROCESS);
    all.push(Totals {
        pid,
        path,
        stats,
        fields: Vec::new(),
    });
    all.last_mut()
}

/// Adds two widened "num" words of type `vt` (FORMAT.md §5): floats as floats, integers
/// with wrapping.
fn add_num(vt: ValueType, a: u64, b: u64) -> u64 {
    if vt.is_float() {
        (f64::from_bits(a) + f64::from_bits(b)).to_bits()
    } else {
        a.wrapping_add(b)
    }
}

/// The 64-bit type of a counter's class: folded counters are stored wide.
fn wide(vt: ValueType) -> ValueType {
    if vt.is_float() {
        ValueType::F64
    } else if vt.is_signed() {
        ValueType::I64
    } else {
        ValueType::U64
    }
}

impl Totals {
    /// The totals slot of `meta`, registered on first use; `None` if the label is taken by a
    /// field of another kind or shape, or the file is full.
    fn slot(&mut self, meta: &FieldMeta) -> Option<(&FieldMeta, &Slot)> {
        let mut want = meta.clone();
        if want.kind == Kind::Counter {
            want.value_type = wide(want.value_type);
        }
        let i = match self.fields.iter().position(|(m, _)| m.label == want.label) {
            Some(i) => i,
            None => {
                let slot = self.stats.register_slot(want.clone()).ok()?;
                self.fields.push((want.clone(), slot));
                self.fields.len() - 1
            }
        };
        let (m, s) = &self.fields[i];
        let same = m.kind == want.kind
            && m.value_type == want.value_type
            && m.param == want.param
            && m.capacity == want.capacity;
        same.then_some((m, s))
    }

    /// Adds one field's final words (native values, seq first for multi-word kinds).
    fn add(&mut self, meta: &FieldMeta, words: &[u64], order: ByteOrder) {
        let Ok(value) = Value::decode(meta, words, order) else {
            return;
        };
        let Some((m, slot)) = self.slot(meta) else {
            return;
        };
        let vt = m.value_type;
        use std::sync::atomic::Ordering::Relaxed;
        let add = |i: usize, v: u64| {
            let w = slot.word(i);
            w.store(w.load(Relaxed).wrapping_add(v), Relaxed);
        };
        match value {
            Value::Number(n) => {
                let w = slot.first();
                let sum = match n {
                    Num::F(f) => (f64::from_bits(w.load(Relaxed)) + f).to_bits(),
                    Num::U(u) => w.load(Relaxed).wrapping_add(u),
                    Num::I(i) => w.load(Relaxed).wrapping_add(i as u64),
                };
                w.store(sum, Relaxed);
            }
            Value::Average { count, sum } => {
                let _g = WriteGuard::begin(slot.first());
                add(1, count);
                let s = slot.word(2);
                s.store(add_num(vt, s.load(Relaxed), sum.to_wide(vt)), Relaxed);
            }
            Value::Histogram(x) => {
                let _g = WriteGuard::begin(slot.first());
                add(1, x.count);
                add(2, x.sum);
                let min = slot.word(3);
                min.store(min.load(Relaxed).min(x.min), Relaxed);
                let max = slot.word(4);
                max.store(max.load(Relaxed).max(x.max), Relaxed);
                if x.count > 0 {
                    slot.word(5).store(x.last, Relaxed);
                }
                for (i, b) in x.buckets.iter().enumerate().filter(|(_, b)| **b > 0) {
                    add(8 + i, *b);
                }
            }
            Value::Windowed(x) => {
                let _g = WriteGuard::begin(slot.first());
                add(1, x.count);
                let s = slot.word(2);
                s.store(add_num(vt, s.load(Relaxed), x.sum.to_wide(vt)), Relaxed);
                for (j, p) in x.slots.iter().enumerate().filter(|(_, p)| p.period != 0) {
                    let base = 3 + 3 * j;
                    let period = slot.word(base).load(Relaxed);
                    if period == p.period {
                        add(base + 1, p.count);
                        let s = slot.word(base + 2);
                        s.store(add_num(vt, s.load(Relaxed), p.sum.to_wide(vt)), Relaxed);
                    } else if period < p.period {
                        slot.word(base).store(p.period, Relaxed);
                        slot.word(base + 1).store(p.count, Relaxed);
                        slot.word(base + 2).store(p.sum.to_wide(vt), Relaxed);
                    }
                }
            }
            Value::Bool(_) | Value::Text(_) | Value::MovingAverage { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(template: &str) -> Target {
        Target {
            dir: None,
            template: Some(template.into()),
            name: "m".into(),
        }
    }

    #[test]
    fn the_totals_name_replaces_the_thread_id() {
        assert_eq!(
            target("{CMD}-{PID}-{TID}.mmstats").template(),
            "{CMD}-{PID}-totals.mmstats"
        );
        assert_eq!(target("{NAME}.mmstats").template(), "{NAME}-totals.mmstats");
        assert_eq!(target("x").template(), "x-totals");
    }

    #[test]
    fn sums_add_by_class() {
        assert_eq!(add_num(ValueType::U8, 250, 10), 260);
        assert_eq!(add_num(ValueType::I32, (-5i64) as u64, 3), (-2i64) as u64);
        assert_eq!(
            add_num(ValueType::F32, 1.5f64.to_bits(), 2.0f64.to_bits()),
            3.5f64.to_bits()
        );
        assert_eq!(wide(ValueType::U16), ValueType::U64);
        assert_eq!(wide(ValueType::I8), ValueType::I64);
        assert_eq!(wide(ValueType::F32), ValueType::F64);
    }
}
