//! The cost of a `metrics` update through the mmstats recorder, against a plain mmstats
//! counter and against the atomic peers: `metrics-exporter-prometheus`'s recorder and
//! `metrics-util`'s atomic storage.
//!
//! Every case holds a `metrics` handle as a program would (registered once, then cached) and
//! runs a timed loop of `iters` updates by amounts the compiler cannot see. With two threads
//! both threads update **the same handle** at once, as the threads of a server do, and the time
//! reported is per update of one thread (the slowest thread's loop time divided by `iters`).
//! The plain mmstats counter gives each thread a counter of its own, as its files do.
//!
//! Run with `cargo bench -p mmstats-metrics -- --warm-up-time 1 --measurement-time 2`, then
//! `scripts/bench-table` prints the tables in `benches/README.md`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use metrics::{Key, Level, Metadata, Recorder};

const META: Metadata<'static> = Metadata::new("bench", Level::INFO, None);

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
        upkeep,
        bucket,
    }
}

/// What one case does to its handles, `iters` times.
#[derive(Clone, Copy)]
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

/// Times `iters` updates on each of `threads` threads at once; returns the slowest thread's
/// time. Each thread updates once before the barrier, so the bridge's first-use registration
/// in that thread is not timed.
fn timed(threads: usize, iters: u64, h: &Handles, op: Op) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    run(h, op, 1);
                    barrier.wait();
                    let start = Instant::now();
                    run(h, op, iters);
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

/// A plain mmstats counter in a file of the thread's own: the goal's yardstick.
fn plain_counter(threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    let dir = tempfile::tempdir().expect("temporary directory");
                    let stats = mmstats::Stats::create(mmstats::Options::new().dir(dir.path()))
                        .expect("stats file");
                    let counter = stats.counter("requests").register().expect("counter");
                    let n = black_box(1);
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        counter.incr(n);
                    }
                    let t = start.elapsed();
                    assert!(counter.get() >= iters);
                    t
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

/// A `metrics` counter whose update does nothing: what the facade's handle (a `dyn CounterFn`
/// call) costs by itself, the floor under every recorder.
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

/// `iters` increments of a floor counter on each of `threads` threads.
fn floor(threads: usize, iters: u64) -> Duration {
    let counter = metrics::Counter::from_arc(Arc::new(Floor));
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (barrier, counter) = (&barrier, &counter);
                s.spawn(move || {
                    let n = black_box(1);
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        counter.increment(n);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

fn bridge(c: &mut Criterion) {
    let p = peers();
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
                    b.iter_custom(|iters| plain_counter(threads, iters))
                });
                g.bench_function(id("metrics_facade_floor"), |b| {
                    b.iter_custom(|iters| floor(threads, iters))
                });
            }
            for (name, h) in [
                ("mmstats_metrics", &p.bridge),
                ("metrics_exporter_prometheus", &p.prometheus),
                ("metrics_util_atomic", &p.atomic),
            ] {
                g.bench_function(id(name), |b| {
                    b.iter_custom(|iters| {
                        let t = timed(threads, iters, h, op);
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
criterion_main!(benches);
