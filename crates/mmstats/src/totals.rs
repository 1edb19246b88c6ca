//! Process totals: when a thread's stats file goes away, its counters are first added to a
//! per-process file, so that sums across a process's files never go backwards (FORMAT.md §2.1
//! state `PROCESS`).
//!
//! One totals file per model type and process, with thread id 0 and the `PROCESS` state bit,
//! created when the first thread's file of that model is folded. Every fold holds one
//! process-wide lock, so the totals file keeps a single writer at a time. What is folded:
//! counters (added), averages (count and sum added), histograms and timers (count, sum and
//! buckets added, min and max combined, last replaced). Gauges, texts, constants and
//! time-windowed fields describe the thread that ended and are not folded.
//!
//! The totals file lives until the process exits and is then left for cleaners, like the file
//! of a thread whose destructors did not run.

use std::any::TypeId;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, PoisonError};

use mmstats_format::{Kind, ValueType};

use crate::options::Options;
use crate::seqlock::WriteGuard;
use crate::stats::{Published, Stats};

/// Which totals file a thread's file folds into: one per model type.
#[derive(Debug, Clone)]
pub(crate) struct TotalsKey {
    /// The model's type.
    pub(crate) model: TypeId,
    /// The model's name, for `{NAME}`.
    pub(crate) name: &'static str,
    /// The directory of the model's files (`None`: from the environment).
    pub(crate) dir: Option<std::path::PathBuf>,
    /// The file name template of the model's files.
    pub(crate) template: Option<String>,
}

/// The totals files of this process, by model type.
static TOTALS: Mutex<Vec<(TypeId, Stats)>> = Mutex::new(Vec::new());

/// Adds the foldable fields of `stats` into the totals file of `key`, creating it if needed.
/// Failures (no room, a file name taken) leave the totals as they were: they cannot be
/// reported from a thread's exit.
pub(crate) fn fold(key: &TotalsKey, stats: &Stats) {
    let mut all = TOTALS.lock().unwrap_or_else(PoisonError::into_inner);
    let index = match all.iter().position(|(m, _)| *m == key.model) {
        Some(i) => i,
        None => {
            let mut options = Options::new().name(key.name).reserve(stats.capacities());
            options.dir.clone_from(&key.dir);
            options.file_template.clone_from(&key.template);
            options.totals = true;
            let Ok(totals) = Stats::create(options) else {
                return;
            };
            all.push((key.model, totals));
            all.len() - 1
        }
    };
    let totals = &all[index].1;
    for field in stats.published() {
        if !matches!(
            field.meta.kind,
            Kind::Counter | Kind::Average | Kind::Histogram | Kind::Timer
        ) {
            continue;
        }
        if let Some(dst) = totals.find_or_publish(&field.meta) {
            add(stats, &field, totals, &dst);
        }
    }
}

/// Adds one field's values into the same field of the totals file.
fn add(src_stats: &Stats, src: &Published, dst_stats: &Stats, dst: &Published) {
    let vt = src.meta.value_type;
    let s = |i: usize| src_stats.value_word(src, i).load(Relaxed);
    let d = |i: usize| dst_stats.value_word(dst, i);
    let plus = |i: usize, f: fn(ValueType, u64, u64) -> u64| {
        let w = d(i);
        w.store(f(vt, w.load(Relaxed), s(i)), Relaxed);
    };
    match src.meta.kind {
        Kind::Counter => plus(0, add_word),
        Kind::Average => {
            let _g = WriteGuard::begin(d(0));
            plus(1, add_int);
            plus(2, add_wide);
        }
        Kind::Histogram | Kind::Timer => {
            if s(1) == 0 {
                return;
            }
            let _g = WriteGuard::begin(d(0));
            plus(1, add_int);
            plus(2, add_int);
            d(3).store(d(3).load(Relaxed).min(s(3)), Relaxed);
            d(4).store(d(4).load(Relaxed).max(s(4)), Relaxed);
            d(5).store(s(5), Relaxed);
            for i in 8..src.words.min(dst.words) {
                plus(i, add_int);
            }
        }
        _ => {}
    }
}

