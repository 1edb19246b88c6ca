//! Handles that summarise many values round-trip through the file.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats::{Combine, Kind, Options, Stats, ValueType};
use mmstats_format::{Histogram, Num, Value};

use crate::file::decode;

fn stats(tmp: &tempfile::TempDir) -> Stats {
    Stats::create(Options::new().dir(tmp.path()).reserve(mmstats::Reserve {
        fields: 16,
        strings: 1024,
        values: 64 * 1024,
    }))
    .unwrap()
}

#[test]
fn averages_keep_count_and_sum() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let a = s
        .average::<i32>("latency")
        .unit("milliseconds")
        .register()
        .unwrap();
    let f = s.average::<f64>("load").register().unwrap();
    for v in [5, -3, 10] {
        a.record(v);
    }
    f.record(0.5);
    f.record(0.25);
    let d = decode(s.path());
    assert_eq!(
        d.value("latency"),
        Value::Average {
            count: 3,
            sum: Num::I(12)
        }
    );
    assert_eq!(
        d.value("load"),
        Value::Average {
            count: 2,
            sum: Num::F(0.75)
        }
    );
    assert_eq!(d.field("latency").meta.kind, Kind::Average);
    assert_eq!(d.field("latency").meta.value_type, ValueType::I32);
    assert_eq!(d.field("latency").meta.combine, Combine::Avg);
}

#[test]
fn moving_averages_cover_the_last_n() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let m = s.moving_average::<u64>("rows", 3).register().unwrap();
    for v in 1..=5 {
        m.record(v);
    }
    let d = decode(s.path());
    assert_eq!(
        d.value("rows"),
        Value::MovingAverage {
            count: 5,
            window_count: 3,
            window_sum: Num::U(3 + 4 + 5),
            last: Num::U(5),
        }
    );
    assert_eq!(d.field("rows").meta.capacity, 3);

    // Floats stay exact over many turns of the window.
    let f = s.moving_average::<f64>("ratio", 4).register().unwrap();
    for i in 0..1000 {
        f.record(if i % 2 == 0 { 0.1 } else { 1e6 });
    }
    match decode(s.path()).value("ratio") {
        Value::MovingAverage {
            count,
            window_count,
            window_sum,
            ..
        } => {
            assert_eq!((count, window_count), (1000, 4));
            assert!(
                (window_sum.as_f64() - 2_000_000.2).abs() < 1e-6,
                "{window_sum}"
            );
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn histograms_match_the_format_s_own_bucketing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let h = s.histogram("size").unit("bytes").register().unwrap();
    let small = s.histogram("small").capacity(64).register().unwrap();
    let mut want = Histogram::empty(5, mmstats::DEFAULT_BUCKETS as usize);
    let mut want_small = Histogram::empty(5, 64);
    for v in [0, 1, 63, 64, 1000, 123_456, 7, 1 << 40, u64::MAX] {
        h.record(v);
        want.record(v);
        small.record(v);
        want_small.record(v);
    }
    let d = decode(s.path());
    assert_eq!(d.value("size"), Value::Histogram(want.clone()));
    assert_eq!(d.value("small"), Value::Histogram(want_small));
    let f = d.field("size");
    assert_eq!((f.meta.kind, f.meta.param), (Kind::Histogram, 5));
    assert_eq!(f.meta.capacity, mmstats::DEFAULT_BUCKETS);
    assert_eq!(want.count, 9);
    assert_eq!(want.max, u64::MAX);

    let empty = s.histogram("empty").register().unwrap();
    let _ = empty;
    match decode(s.path()).value("empty") {
        Value::Histogram(h) => assert_eq!((h.count, h.min, h.max), (0, u64::MAX, 0)),
        v => panic!("{v:?}"),
    }
}

#[test]
fn timers_record_durations_and_a_moving_window() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t = s.timer("request").capacity(2).register().unwrap();
    t.record(Duration::from_micros(3));
    t.record_ns(5_000);
    t.record_ns(7_000);
    let slept = t.time(|| {
        std::thread::sleep(Duration::from_millis(2));
        42
    });
    assert_eq!(slept, 42);
    let d = decode(s.path());
    let f = d.field("request");
    assert_eq!(f.meta.kind, Kind::Timer);
    assert_eq!(f.meta.unit, "nanoseconds");
    match d.value("request") {
        Value::Histogram(h) => {
            assert_eq!(h.count, 4);
            assert_eq!(h.min, 3_000);
            assert!(h.max >= 2_000_000, "{}", h.max);
            assert_eq!(h.last, h.max);
            assert_eq!(h.window_count, 2, "window of 2");
            assert_eq!(h.window_sum, 7_000 + h.last);
            assert_eq!(h.buckets.iter().sum::<u64>(), 4);
        }
        v => panic!("{v:?}"),
    }
    assert!(s.timer("bad").capacity(0).register().is_err());
}

#[test]
fn timestamps_are_seconds_since_the_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t = s.timestamp("started").register().unwrap();
    let when = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
    t.set(when);
    assert_eq!(t.get_secs(), 1_700_000_000.5);
    let d = decode(s.path());
    assert_eq!(d.value("started"), Value::Number(Num::F(1_700_000_000.5)));
    assert_eq!(d.field("started").meta.unit, "seconds");
    t.set_now();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((t.get_secs() - now).abs() < 5.0);
}

#[test]
fn windowed_fields_count_in_the_current_second() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let w = s.windowed::<u64>("hits").register().unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for _ in 0..10 {
        w.record(3);
    }
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let d = decode(s.path());
    let f = d.field("hits");
    assert_eq!(
        (f.meta.kind, f.meta.param, f.meta.capacity),
        (Kind::Windowed, 1, 60)
    );
    match d.value("hits") {
        Value::Windowed(win) => {
            assert_eq!((win.count, win.sum), (10, Num::U(30)));
            let used: Vec<_> = win.slots.iter().filter(|p| p.period != 0).collect();
            assert!(!used.is_empty() && used.len() <= 2);
            assert!(used.iter().all(|p| (before..=after).contains(&p.period)));
            assert_eq!(used.iter().map(|p| p.count).sum::<u64>(), 10);
            let summary = win.summary(after as f64 + 0.5, before as f64 - 60.0);
            assert_eq!(summary.count, 10);
            assert_eq!(summary.mean, Some(3.0));
        }
        v => panic!("{v:?}"),
    }
}
