//! The cost of a `metrics` update through the mmstats recorder, against a plain mmstats
//! counter and against the atomic peers: `metrics-exporter-prometheus`'s recorder and
//! `metrics-util`'s atomic storage.
//!
//! Every case holds a `metrics` handle as a program would (registered once, then cached) and
//! runs a timed loop of `iters` updates by amounts the compiler cannot see. With two threads
//! both threads update **the same handle** at once, as the threads of a server do, and the time
//! reported is per update of one thread (the slowest thread's loop time divided by `iters`).
//! The plain mmstats counter gives each thread a counter of its own, as its files do. Every
//! case runs on the same two threads, kept for the whole run, so that no case's samples also
//! start threads or create and remove files.
//!
//! Run with `cargo bench -p mmstats-metrics -- --warm-up-time 1 --measurement-time 2`, then
//! `scripts/bench-table` prints the tables in `benches/README.md`.
//!
//! `metrics_facade_floor` is a recorder whose updates do nothing: the facade's own call, the
//! floor under every recorder.
//!
//! With `BRIDGE_CLOCK=cpu` each loop is timed by its thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of the wall clock: on a machine loaded by other work the
//! wall clock also counts the time a thread waited for a core. Contention between the two
//! threads still shows (a thread waiting for a cache line is running), though less of it when
//! one of them is off its core.
//!
//! `bridge --loop CASE OP ITERS` instead runs one case's loop `ITERS` times on the calling
//! thread and exits, for counting instructions with `valgrind --tool=callgrind
//! --toggle-collect=bridge::run` (the plain counter's loop is elsewhere): CASE is one of
//! `mmstats_metrics`, `metrics_exporter_prometheus`, `metrics_util_atomic`,
//! `metrics_facade_floor`, `mmstats_counter_incr`; OP one of `increment`, `set`, `record`. The
//! difference between two runs' counts divided by the difference of their `ITERS` is the cost
//! of one update, without the setup (benches/README.md shows the commands).

use std::hint::black_box;
use std::sync::{Arc, Barrier, OnceLock, mpsc};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use metrics::{Key, Level, Metadata, Recorder};

const META: Metadata<'static> = Metadata::new("bench", Level::INFO, None);

/// The start of a timed loop, by the clock `BRIDGE_CLOCK` selects.
enum Start {
    Wall(Instant),
    Cpu(Duration),
}

/// This thread's CPU time so far (`CLOCK_THREAD_CPUTIME_ID`, in nanoseconds).
fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("the thread's CPU clock");
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

impl Start {
    fn now() -> Start {
        static CPU: OnceLock<bool> = OnceLock::new();
        if *CPU.get_or_init(|| std::env::var("BRIDGE_CLOCK").is_ok_and(|c| c == "cpu")) {
            Start::Cpu(thread_cpu())
        } else {
            Start::Wall(Instant::now())
        }
    }
    fn elapsed(&self) -> Duration {
        match self {
            Start::Wall(t) => t.elapsed(),
            Start::Cpu(t) => thread_cpu().saturating_sub(*t),
        }
    }
}

/// The three `metrics` handles of one series.
#[derive(Clone)]
struct Handles {
    counter: metrics::Counter,
    gauge: metrics::Gauge,
    histogram: metrics::Histogram,
}

fn handles(r: &dyn Recorder) -> Handles {
    Handles {
        counter: r.register_counter(&Key::from_name("requests"), &META),
        gauge: r.register_gauge(&Key::from_name("depth"), &META),
        histogram: r.register_histogram(&Key::from_name("latency_seconds"), &META),
    }
}

/// The recorders compared, each with its handles.
struct Peers {
    bridge: Handles,
    /// The bridge's recorder, kept alive: its handles only hold it weakly, and updates through
    /// a dropped recorder are discarded.
    _recorder: mmstats_metrics::MmstatsRecorder,
    _dir: tempfile::TempDir,
    prometheus: Handles,
    atomic: Handles,
    floor: Handles,
    /// Drains the exporter's histograms, which keep every value until then.
    upkeep: metrics_exporter_prometheus::PrometheusHandle,
    /// The atomic storage's histogram, which keeps every value until cleared.
    bucket: Arc<metrics_util::storage::AtomicBucket<f64>>,
}

