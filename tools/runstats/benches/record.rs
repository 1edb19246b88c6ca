//! What recording costs: one tick of runstats (read the process tree, scan and derive the
//! stats files of 100 processes, read the perf counters, the host's resources and the 100
//! processes' own, store the samples) with the commits
//! of a 1 s and of a 100 ms interval (one commit every 2 s). A tick's time divided by the
//! interval is the share of one core runstats takes from the workload; the goal at 1 s is
//! below 1%. Then each part of a tick alone (`part: ...`): each source, the process tree,
//! the store of one tick's samples.
//!
//! The 100 processes are this benchmark's own executable started as writers: each publishes
//! 12 counters, 3 gauges, a timer and a histogram, updated 100 times a second. Each measured
//! tick (or part) comes [`SETTLE`] after the one before, as at a real interval every file has
//! changed since: ticks run back to back would find most files as they were at the previous
//! one, which the reader's interval engine hands over again at almost no cost, and would seem
//! cheaper the faster they run. Only the CPU time of the ticks is counted, not the waits.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use runstats::record::now_ms;
use runstats::source::mmstats::MmstatsSource;
use runstats::source::perf::PerfSource;
use runstats::source::resource::{HostResources, ProcessResources};
use runstats::source::{Sample, Source};
use runstats::store::Store;
use runstats::tree::{self, TreeReader};

const PROCESSES: usize = 100;
/// The wait before each measured tick: two of the writers' updates.
const SETTLE: Duration = Duration::from_millis(20);
const CHILD_ENV: &str = "RUNSTATS_BENCH_WRITER_DIR";

/// The writer side: publish until standard input closes (or five minutes pass).
fn writer(dir: &str) {
    let stats = mmstats::Stats::create(mmstats::Options::new().name("writer").dir(dir))
        .expect("create stats");
    let counters: Vec<mmstats::Counter> = (0..12)
        .map(|i| stats.counter(&format!("bench.c{i}")).register().unwrap())
        .collect();
    let gauges: Vec<mmstats::Gauge<i64>> = (0..3)
        .map(|i| stats.gauge(&format!("bench.g{i}")).register().unwrap())
        .collect();
    let timer = stats.timer("bench.latency", 100).register().unwrap();
    let sizes = stats.histogram("bench.size").register().unwrap();
    println!("ready");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = tx.send(());
    });
    let start = Instant::now();
    let mut n = 0u64;
    while rx.try_recv().is_err() && start.elapsed() < Duration::from_secs(300) {
        n += 1;
        for c in &counters {
            c.incr(1);
        }
        for g in &gauges {
            g.set(n as i64);
        }
        {
            let _t = timer.start();
            sizes.record(n % 5000);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Writers(Vec<Child>);

impl Drop for Writers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            drop(c.stdin.take());
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn bench(c: &mut Criterion) {
    let stats = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(stats.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut writers = Writers(Vec::new());
    for _ in 0..PROCESSES {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, stats.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a writer");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        writers.0.push(child);
    }
    let me = std::process::id();
    let tids: Vec<u32> = writers
        .0
        .iter()
        .flat_map(|w| tree::threads(w.id()))
        .collect();
    let glob = format!("{}/*.mmstats", stats.path().display());
    let mut sources: Vec<Box<dyn Source>> = vec![
        Box::new(MmstatsSource::new(vec![glob])),
        Box::new(PerfSource::attach(&tids, false)),
        Box::new(HostResources::new()),
        Box::new(ProcessResources::new()),
    ];
    let db = tempfile::tempdir().unwrap();
    let mut store = Store::create(&db.path().join("samples.db"), "bench", "bench", "", 0).unwrap();
    let mut samples: Vec<Sample> = Vec::new();
    let mut trees = TreeReader::new();
    let mut tick = |store: &mut Store| -> usize {
        let t = now_ms();
        let tree = trees.read(me, None);
        samples.clear();
        for s in &mut sources {
            s.sample(&tree, t, &mut samples);
            s.problems();
        }
        store.insert(t, &samples).unwrap();
        samples.len()
    };
    tick(&mut store);
    tick(&mut store);
    let series = tick(&mut store);
    assert!(series > PROCESSES * 20, "only {series} samples a tick");

    let mut g = c.benchmark_group(format!("runstats tick, {PROCESSES} processes"));
    for (name, commit_every) in [("tick at 1 s", 2u32), ("tick at 100 ms", 20u32)] {
        let mut n = 0u32;
        // The CPU time runstats uses (all its threads), not the wall time: the writers share
        // the machine's cores and would otherwise be counted as runstats' cost.
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(SETTLE);
                    let start = cpu_time();
                    std::hint::black_box(tick(&mut store));
                    n += 1;
                    if n.is_multiple_of(commit_every) {
                        store.commit().unwrap();
                    }
                    spent += cpu_time() - start;
                }
                spent
            })
        });
    }
    // The parts of a tick, each alone: where its time goes.
    let tree = trees.read(me, None);
    for s in &mut sources {
        let mut out = Vec::new();
        g.bench_function(format!("part: {} source", s.name()), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(SETTLE);
                    let start = cpu_time();
                    out.clear();
                    s.sample(&tree, now_ms(), &mut out);
                    s.problems();
                    spent += cpu_time() - start;
                }
                spent
            })
        });
    }
    let mut reader = TreeReader::new();
    g.bench_function("part: process tree", |b| {
        b.iter_custom(|iters| {
            let start = cpu_time();
            for _ in 0..iters {
                std::hint::black_box(reader.read(me, None));
            }
            cpu_time() - start
        })
    });
    let mut n = 0u32;
    g.bench_function(format!("part: store ({} samples)", samples.len()), |b| {
        b.iter_custom(|iters| {
            let start = cpu_time();
            for _ in 0..iters {
                store.insert(now_ms(), &samples).unwrap();
                n += 1;
                if n.is_multiple_of(2) {
                    store.commit().unwrap();
                }
            }
            cpu_time() - start
        })
    });
    g.finish();
    drop(writers);
}

/// User and system CPU time of this process so far.
fn cpu_time() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let d = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    d(u.user_time()) + d(u.system_time())
}

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        writer(&dir);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
