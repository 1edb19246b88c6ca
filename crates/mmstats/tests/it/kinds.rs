//! The measuring kinds (average, moving average, histogram, timer, windowed) written through
//! their handles and read back from the file's bytes with the format crate.

use std::time::Duration;

use mmstats::{FieldDecl, Histogram, Kind, Options, Stats, Timer, ValueType, Windowed};
use mmstats_format::{MovingAverageValue, Num, Value, WindowedValue};

use crate::file::decode;

fn stats(tmp: &tempfile::TempDir) -> Stats {
    Stats::create(Options::new().dir(tmp.path()).prefix("app.")).unwrap()
}

/// The derived value `suffix` of `label`, as a reader shows it.
fn derived(v: &Value, kind: Kind, suffix: &str) -> Option<f64> {
    v.derived_values(kind, 0.0, 0.0)
        .into_iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, x)| x)
}

#[test]
fn averages_round_trip_in_their_widened_types() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let a = s.average::<u32>("size").unit("bytes").register().unwrap();
    let b = s.average::<i16>("delta").register().unwrap();
    let c = s.average::<f32>("load").register().unwrap();
    assert_eq!(a.mean(), None);
    for v in [10, 20, 60] {
        a.record(v);
    }
    b.record(-5);
    b.record(2);
    c.record(0.5);
    c.record(1.0);
    assert_eq!(a.count(), 3);
    assert_eq!(a.mean(), Some(30.0));
    let d = decode(s.path());
    let f = d.field("app.size");
    assert_eq!(
        (f.meta.kind, f.meta.value_type, f.meta.unit.as_str()),
        (Kind::Average, ValueType::U32, "bytes")
    );
    let v = d.value("app.size");
    assert_eq!(
        v,
        Value::Average {
            count: 3,
            sum: Num::U(90)
        }
    );
    assert_eq!(derived(&v, Kind::Average, "mean"), Some(30.0));
    assert_eq!(
        d.value("app.delta"),
        Value::Average {
            count: 2,
            sum: Num::I(-3)
        }
    );
    assert_eq!(
        d.value("app.load"),
        Value::Average {
            count: 2,
            sum: Num::F(1.5)
        }
    );
}

#[test]
fn moving_averages_keep_the_last_n() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let m = s.moving_average::<i64>("lag", 4).register().unwrap();
    assert_eq!(m.window(), 4);
    for v in 1..=10 {
        m.record(v);
    }
    let d = decode(s.path());
    assert_eq!(d.field("app.lag").meta.capacity, 4);
    let v = d.value("app.lag");
    assert_eq!(
        v,
        Value::MovingAverage(Box::new(MovingAverageValue {
            count: 10,
            window_count: 4,
            window_sum: Num::I(7 + 8 + 9 + 10),
            last: Num::I(10),
        }))
    );
    assert_eq!(derived(&v, Kind::MovingAverage, "mean"), Some(8.5));
    assert_eq!(m.mean(), Some(8.5));

    // Through the generic path, the declaration's capacity is the window; default 100.
    let g: mmstats::MovingAverage<f64> = s.register(FieldDecl::new("g")).unwrap();
    assert_eq!(g.window(), 100);
    g.record(2.0);
    assert_eq!(
        decode(s.path()).value("app.g"),
        Value::MovingAverage(Box::new(MovingAverageValue {
            count: 1,
            window_count: 1,
            window_sum: Num::F(2.0),
            last: Num::F(2.0),
        }))
    );
}

