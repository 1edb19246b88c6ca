//! The cost of one counter increment, against plain memory and against the atomic peers.
//!
//! Every case runs the same timed loop of `iters` increments of one counter by an amount the
//! compiler cannot see (`black_box(1)`, read once), through the handle as a program would hold
//! it. The plain `u64` needs `black_box` on its address in every iteration, or the compiler
//! would keep it in a register; atomics and the mapped counter are always real memory accesses.
//!
//! Each case runs on one thread and
//! on two threads at once, each thread with a counter of its own (as mmstats gives each thread
//! its own file). With two threads the time reported is per increment of one thread while the
//! other runs too: the slowest thread's loop time divided by `iters`.
//!
//! Run with `cargo bench -p mmstats -- --warm-up-time 1 --measurement-time 2`, then
//! `scripts/bench-table` prints the table in `benches/README.md`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering, compiler_fence};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// One thread's counter: prepared outside the timed loop, then incremented `iters` times.
trait Case: Send + 'static {
    /// Prepares a counter for thread `t`; runs on that thread.
    fn prepare(t: usize) -> Self;
    /// The timed loop.
    fn run(&mut self, iters: u64);
}

/// A `u64` in ordinary (heap) memory. Its address escapes through `black_box` once, and a
/// compiler fence after each increment makes the compiler store it and load it again, so
/// every increment is a real load, add and store, as the mapped counter's is. (A `black_box` of
/// the address in every iteration would also force that, but adds a store and a reload of the
/// pointer itself to each increment.)
struct PlainU64(Box<u64>);

impl Case for PlainU64 {
    fn prepare(_: usize) -> Self {
        PlainU64(Box::new(0))
    }
    fn run(&mut self, iters: u64) {
        let n = black_box(1);
        let p: *mut u64 = black_box(&mut *self.0);
        for _ in 0..iters {
            // SAFETY: `p` points to the boxed u64, which lives and is not otherwise accessed
            // for the whole loop.
            unsafe { *p = (*p).wrapping_add(n) };
            compiler_fence(Ordering::SeqCst);
        }
        assert!(*self.0 >= iters);
    }
}

/// An atomic read-modify-write on an uncontended `AtomicU64`.
struct AtomicFetchAdd(AtomicU64);

impl Case for AtomicFetchAdd {
    fn prepare(_: usize) -> Self {
        AtomicFetchAdd(AtomicU64::new(0))
    }
    fn run(&mut self, iters: u64) {
        let n = black_box(1);
        for _ in 0..iters {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// An mmstats counter in a stats file of the thread's own.
struct Mmstats {
    counter: mmstats::Counter,
    _stats: mmstats::Stats,
    _dir: tempfile::TempDir,
}

impl Case for Mmstats {
    fn prepare(_: usize) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let stats =
            mmstats::Stats::create(mmstats::Options::new().dir(dir.path())).expect("stats file");
        let counter = stats.counter("requests").register().expect("counter");
        Mmstats {
            counter,
            _stats: stats,
            _dir: dir,
        }
    }
    fn run(&mut self, iters: u64) {
        let n = black_box(1);
        for _ in 0..iters {
            self.counter.incr(n);
        }
        assert!(self.counter.get() >= iters);
    }
}

/// A minimal `metrics` recorder whose counters are `AtomicU64`s, so the handle really records.
#[derive(Default)]
struct AtomicRecorder {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl metrics::Recorder for AtomicRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let mut counters = self.counters.lock().expect("lock");
        let c = counters.entry(key.name().to_string()).or_default();
        metrics::Counter::from_arc(Arc::clone(c))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

static RECORDER: std::sync::OnceLock<&'static AtomicRecorder> = std::sync::OnceLock::new();

/// The global recorder, installed on first use.
fn recorder() -> &'static AtomicRecorder {
    RECORDER.get_or_init(|| {
        let r: &'static AtomicRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(r).expect("no other recorder");
        r
    })
}

/// A cached `metrics::Counter` handle, registered through the global recorder.
struct Metrics(metrics::Counter, Arc<AtomicU64>);

impl Case for Metrics {
    fn prepare(t: usize) -> Self {
        let r = recorder();
        let name = format!("requests_{t}");
        let handle = metrics::counter!(name.clone());
        let value = Arc::clone(&r.counters.lock().expect("lock")[&name]);
        Metrics(handle, value)
    }
    fn run(&mut self, iters: u64) {
        let before = self.1.load(Ordering::Relaxed);
        let n = black_box(1);
        for _ in 0..iters {
            self.0.increment(n);
        }
        assert!(
            self.1.load(Ordering::Relaxed) >= before + iters,
            "the recorder recorded"
        );
    }
}

/// A `prometheus-client` counter registered in a registry of the thread's own.
struct PrometheusClient {
    counter: prometheus_client::metrics::counter::Counter,
    _registry: prometheus_client::registry::Registry,
}

impl Case for PrometheusClient {
    fn prepare(_: usize) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        let counter = prometheus_client::metrics::counter::Counter::<u64>::default();
        registry.register("requests", "requests served", counter.clone());
        PrometheusClient {
            counter,
            _registry: registry,
        }
    }
    fn run(&mut self, iters: u64) {
        let n = black_box(1);
        for _ in 0..iters {
            self.counter.inc_by(n);
        }
        assert!(self.counter.get() >= iters);
    }
}

/// Times `iters` increments on each of `threads` threads running at once; returns the slowest
/// thread's time. Preparation happens before a barrier and is not timed.
fn timed<C: Case>(threads: usize, iters: u64) -> Duration {
    if threads == 1 {
        let mut c = C::prepare(0);
        let start = Instant::now();
        c.run(iters);
        return start.elapsed();
    }
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut c = C::prepare(t);
                    barrier.wait();
                    let start = Instant::now();
                    c.run(iters);
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

fn incr(c: &mut Criterion) {
    let mut group = c.benchmark_group("incr");
    for threads in [1usize, 2] {
        let id = |name| BenchmarkId::new(name, threads);
        group.bench_function(id("plain_u64"), |b| {
            b.iter_custom(|iters| timed::<PlainU64>(threads, iters))
        });
        group.bench_function(id("atomic_fetch_add"), |b| {
            b.iter_custom(|iters| timed::<AtomicFetchAdd>(threads, iters))
        });
        group.bench_function(id("mmstats"), |b| {
            b.iter_custom(|iters| timed::<Mmstats>(threads, iters))
        });
        group.bench_function(id("metrics"), |b| {
            b.iter_custom(|iters| timed::<Metrics>(threads, iters))
        });
        group.bench_function(id("prometheus_client"), |b| {
            b.iter_custom(|iters| timed::<PrometheusClient>(threads, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, incr);
criterion_main!(benches);
