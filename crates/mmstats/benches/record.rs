//! The cost of recording one value into a histogram, and of timing a section with a timer
//! guard, against the peers.
//!
//! Group `record`: one `record` of a value from a fixed, pseudo-random, roughly exponential
//! sequence of 4096 latencies (so values fall in many buckets and branch predictors cannot
//! learn one), through a handle prepared outside the timed loop:
//!
//! - `mmstats_histogram`: [`mmstats::Histogram::record`] into a stats file of its own;
//! - `hdrhistogram`: `Histogram::<u64>::record` with 3 significant digits (in process memory);
//! - `metrics_histogram`: a cached `metrics::Histogram` handle on a recorder that stores each
//!   value as an atomic count, sum and power-of-two bucket (cheaper than the exporters' stores,
//!   which favours the peer);
//! - `prometheus_client_histogram`: `Histogram::observe` with 20 exponential buckets.
//!
//! Group `timer`: `mmstats_timer_guard` (start a [`mmstats::Timer`] guard and drop it at once)
//! against `two_instant_now`, the two clock reads any timer needs: the baseline.
//!
//! Group `clock`: the two real-time clocks a windowed field can read.
//!
//! Group `measure`: the other measuring kinds' record.
//!
//! Run with `cargo bench -p mmstats --bench record -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};

/// 4096 latency-like values in nanoseconds: exponential with a mean of 50 µs.
fn values() -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..4096)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let u =
                ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) + 1) as f64 / (1u64 << 53) as f64;
            (-u.ln() * 50_000.0) as u64
        })
        .collect()
}

/// A stats file in a temporary directory of its own.
fn stats() -> (tempfile::TempDir, mmstats::Stats) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let stats = mmstats::Stats::create(mmstats::Options::new().dir(dir.path())).expect("stats");
    (dir, stats)
}

/// A `metrics` histogram store: atomic count, sum and 64 power-of-two buckets.
struct AtomicHistogram {
    count: AtomicU64,
    sum: AtomicU64,
    buckets: [AtomicU64; 64],
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl metrics::HistogramFn for AtomicHistogram {
    fn record(&self, value: f64) {
        let v = value as u64;
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.buckets[63 - (v | 1).leading_zeros() as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// A `metrics` recorder whose histograms are [`AtomicHistogram`]s.
#[derive(Default)]
struct Recorder {
    last: std::sync::Mutex<Option<Arc<AtomicHistogram>>>,
}

impl metrics::Recorder for Recorder {
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
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        let h = Arc::new(AtomicHistogram::default());
        *self.last.lock().expect("lock") = Some(Arc::clone(&h));
        metrics::Histogram::from_arc(h)
    }
}

fn record(c: &mut Criterion) {
    let values = values();
    let mut group = c.benchmark_group("record");

    let (_dir, s) = stats();
    let h = s.histogram("latency").register().expect("histogram");
    group.bench_function("mmstats_histogram", |b| {
        let mut i = 0;
        b.iter(|| {
            h.record(black_box(values[i & 4095]));
            i += 1;
        });
        assert!(h.count() > 0);
    });

    let mut hdr = hdrhistogram::Histogram::<u64>::new(3).expect("hdrhistogram");
    group.bench_function("hdrhistogram", |b| {
        let mut i = 0;
        b.iter(|| {
            hdr.saturating_record(black_box(values[i & 4095]));
            i += 1;
        });
        assert!(!hdr.is_empty());
    });

    let recorder = Recorder::default();
    let (handle, store) = metrics::with_local_recorder(&recorder, || {
        let handle = metrics::histogram!("latency");
        let store = recorder.last.lock().expect("lock").clone().expect("stored");
        (handle, store)
    });
    group.bench_function("metrics_histogram", |b| {
        let mut i = 0;
        b.iter(|| {
            handle.record(black_box(values[i & 4095]) as f64);
            i += 1;
        });
        assert!(
            store.count.load(Ordering::Relaxed) > 0,
            "the recorder stored"
        );
    });

    let prom = prometheus_client::metrics::histogram::Histogram::new(
        prometheus_client::metrics::histogram::exponential_buckets(1000.0, 2.0, 20),
    );
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register("latency", "request latency", prom.clone());
    group.bench_function("prometheus_client_histogram", |b| {
        let mut i = 0;
        b.iter(|| {
            prom.observe(black_box(values[i & 4095]) as f64);
            i += 1;
        })
    });
    group.finish();
}

fn timer(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer");
    let (_dir, s) = stats();
    let t = s.timer("section", 100).register().expect("timer");
    group.bench_function("mmstats_timer_guard", |b| {
        b.iter(|| {
            let _g = t.start();
        });
        assert!(t.count() > 0);
    });
    group.bench_function("two_instant_now", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(start.elapsed())
        })
    });
    group.finish();
}

fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    group.bench_function("system_time_now", |b| {
        b.iter(|| black_box(std::time::SystemTime::now()))
    });
    group.bench_function("clock_realtime_coarse", |b| {
        b.iter(|| {
            black_box(nix::time::clock_gettime(
                nix::time::ClockId::CLOCK_REALTIME_COARSE,
            ))
        })
    });
    group.finish();
}

fn measure(c: &mut Criterion) {
    let values = values();
    let mut group = c.benchmark_group("measure");
    let (_dir, s) = stats();
    let avg = s.average::<u64>("size").register().expect("average");
    group.bench_function("mmstats_average", |b| {
        let mut i = 0;
        b.iter(|| {
            avg.record(black_box(values[i & 4095]));
            i += 1;
        })
    });
    let mov = s
        .moving_average::<f64>("load", 100)
        .register()
        .expect("moving");
    group.bench_function("mmstats_moving_average_f64", |b| {
        let mut i = 0;
        b.iter(|| {
            mov.record(black_box(values[i & 4095]) as f64);
            i += 1;
        })
    });
    let win = s
        .windowed::<u64>("requests", 60)
        .register()
        .expect("windowed");
    group.bench_function("mmstats_windowed_incr", |b| b.iter(|| win.incr()));
    let t = s.timer("t", 100).register().expect("timer");
    group.bench_function("mmstats_timer_record_ns", |b| {
        let mut i = 0;
        b.iter(|| {
            t.record_ns(black_box(values[i & 4095]));
            i += 1;
        })
    });
    group.finish();
}

criterion_group!(benches, record, timer, clock, measure);
criterion_main!(benches);