#[test]
fn histograms_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let h = s.histogram("sizes").unit("bytes").register().unwrap();
    let empty = decode(s.path()).value("app.sizes");
    let Value::Histogram(e) = &empty else {
        panic!("{empty:?}")
    };
    assert_eq!(
        (e.count, e.min, e.max, e.capacity(), e.bucket_end()),
        (0, u64::MAX, 0, 1920, 0)
    );
    for v in [5, 100, 7, 1_000_000, 0] {
        h.record(v);
    }
    let d = decode(s.path());
    let f = d.field("app.sizes");
    assert_eq!(
        (f.meta.kind, f.meta.param, f.meta.capacity),
        (Kind::Histogram, 5, 1920)
    );
    let v = d.value("app.sizes");
    let Value::Histogram(x) = &v else {
        panic!("{v:?}")
    };
    let mut want = mmstats_format::HistogramValue::empty(5, 1920);
    for v in [5, 100, 7, 1_000_000, 0] {
        want.record(v);
    }
    assert_eq!(**x, want);
    assert_eq!(x.bucket_total(), 5);
    assert_eq!(derived(&v, Kind::Histogram, "max"), Some(1e6));
    assert_eq!(derived(&v, Kind::Histogram, "p50"), Some(7.0));
    assert_eq!((h.count(), h.sum()), (5, 1_000_112));
}

#[test]
fn a_shorter_histogram_counts_large_values_in_its_last_bucket() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let h: Histogram = s
        .register(FieldDecl {
            capacity: Some(64),
            ..FieldDecl::new("small")
        })
        .unwrap();
    h.record(3);
    h.record(u64::MAX);
    let Value::Histogram(x) = decode(s.path()).value("app.small") else {
        panic!()
    };
    assert_eq!(x.capacity(), 64);
    assert_eq!((x.bucket(3), x.bucket(63), x.max), (1, 1, u64::MAX));
    // Too few buckets for k = 5 is refused.
    let bad = s.register::<Histogram>(FieldDecl {
        capacity: Some(10),
        ..FieldDecl::new("tiny")
    });
    assert!(bad.is_err());
}

#[test]
fn timers_record_durations_and_a_window() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t = s.timer("latency", 3).register().unwrap();
    assert_eq!(t.window(), 3);
    for ms in [1u64, 2, 3, 4] {
        t.record(Duration::from_millis(ms));
    }
    let took = {
        let g = t.start();
        std::thread::sleep(Duration::from_millis(5));
        g.stop()
    };
    assert!(took >= Duration::from_millis(5));
    {
        let _g = t.start();
    }
    assert_eq!(t.time(|| 7), 7);
    assert_eq!(t.count(), 7);
    let d = decode(s.path());
    let f = d.field("app.latency");
    assert_eq!(
        (f.meta.kind, f.meta.unit.as_str()),
        (Kind::Timer, "nanoseconds")
    );
    assert_eq!(
        f.meta.capacity, 1920,
        "the record's capacity is the bucket count"
    );
    let v = d.value("app.latency");
    let Value::Histogram(x) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(x.count, 7);
    assert_eq!(x.bucket_total(), 7);
    assert!(x.min < 1_000_000, "the empty guard's duration");
    assert_eq!(x.max, took.as_nanos() as u64);
    assert_eq!(x.window_count, 3);
    // The window holds the last three: the stopped one and two near-zero ones.
    assert!(x.window_sum >= took.as_nanos() as u64);
    assert!(x.window_sum < took.as_nanos() as u64 + 1_000_000);
    assert!(derived(&v, Kind::Timer, "avg").is_some());
    assert!(derived(&v, Kind::Histogram, "avg").is_none());

    // A window out of range is refused.
    assert!(s.timer("bad", 0).register().is_err());
}

#[test]
fn timers_from_a_generic_declaration_use_its_capacity_as_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t: Timer = s
        .register(FieldDecl {
            capacity: Some(2),
            ..FieldDecl::new("t")
        })
        .unwrap();
    assert_eq!(t.window(), 2);
    let u: Timer = s.register(FieldDecl::new("u")).unwrap();
    assert_eq!(u.window(), 100);
}

/// The window as a reader decodes it.
fn window(s: &Stats, label: &str) -> WindowedValue {
    match decode(s.path()).value(label) {
        Value::Windowed(w) => *w,
        v => panic!("{v:?}"),
    }
}