impl Peers {
    /// Frees what the peers' histograms hold, between timed batches.
    fn upkeep(&self) {
        self.upkeep.run_upkeep();
        self.bucket.clear();
    }
}

fn peers() -> Peers {
    let dir = tempfile::tempdir().expect("temporary directory");
    let bridge = mmstats_metrics::Builder::new().dir(dir.path()).build();
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let upkeep = prometheus.handle();
    let storage = metrics_util::registry::Registry::atomic();
    let bucket = storage.get_or_create_histogram(&Key::from_name("latency_seconds"), Arc::clone);
    let atomic = Handles {
        counter: metrics::Counter::from_arc(
            storage.get_or_create_counter(&Key::from_name("requests"), Arc::clone),
        ),
        gauge: metrics::Gauge::from_arc(
            storage.get_or_create_gauge(&Key::from_name("depth"), Arc::clone),
        ),
        histogram: metrics::Histogram::from_arc(Arc::clone(&bucket)),
    };
    Peers {
        bridge: handles(&bridge),
        _recorder: bridge,
        _dir: dir,
        prometheus: handles(&prometheus),
        atomic,
        floor: floor(),
        upkeep,
        bucket,
    }
}

/// What one case does to its handles, `iters` times.
#[derive(Clone, Copy, Debug)]
enum Op {
    Increment,
    Set,
    Record,
}

fn run(h: &Handles, op: Op, iters: u64) {
    let n = black_box(1u64);
    let x = black_box(0.0125f64);
    match op {
        Op::Increment => {
            for _ in 0..iters {
                h.counter.increment(n);
            }
        }
        Op::Set => {
            for i in 0..iters {
                h.gauge.set(x + (i & 7) as f64);
            }
        }
        Op::Record => {
            for i in 0..iters {
                h.histogram.record(x + (i & 7) as f64 * 1e-3);
            }
        }
    }
}

/// Threads kept for the whole run, which every case's timed loops run on. A thread's first
/// update through the bridge creates the thread's file; kept threads do that once, not in every
/// sample, so every case's samples run on threads in the same state: warm, with their files
/// (and the bridge's lane entries) in place, and nothing started or removed between samples.
struct Workers {
    jobs: Vec<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Duration>,
}

/// A timed loop for one kept thread.
type Job = Box<dyn FnOnce() -> Duration + Send>;

impl Workers {
    fn new(threads: usize) -> Workers {
        let (report, done) = mpsc::channel();
        let jobs = (0..threads)
            .map(|_| {
                let (send, receive) = mpsc::channel::<Job>();
                let report = report.clone();
                std::thread::spawn(move || {
                    for job in receive {
                        if report.send(job()).is_err() {
                            break;
                        }
                    }
                });
                send
            })
            .collect();
        Workers { jobs, done }
    }

    /// Runs `job(i)` on kept threads `0..threads` at once; returns the slowest one's time.
    fn run(&self, threads: usize, job: impl Fn(usize) -> Job) -> Duration {
        for (i, jobs) in self.jobs.iter().take(threads).enumerate() {
            jobs.send(job(i)).expect("bench thread");
        }
        (0..threads)
            .map(|_| self.done.recv().expect("bench thread"))
            .max()
            .unwrap_or_default()
    }
}

/// Times `iters` updates on each of `threads` kept threads at once; returns the slowest
/// thread's time. Each thread updates once before the barrier, so the bridge's first-use
/// registration in that thread is not timed.
fn timed(workers: &Workers, threads: usize, iters: u64, h: &Handles, op: Op) -> Duration {
    let barrier = Arc::new(Barrier::new(threads));
    workers.run(threads, |_| {
        let (h, barrier) = (h.clone(), Arc::clone(&barrier));
        Box::new(move || {
            run(&h, op, 1);
            barrier.wait();
            let start = Start::now();
            run(&h, op, iters);
            start.elapsed()
        })
    })
}

/// A plain mmstats counter in a file of the thread's own: the goal's yardstick.
fn plain_counter(workers: &Workers, threads: usize, iters: u64) -> Duration {
    let barrier = Arc::new(Barrier::new(threads));
    workers.run(threads, |_| {
        let barrier = Arc::clone(&barrier);
        Box::new(move || plain_loop(&barrier, iters))
    })
}

