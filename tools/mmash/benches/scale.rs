//! How reading and serving scale with the number of files: 100, 1,000 and 10,000 files of the
//! 50-field mix (30 counters, 10 gauges, 4 texts, 2 averages, 2 histograms, 2 timers), each
//! file its own process, on tmpfs.
//!
//! Group `scale`, one case per measurement, the file count as its parameter:
//! - `scan, idle`: `Scanner::scan` when no file changed (goal: at most 2 µs a file);
//! - `scan, every histogram changed` and its yardstick, a memcpy of the used value bytes (goal:
//!   within 3x of it): `memcpy of the used value bytes, out of the mappings` copies each file's
//!   used value bytes from where they are (the files' own mappings, one `memcpy` per field),
//!   and `memcpy of the used value bytes, out of one buffer` the same number of bytes from one
//!   contiguous buffer, which has none of the cost of reading 10,000 separate mappings. The
//!   scan reuses the storage of values no snapshot holds any more, as here, where each scan's
//!   snapshots are dropped before the next; `scan, every histogram changed, the last scan
//!   held` keeps the previous scan's snapshots alive through the next, as the interval engine
//!   does, so that each changed file takes new storage;
//! - `sampler tick`: mmash's once-a-second work (scan, intervals, history, rollup; goal: under
//!   1% of a core at 1,000 files, under 5% at 10,000);
//! - `/metrics`: what mmash's `/metrics` streams, every chunk of the Prometheus text of the
//!   sampler's current sample, one series per process (goal: under 300 ms at 10,000 files);
//! - `slurpstats --json` and `slurpstats --ndjson`: the whole command, run as a child, its
//!   output thrown away (goal: under 3 s at 10,000 files; build it first with
//!   `cargo build --release -p slurpstats`, as `scripts/bench` does).
//!
//! Besides the times, it counts the heap a sampler keeps (scanner, interval engine and the
//! latest scan, after two scans) with a counting allocator, and the peak memory of
//! `slurpstats --json` and `--ndjson`, and writes them to `target/criterion/scale-memory.json` for
//! `scripts/bench-table` (goals: at most 20 KB a file; slurpstats under 100 MB).
//!
//! 10,000-file cases take ten samples of one iteration each, so the whole run stays a few
//! minutes. `SCALE_FILES=100,1000` runs only those file counts.

#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use mmash::paths::Roots;
use mmash::server::State;
use mmash::stream::ScrapeChunks;
use mmstats_reader::{Intervals, Scanner, Value};
use mmstats_render::prometheus::{PromOptions, Selection};
use mmstats_testkit::file::WrittenFile;
use mmstats_testkit::mix;

/// The system allocator, counting the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on as it is.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const COUNTS: [u32; 3] = [100, 1_000, 10_000];

/// The file counts to run: `SCALE_FILES` (e.g. `100,1000`) if set, else [`COUNTS`].
fn counts() -> Vec<u32> {
    match std::env::var("SCALE_FILES") {
        Ok(list) => list
            .split(',')
            .map(|c| {
                c.trim()
                    .parse()
                    .expect("SCALE_FILES: file counts, comma-separated")
            })
            .collect(),
        Err(_) => COUNTS.to_vec(),
    }
}

/// `count` files of the mix in a fresh directory under /dev/shm (tmpfs, as stats directories
/// are), with the slot offsets of each file's histograms and timers.
fn build(count: u32) -> (tempfile::TempDir, Vec<WrittenFile>) {
    let dir = tempfile::Builder::new()
        .prefix("mmstats-scale-")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let files = mix::write_files(dir.path(), count, 100_000);
    (dir, files)
}