/// Adds two words of a counter of type `vt` (FORMAT.md §4.1).
fn add_word(vt: ValueType, a: u64, b: u64) -> u64 {
    match vt {
        ValueType::F64 => (f64::from_bits(a) + f64::from_bits(b)).to_bits(),
        ValueType::F32 => {
            u64::from((f32::from_bits(a as u32) + f32::from_bits(b as u32)).to_bits())
        }
        _ => a.wrapping_add(b),
    }
}

/// Adds two "num" words of type `vt` (FORMAT.md §5).
fn add_wide(vt: ValueType, a: u64, b: u64) -> u64 {
    if vt.is_float() {
        (f64::from_bits(a) + f64::from_bits(b)).to_bits()
    } else {
        a.wrapping_add(b)
    }
}

/// Adds two integer words, wrapping.
fn add_int(_: ValueType, a: u64, b: u64) -> u64 {
    a.wrapping_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_format::layout::{HEADER_LEN, RECORD_LEN, state};
    use mmstats_format::{FieldMeta, Header, Histogram, Num, TableView, Value, bucket_index};

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
        let p = stats.find_or_publish(&counter).unwrap();
        stats.value_word(&p, 0).store(c, Relaxed);
        let p = stats.find_or_publish(&average).unwrap();
        stats.value_word(&p, 1).store(avg.len() as u64, Relaxed);
        stats.value_word(&p, 2).store(avg.iter().sum(), Relaxed);
        let p = stats.find_or_publish(&hist).unwrap();
        let mut h = Histogram::empty(5, 64);
        for v in values {
            h.record(*v);
        }
        let head = [0, h.count, h.sum, h.min, h.max, h.last, 0, 0];
        for (i, w) in head.iter().chain(&h.buckets).enumerate() {
            stats.value_word(&p, i).store(*w, Relaxed);
        }
        stats
    }

    fn values(path: &std::path::Path) -> (Header, Vec<(String, Value)>) {
        let bytes = std::fs::read(path).unwrap();
        let h = Header::decode(&bytes, bytes.len() as u64).unwrap();
        let s0 = h.geometry.strings_offset as usize;
        let view = TableView {
            order: h.byte_order,
            table: &bytes[HEADER_LEN..HEADER_LEN + h.live.field_count as usize * RECORD_LEN],
            strings_offset: h.geometry.strings_offset,
            strings: &bytes[s0..s0 + h.live.strings_used as usize],
            values_offset: h.geometry.values_offset,
            values_used: h.live.values_used,
        };
        let out = view
            .decode()
            .unwrap()
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
            name: "t",
            dir: Some(tmp.path().to_path_buf()),
            template: Some("{NAME}-{TID}.mmstats".into()),
        };
        let mut one = thread_file(tmp.path(), "one", 3, &[4, 6], &[5, 100]);
        let one_path = one.path().to_path_buf();
        one.fold_on_close(key.clone());
        drop(one);
        assert!(!one_path.exists());
        let totals = tmp.path().join("t-0.mmstats");
        let two = thread_file(tmp.path(), "two", 4, &[5], &[1]);
        fold(&key, &two);

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
        assert_eq!(hist.buckets[bucket_index(100, 5).min(63)], 1);
        assert_eq!(hist.buckets[1] + hist.buckets[5], 2);
        assert_eq!(hist.buckets.iter().sum::<u64>(), 3);
        assert_eq!(get("sys.tid"), Value::Number(Num::U(0)));
    }

    #[test]
    fn words_add_in_their_type() {
        assert_eq!(add_word(ValueType::U64, u64::MAX, 2), 1);
        assert_eq!(
            f64::from_bits(add_word(ValueType::F64, 1.5f64.to_bits(), 2f64.to_bits())),
            3.5
        );
        let f = add_word(
            ValueType::F32,
            u64::from(1.5f32.to_bits()),
            u64::from(0.25f32.to_bits()),
        );
        assert_eq!(f >> 32, 0);
        assert_eq!(f32::from_bits(f as u32), 1.75);
        assert_eq!(
            f64::from_bits(add_wide(ValueType::F32, 1f64.to_bits(), 2f64.to_bits())),
            3.0
        );
        assert_eq!(add_wide(ValueType::I64, (-3i64) as u64, 1), (-2i64) as u64);
    }
}