#[test]
fn windowed_rates_follow_a_known_pace_and_decay_when_idle() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let w = s.windowed::<u64>("requests", 10).register().unwrap();
    let t0 = 1_700_000_000u64;
    // 5 events a second for 30 seconds, each of size 100 + second.
    for sec in 0..30 {
        for _ in 0..5 {
            w.record_at(t0 + sec, 100 + sec);
        }
    }
    let d = decode(s.path());
    let f = d.field("app.requests");
    assert_eq!((f.meta.param, f.meta.capacity), (1, 10));
    let win = window(&s, "app.requests");
    assert_eq!(win.count, 150);
    let created = t0 as f64 - 100.0;
    // Halfway through the last second: 9.5 s covered, 50 events.
    let now = (t0 + 29) as f64 + 0.5;
    let sum = win.summary(now, created);
    assert_eq!(sum.count, 50);
    assert!((sum.rate - 50.0 / 9.5).abs() < 1e-9, "{sum:?}");
    let mean = (20..30).map(|s| 100.0 + s as f64).sum::<f64>() / 10.0;
    assert!((sum.mean.unwrap() - mean).abs() < 1e-9);
    // Idle: the rate decays to zero with no writer work.
    let later = win.summary(now + 5.0, created);
    assert_eq!(later.count, 25);
    let gone = win.summary(now + 60.0, created);
    assert_eq!((gone.count, gone.rate, gone.mean), (0, 0.0, None));
    // After a gap, a stale slot is reset before it is reused.
    w.record_at(t0 + 1000, 1);
    let win = window(&s, "app.requests");
    let sum = win.summary((t0 + 1000) as f64 + 0.5, created);
    assert_eq!((sum.count, sum.mean), (1, Some(1.0)));
    assert_eq!(win.count, 151);
}

#[test]
fn windowed_with_wider_slots_and_real_time() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let w: Windowed<f64> = s
        .windowed::<f64>("temp", mmstats::DEFAULT_SLOTS)
        .width(10)
        .register()
        .unwrap();
    assert_eq!(w.width(), 10);
    w.record(20.0);
    w.record(22.0);
    let e: Windowed<u32> = s.windowed::<u32>("events", 60).register().unwrap();
    e.incr();
    e.incr();
    e.incr();
    let d = decode(s.path());
    assert_eq!(d.field("app.temp").meta.param, 10);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let win = window(&s, "app.temp");
    assert_eq!(win.summary(now, now - 3600.0).mean, Some(21.0));
    let ev = window(&s, "app.events");
    let sum = ev.summary(now, now - 3600.0);
    assert_eq!(sum.count, 3);
    let v = d.value("app.events");
    assert!(
        v.derived_values(Kind::Windowed, now, now - 3600.0)
            .iter()
            .any(|(s, r)| *s == "rate" && *r > 0.0)
    );
}

/// A small deterministic generator (xorshift64*), so the distributions need no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Records `values` through a real histogram, reads the file, and checks every reported
/// quantile against the exact one: within 2^-(k+1) = 1/64 (FORMAT.md §5.6).
fn check_percentiles(name: &str, values: &[u64]) {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let h = s.histogram(name).register().unwrap();
    for v in values {
        h.record(*v);
    }
    let label = format!("app.{name}");
    let Value::Histogram(x) = decode(s.path()).value(&label) else {
        panic!()
    };
    assert_eq!(x.count, values.len() as u64);
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let exact = sorted[rank - 1] as f64;
        let got = x.quantile(q).unwrap() as f64;
        let err = (got - exact).abs() / exact.max(1.0);
        assert!(
            err <= 1.0 / 64.0,
            "{name} q={q}: got {got}, exact {exact}, error {:.3}%",
            err * 100.0
        );
    }
    assert_eq!(x.min, sorted[0]);
    assert_eq!(x.max, *sorted.last().unwrap());
}

#[test]
fn percentiles_of_known_distributions_are_within_the_bound() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let uniform: Vec<u64> = (0..100_000).map(|_| 1 + rng.next() % 1_000_000).collect();
    check_percentiles("uniform", &uniform);
    // Exponential with a mean of 50 µs in nanoseconds, like request latencies.
    let exponential: Vec<u64> = (0..100_000)
        .map(|_| (-rng.unit().ln() * 50_000.0) as u64)
        .collect();
    check_percentiles("exponential", &exponential);
    check_percentiles("constant", &[12_345; 1000]);
    let small: Vec<u64> = (0..1000).map(|i| i % 60).collect();
    check_percentiles("small", &small);
    let huge: Vec<u64> = (0..10_000).map(|_| rng.next() | (1 << 63)).collect();
    check_percentiles("huge", &huge);
}