/// The target directory, from this benchmark's own path (target/<profile>/deps/scale-*).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// The value bytes a reader must copy out of one file when everything changed, as (offset,
/// length) in the file, one range a field: one word per scalar, the sequence word and words of
/// each multi-word value, a histogram's eight head words and its buckets up to the bucket of
/// `max` (those a consistent copy can have non-zero, FORMAT.md §5.5).
fn used_value_ranges(snap: &mmstats_reader::Snapshot, file: &WrittenFile) -> Vec<(usize, usize)> {
    snap.fields
        .iter()
        .map(|f| {
            let len = match &f.value {
                Ok(Value::Histogram(h)) => {
                    let (k, capacity) = (u32::from(f.meta.param), f.meta.capacity as usize);
                    8 * (8 + mmstats_format::used_buckets(h.count, h.max, k, capacity))
                }
                Ok(Value::Text(_)) => 8 + f.meta.capacity as usize,
                Ok(Value::Average { .. }) => 24,
                _ => 8,
            };
            (file.offsets[&*f.meta.label], len)
        })
        .collect()
}

/// A file of the bench mapped read-only, for the memcpy out of the mappings.
struct Mapped {
    map: memmap2::MmapRaw,
    /// Its used value ranges, in file order.
    ranges: Vec<(usize, usize)>,
}

impl Mapped {
    fn new(file: &WrittenFile, snap: &mmstats_reader::Snapshot) -> Mapped {
        let f = std::fs::File::open(&file.path).unwrap();
        let map = memmap2::MmapOptions::new().map_raw_read_only(&f).unwrap();
        let mut ranges = used_value_ranges(snap, file);
        ranges.sort_unstable();
        assert!(ranges.iter().all(|(off, len)| off + len <= map.len()));
        Mapped { map, ranges }
    }

    /// Copies every used range into `dest`, one after the other.
    fn copy_into(&self, dest: &mut [u8]) {
        let mut at = 0;
        for &(off, len) in &self.ranges {
            let to = &mut dest[at..at + len];
            // SAFETY: `off + len` is within the mapping (checked in `new`), which lives as long
            // as `self`; `to` is `len` bytes of our own buffer, which no mapping overlaps. No
            // reference to the mapped bytes is formed, and nothing writes the files while the
            // copies run (the bench's own writes come before, on this thread).
            unsafe {
                std::ptr::copy_nonoverlapping(self.map.as_ptr().add(off), to.as_mut_ptr(), len)
            };
            at += len;
        }
    }
}

/// A file of the bench mapped shared and writable, as its writer maps it: what makes its
/// histograms change between two scans.
struct Writer {
    map: memmap2::MmapRaw,
    /// Byte offsets of the sequence words of its histograms and timers.
    sequence_words: Vec<usize>,
}

impl Writer {
    fn new(file: &WrittenFile) -> Writer {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&file.path)
            .unwrap();
        let map = memmap2::MmapRaw::map_raw(&f).unwrap();
        let sequence_words: Vec<usize> = mix::HISTOGRAMS
            .iter()
            .map(|label| file.offsets[*label])
            .collect();
        assert!(
            sequence_words
                .iter()
                .all(|off| off % 8 == 0 && off + 8 <= map.len())
        );
        Writer {
            map,
            sequence_words,
        }
    }

    /// Stores `seq` into every histogram's sequence word, as a writer ends an update.
    fn store_sequence_words(&self, seq: u64) {
        for &off in &self.sequence_words {
            // SAFETY: `off` is an 8-aligned word inside the mapping (checked in `new`; the
            // mapping is page-aligned), which lives as long as `self`; every access to these
            // words, ours and the reader's, is an 8-byte atomic one (FORMAT.md §4).
            let word = unsafe {
                std::sync::atomic::AtomicU64::from_ptr(self.map.as_mut_ptr().add(off).cast())
            };
            word.store(seq, Ordering::Release);
        }
    }
}

/// Heap bytes a sampler keeps for `roots`: scanner, interval engine and the latest scan, after
/// two scans.
fn sampler_heap(roots: &Roots) -> isize {
    let before = LIVE.load(Ordering::Relaxed);
    let mut scanner = Scanner::new(roots.patterns());
    let mut engine = Intervals::new();
    let first = scanner.scan();
    engine.update(&first.snapshots);
    drop(first);
    let scan = scanner.scan();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors.first());
    let sample = engine.update(&scan.snapshots);
    let kept = LIVE.load(Ordering::Relaxed) - before;
    drop((scanner, engine, scan, sample));
    kept
}