/// One thread's loop of the plain counter, timed after `barrier`.
fn plain_loop(barrier: &Barrier, iters: u64) -> Duration {
    let dir = tempfile::tempdir().expect("temporary directory");
    let stats =
        mmstats::Stats::create(mmstats::Options::new().dir(dir.path())).expect("stats file");
    let counter = stats.counter("requests").register().expect("counter");
    let n = black_box(1);
    barrier.wait();
    let start = Start::now();
    for _ in 0..iters {
        counter.incr(n);
    }
    let t = start.elapsed();
    assert!(counter.get() >= iters);
    t
}

/// A `metrics` counter, gauge and histogram whose updates do nothing: what the facade's
/// handle (a `dyn CounterFn`, `dyn GaugeFn` or `dyn HistogramFn` call) costs by itself, the
/// floor under every recorder.
struct Floor;

impl metrics::CounterFn for Floor {
    #[inline(never)]
    fn increment(&self, value: u64) {
        black_box(value);
    }
    fn absolute(&self, value: u64) {
        black_box(value);
    }
}

impl metrics::GaugeFn for Floor {
    fn increment(&self, value: f64) {
        black_box(value);
    }
    fn decrement(&self, value: f64) {
        black_box(value);
    }
    #[inline(never)]
    fn set(&self, value: f64) {
        black_box(value);
    }
}

impl metrics::HistogramFn for Floor {
    #[inline(never)]
    fn record(&self, value: f64) {
        black_box(value);
    }
}

/// The floor's handles.
fn floor() -> Handles {
    let floor = Arc::new(Floor);
    Handles {
        counter: metrics::Counter::from_arc(Arc::clone(&floor)),
        gauge: metrics::Gauge::from_arc(Arc::clone(&floor)),
        histogram: metrics::Histogram::from_arc(floor),
    }
}

fn bridge(c: &mut Criterion) {
    let p = peers();
    let workers = Workers::new(2);
    for (group, op) in [
        ("bridge_increment", Op::Increment),
        ("bridge_gauge_set", Op::Set),
        ("bridge_record", Op::Record),
    ] {
        let mut g = c.benchmark_group(group);
        for threads in [1usize, 2] {
            let id = |name| BenchmarkId::new(name, threads);
            if let Op::Increment = op {
                g.bench_function(id("mmstats_counter_incr"), |b| {
                    b.iter_custom(|iters| plain_counter(&workers, threads, iters))
                });
            }
            for (name, h) in [
                ("metrics_facade_floor", &p.floor),
                ("mmstats_metrics", &p.bridge),
                ("metrics_exporter_prometheus", &p.prometheus),
                ("metrics_util_atomic", &p.atomic),
            ] {
                g.bench_function(id(name), |b| {
                    b.iter_custom(|iters| {
                        let t = timed(&workers, threads, iters, h, op);
                        p.upkeep();
                        t
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bridge);

/// `--loop CASE OP ITERS`: one case's loop, untimed (see the top of this file).
fn instruction_loop(args: &[String]) -> Result<(), String> {
    let [case, op, iters] = args else {
        return Err("usage: bridge --loop CASE OP ITERS".into());
    };
    let iters: u64 = iters.parse().map_err(|e| format!("ITERS {iters:?}: {e}"))?;
    let op = match op.as_str() {
        "increment" => Op::Increment,
        "set" => Op::Set,
        "record" => Op::Record,
        _ => return Err(format!("unknown OP {op:?}")),
    };
    let p = peers();
    match (case.as_str(), op) {
        ("mmstats_metrics", _) => run(&p.bridge, op, iters),
        ("metrics_exporter_prometheus", _) => run(&p.prometheus, op, iters),
        ("metrics_util_atomic", _) => run(&p.atomic, op, iters),
        ("metrics_facade_floor", _) => run(&p.floor, op, iters),
        ("mmstats_counter_incr", Op::Increment) => drop(plain_loop(&Barrier::new(1), iters)),
        _ => return Err(format!("no case {case:?} for {op:?}")),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--loop") {
        if let Err(e) = instruction_loop(&args[at + 1..]) {
            eprintln!("bridge: {e}");
            std::process::exit(2);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