#[test]
fn windowed_slots_are_reused_round_robin() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let w = s.windowed::<i32>("delta", 3).register().unwrap();
    let t0 = 1_800_000_001u64; // period t0 is in slot t0 % 3
    for (dt, v) in [(0, -4), (0, -6), (1, 5), (2, 7), (3, 9), (3, 1)] {
        w.record_at(t0 + dt, v);
    }
    let win = window(&s, "app.delta");
    assert_eq!((win.count, win.sum), (6, Num::I(12)));
    let mut slots: Vec<(u64, u64, Num)> = win
        .slots
        .iter()
        .map(|p| (p.period, p.count, p.sum))
        .collect();
    slots.sort_by_key(|p| p.0);
    assert_eq!(
        slots,
        [
            (t0 + 1, 1, Num::I(5)),
            (t0 + 2, 1, Num::I(7)),
            (t0 + 3, 2, Num::I(10)),
        ],
        "period t0 was replaced by t0 + 3 in its slot"
    );
    let slot_of = |p: u64| win.slots.iter().position(|s| s.period == p).unwrap() as u64;
    assert_eq!(slot_of(t0 + 3), (t0 + 3) % 3);
    let sum = win.summary((t0 + 3) as f64 + 0.5, 0.0);
    assert_eq!(sum.count, 4);
    assert_eq!(sum.mean, Some(5.5));
}

#[test]
fn constants_of_a_model_are_set_once_and_read_as_constants() {
    use mmstats::{Constant, ConstantText};

    #[derive(mmstats::Stats)]
    #[stats(prefix = "build.")]
    struct Build {
        workers: Constant<u32>,
        ratio: Constant<f64>,
        #[stat(capacity = 8)]
        version: ConstantText,
    }

    let tmp = tempfile::tempdir().unwrap();
    let b = Build::create(Options::new().dir(tmp.path())).unwrap();
    b.workers.set(8);
    b.ratio.set(0.25);
    b.version.set("1.4.2-rc1"); // 9 bytes: cut to the capacity of 8
    assert_eq!(b.workers.get(), 8);

    let d = decode(b.stats().path());
    assert_eq!(d.value("build.workers"), Value::Number(Num::U(8)));
    assert_eq!(d.value("build.ratio"), Value::Number(Num::F(0.25)));
    assert_eq!(d.value("build.version"), Value::Text("1.4.2-rc".into()));
    for label in ["build.workers", "build.ratio", "build.version"] {
        let f = d.fields.iter().find(|f| f.meta.label == label).unwrap();
        assert_eq!(f.meta.kind, Kind::Constant, "{label}");
    }
}

#[test]
fn windowed_slot_width_comes_from_the_declaration() {
    #[derive(mmstats::Stats)]
    struct Traffic {
        /// requests over the last hour, in minutes
        #[stat(capacity = 60, width = 60)]
        hourly: Windowed<u64>,
        /// requests over the last minute, in seconds
        minutely: Windowed<u64>,
    }

    let tmp = tempfile::tempdir().unwrap();
    let t = Traffic::create(Options::new().dir(tmp.path())).unwrap();
    t.hourly.record_at(1_700_000_000, 5);
    t.minutely.record_at(1_700_000_000, 5);
    let s = stats(&tmp);
    let procedural = s
        .windowed::<u64>("daily", 24)
        .width(3600)
        .register()
        .unwrap();
    procedural.record_at(1_700_000_000, 1);

    let hourly = window(t.stats(), "hourly");
    assert_eq!((hourly.width, hourly.slots.len()), (60, 60));
    assert!(
        hourly
            .slots
            .iter()
            .any(|p| p.period == 1_700_000_000 / 60 && p.count == 1)
    );
    assert_eq!(window(t.stats(), "minutely").width, 1);
    let daily = window(&s, "app.daily");
    assert_eq!((daily.width, daily.slots.len()), (3600, 24));
    assert!(daily.slots.iter().any(|p| p.period == 1_700_000_000 / 3600));
}