/// CPU time this thread has used (user and system).
fn thread_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage");
    let time =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    time(usage.user_time()) + time(usage.system_time())
}

/// Runs `slurpstats FORMAT` (`--json` or `--ndjson`) over `dir` once; its wall time and peak
/// resident memory in bytes.
fn slurpstats(bin: &Path, format: &str, dir: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin)
        .arg(format)
        .arg(format!("{}/*.mmstats", dir.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run slurpstats under /usr/bin/time");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "slurpstats {format} failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib: u64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("peak memory from /usr/bin/time");
    (elapsed, kib * 1024)
}

/// The time of `iters` scans, each after every histogram's sequence word of every file moved
/// on by two (`seq`, still even: no write in progress) as a writer ends an update. Each scan's
/// snapshots go to `keep` once the scan's time is taken: dropped, or held through the next
/// scan; the snapshots they replace are released outside the timing either way.
fn changed_scans(
    iters: u64,
    seq: &mut u64,
    writers: &[Writer],
    scanner: &mut Scanner,
    mut keep: impl FnMut(Vec<mmstats_reader::Snapshot>),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        *seq += 2;
        for w in writers {
            w.store_sequence_words(*seq);
        }
        let start = Instant::now();
        let snapshots = scanner.scan().snapshots;
        total += start.elapsed();
        assert_eq!(snapshots.len(), writers.len());
        keep(snapshots);
    }
    total
}

fn bench(c: &mut Criterion) {
    let _ = mmstats_tool::raise_open_file_limit();
    let slurpstats_bin = target_dir().join("release").join("slurpstats");
    let mut memory = serde_json::Map::new();
    let mut g = c.benchmark_group("scale");
    for count in counts() {
        let (dir, files) = build(count);
        let big = count >= 10_000;
        if big {
            g.sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(1))
                .measurement_time(Duration::from_secs(1));
        } else {
            g.sample_size(20)
                .sampling_mode(SamplingMode::Auto)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
        }
        let roots = Roots::new(vec![dir.path().to_path_buf()], "*.mmstats").unwrap();

        let mut scanner = Scanner::new(roots.patterns());
        let snaps = scanner.scan().snapshots;
        assert_eq!(snaps.len(), count as usize);
        assert_eq!(snaps[0].fields.len(), 50);
        g.bench_with_input(BenchmarkId::new("scan, idle", count), &count, |b, _| {
            b.iter(|| scanner.scan().snapshots.len())
        });

        // Every histogram and timer of every file changes between two scans: its sequence
        // word moves on by two (still even: no write in progress), so its copy is stale. The
        // words are stored as a writer stores them, through a shared mapping of the file.
        let mut seq = 0u64;
        let writers: Vec<Writer> = files.iter().map(Writer::new).collect();
        g.bench_with_input(
            BenchmarkId::new("scan, every histogram changed", count),
            &count,
            |b, _| {
                b.iter_custom(|iters| changed_scans(iters, &mut seq, &writers, &mut scanner, drop))
            },
        );
        let mut held = scanner.scan().snapshots;
        g.bench_with_input(
            BenchmarkId::new("scan, every histogram changed, the last scan held", count),
            &count,
            |b, _| {
                b.iter_custom(|iters| {
                    changed_scans(iters, &mut seq, &writers, &mut scanner, |next| {
                        held = next;
                    })
                })
            },
        );
        drop(held);
        drop(writers);
        let by_path: std::collections::HashMap<&Path, &mmstats_reader::Snapshot> =
            snaps.iter().map(|s| (s.path.as_path(), s)).collect();
        let mapped: Vec<Mapped> = files
            .iter()
            .map(|f| Mapped::new(f, by_path[f.path.as_path()]))
            .collect();
        let used: usize = mapped[0].ranges.iter().map(|(_, len)| len).sum();
        assert!(
            mapped
                .iter()
                .all(|m| m.ranges.iter().map(|r| r.1).sum::<usize>() == used)
        );
        let mut dest = vec![0u8; used];
        g.bench_with_input(
            BenchmarkId::new("memcpy of the used value bytes, out of the mappings", count),
            &count,
            |b, _| {
                b.iter(|| {
                    for m in &mapped {
                        m.copy_into(std::hint::black_box(&mut dest));
                        std::hint::black_box(&mut dest);
                    }
                })
            },
        );
        drop(mapped);
        let source = vec![7u8; used * count as usize];
        g.bench_with_input(
            BenchmarkId::new("memcpy of the used value bytes, out of one buffer", count),
            &count,
            |b, _| {
                b.iter(|| {
                    for chunk in source.chunks_exact(used) {
                        dest.copy_from_slice(std::hint::black_box(chunk));
                        std::hint::black_box(&mut dest);
                    }
                })
            },
        );
        drop(source);
        // One scanner's files open at a time: 10,000 files twice would pass the descriptor limit.
        drop(scanner);

        let state = State::new(roots.clone(), None, false, false);
        let mut tick_scanner = state.scanner();
        state.sample_once(&mut tick_scanner);
        g.bench_with_input(BenchmarkId::new("sampler tick", count), &count, |b, _| {
            b.iter(|| state.sample_once(&mut tick_scanner))
        });
        // The same ticks in CPU time (this thread's), which other work on the machine does not
        // inflate as it does the wall-clock times above.
        let ticks = if big { 5 } else { 20 };
        let cpu = thread_cpu();
        for _ in 0..ticks {
            state.sample_once(&mut tick_scanner);
        }
        let per_tick = (thread_cpu() - cpu) / ticks;
        memory.insert(
            format!("sampler tick cpu/{count}"),
            (per_tick.as_nanos() as u64).into(),
        );
        eprintln!("{count} files: a sampler tick takes {per_tick:?} of CPU time");
        let current = state.current();
        let errors = current.errors.first();
        assert_eq!(current.snapshots.len(), count as usize, "{errors:?}");
        // What mmash's /metrics streams: every chunk of the current sample's exposition.
        g.bench_with_input(BenchmarkId::new("/metrics", count), &count, |b, _| {
            b.iter(|| {
                ScrapeChunks::new(
                    current.clone(),
                    &PromOptions::default(),
                    &Selection::default(),
                )
                .map(|chunk| chunk.len())
                .sum::<usize>()
            })
        });
        drop((current, state, tick_scanner));

        if slurpstats_bin.is_file() {
            for format in ["--json", "--ndjson"] {
                g.bench_with_input(
                    BenchmarkId::new(format!("slurpstats {format}"), count),
                    &count,
                    |b, _| {
                        b.iter_custom(|iters| {
                            (0..iters)
                                .map(|_| slurpstats(&slurpstats_bin, format, dir.path()).0)
                                .sum()
                        })
                    },
                );
                let (_, peak) = slurpstats(&slurpstats_bin, format, dir.path());
                memory.insert(format!("slurpstats {format} peak/{count}"), peak.into());
            }
        } else {
            eprintln!(
                "{}: not built (cargo build --release -p slurpstats); slurpstats not measured",
                slurpstats_bin.display()
            );
        }
        drop(snaps);
        let kept = sampler_heap(&roots);
        memory.insert(format!("sampler heap/{count}"), kept.into());
        eprintln!(
            "{count} files: a sampler keeps {} bytes of heap, {} a file",
            kept,
            kept / count as isize
        );
        drop(dir);
    }
    g.finish();
    let path = target_dir().join("criterion").join("scale-memory.json");
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    std::fs::write(&path, serde_json::to_vec_pretty(&memory).unwrap()).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
