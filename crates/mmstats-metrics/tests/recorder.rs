//! The recorder in one process: handles used from several threads that start and end, read
//! back through the reader.

use std::path::Path;

use metrics::{Key, Label, Level, Metadata, Recorder, Unit};
use mmstats_reader::{Intervals, Num, Snapshot, StatsFile, Value};

const META: Metadata<'static> = Metadata::new("test", Level::INFO, None);

fn read_all(dir: &Path) -> Vec<Snapshot> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "mmstats") {
            out.push(StatsFile::open(&path).unwrap().snapshot().unwrap());
        }
    }
    out
}

fn total(snaps: &[Snapshot], label: &str) -> Option<Value> {
    Intervals::new()
        .assume_alive()
        .update(snaps)
        .combined()
        .into_iter()
        .find(|c| c.meta.series_key() == label)
        .and_then(|c| c.value)
}

#[test]
fn series_from_threads_that_end_keep_exact_totals_labels_and_help() {
    let tmp = tempfile::tempdir().unwrap();
    let recorder = mmstats_metrics::Builder::new()
        .dir(tmp.path())
        .name("bridge")
        .label_sets(3)
        .build();
    let key = |name: &str, labels: &[(&str, &str)]| {
        Key::from_parts(
            name.to_string(),
            labels
                .iter()
                .map(|(k, v)| Label::new(k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    // Described before first use.
    recorder.describe_histogram(
        "latency_seconds".into(),
        Some(Unit::Seconds),
        "request time".into(),
    );
    let get = recorder.register_counter(&key("http_requests_total", &[("method", "GET")]), &META);
    let post = recorder.register_counter(
        &key(
            "http_requests_total",
            &[("method", "POST"), ("code", "500")],
        ),
        &META,
    );
    let latency = recorder.register_histogram(&key("latency_seconds", &[("method", "GET")]), &META);
    let depth = recorder.register_gauge(&key("queue_depth", &[]), &META);
    // Threads that start and end, each with the handles made once (as `metrics` caches them).
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (get, post, latency, depth) =
                (get.clone(), post.clone(), latency.clone(), depth.clone());
            std::thread::spawn(move || {
                for i in 0..1000u64 {
                    get.increment(1);
                    if i % 10 == 0 {
                        post.increment(2);
                    }
                    latency.record(0.001 * (t + 1) as f64);
                    depth.increment(1.0);
                    depth.decrement(0.5);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap(); // after its thread-locals were dropped: its file is folded
    }
    // Described after first use: the help still reaches the files.
    recorder.describe_counter("http_requests_total".into(), None, "requests served".into());
    // A gauge's one field exists since its first update: its late help goes to a zero field.
    recorder.describe_gauge("queue_depth".into(), None, "jobs waiting".into());
    get.increment(5); // this thread's own file
    let snaps = read_all(tmp.path());
    let get_key = r#"http_requests_total{method="GET"}"#;
    assert_eq!(total(&snaps, get_key), Some(Value::Number(Num::U(4005))));
    assert_eq!(
        total(&snaps, r#"http_requests_total{code="500",method="POST"}"#),
        Some(Value::Number(Num::U(800)))
    );
    assert_eq!(
        total(&snaps, "queue_depth"),
        Some(Value::Number(Num::F(2000.0)))
    );
    let Some(Value::Histogram(h)) = total(&snaps, r#"latency_seconds{method="GET"}"#) else {
        panic!("no histogram")
    };
    assert_eq!((h.count, h.min, h.max), (4000, 1_000_000, 4_000_000));
    assert_eq!(h.sum, 1000 * (1 + 2 + 3 + 4) * 1_000_000);
    let fields: Vec<_> = snaps.iter().flat_map(|s| s.fields.iter()).collect();
    let lat = fields
        .iter()
        .find(|f| f.meta.name() == "latency_seconds")
        .unwrap();
    assert_eq!(
        (lat.meta.unit.as_str(), lat.meta.help.as_str()),
        ("nanoseconds", "request time")
    );
    assert!(
        fields
            .iter()
            .any(|f| f.meta.label == get_key && f.meta.help == "requests served"),
        "the late description is in a file"
    );
    assert!(
        fields
            .iter()
            .any(|f| f.meta.label == "queue_depth" && f.meta.help == "jobs waiting"),
        "the gauge's late description is in a file"
    );
    // The threads ended: their files are gone, their counts are in the totals.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.contains("totals")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("shared")), "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("-help.mmstats")),
        "{names:?}"
    );
    assert_eq!(
        names.len(),
        4,
        "totals, shared, descriptions and this thread's file: {names:?}"
    );

    // absolute() raises a shared field; the cap sends further label sets to the overflow.
    let abs = recorder.register_counter(&key("mirrored", &[]), &META);
    abs.absolute(10);
    abs.absolute(7);
    for user in 0..5 {
        let c = recorder.register_counter(&key("logins", &[("user", &user.to_string())]), &META);
        c.increment(1);
    }
    let snaps = read_all(tmp.path());
    assert_eq!(total(&snaps, "mirrored"), Some(Value::Number(Num::U(10))));
    assert_eq!(
        total(&snaps, r#"logins{mmstats_overflow="true"}"#),
        Some(Value::Number(Num::U(2)))
    );
    assert_eq!(
        total(&snaps, r#"logins{user="2"}"#),
        Some(Value::Number(Num::U(1)))
    );
}

/// More series than a thread's lane has entries (so entries evict each other), from threads
/// that take turns with two recorders: every increment lands on its own series.
#[test]
fn many_series_sharing_lane_entries_keep_exact_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let first = mmstats_metrics::Builder::new()
        .dir(tmp.path())
        .name("a")
        .build();
    let second = mmstats_metrics::Builder::new()
        .dir(tmp.path())
        .name("b")
        .build();
    let names: Vec<String> = (0..200).map(|i| format!("series_{i}")).collect();
    let handles: Vec<metrics::Counter> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let r: &dyn Recorder = if i % 2 == 0 { &first } else { &second };
            r.register_counter(&Key::from_name(n.clone()), &META)
        })
        .collect();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let handles = handles.clone();
            std::thread::spawn(move || {
                for round in 0..50u64 {
                    // series j gets j+1 per round, in an order that changes every round
                    for i in 0..handles.len() {
                        let j = (i * 7 + round as usize) % handles.len();
                        handles[j].increment(j as u64 + 1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let snaps = read_all(tmp.path());
    for (i, n) in names.iter().enumerate() {
        let want = 3 * 50 * (i as u64 + 1);
        match total(&snaps, n) {
            Some(Value::Number(Num::U(v))) => assert_eq!(v, want, "{n}"),
            other => panic!("{n}: {other:?}"),
        }
    }
}

/// Counters in multiples of bytes are stored in bytes: each increment is multiplied on the way
/// in, also when the counter is used in turn with unscaled ones from several threads.
#[test]
fn counters_in_kibibytes_and_up_store_exact_bytes_beside_plain_counters() {
    let tmp = tempfile::tempdir().unwrap();
    let recorder = mmstats_metrics::Builder::new().dir(tmp.path()).build();
    recorder.describe_counter("read_kib".into(), Some(Unit::Kibibytes), "".into());
    recorder.describe_counter("written_mib".into(), Some(Unit::Mebibytes), "".into());
    recorder.describe_counter("sent".into(), Some(Unit::Bytes), "".into());
    let kib = recorder.register_counter(&Key::from_name("read_kib"), &META);
    let mib = recorder.register_counter(&Key::from_name("written_mib"), &META);
    let sent = recorder.register_counter(&Key::from_name("sent"), &META);
    let plain = recorder.register_counter(&Key::from_name("calls"), &META);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (kib, mib, sent, plain) = (kib.clone(), mib.clone(), sent.clone(), plain.clone());
            std::thread::spawn(move || {
                for i in 0..1000u64 {
                    kib.increment(i % 3);
                    plain.increment(1);
                    mib.increment(1);
                    sent.increment(5);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let snaps = read_all(tmp.path());
    let kib_total: u64 = (0..1000u64).map(|i| i % 3).sum::<u64>() * 2 * 1024;
    for (name, want) in [
        ("read_kib", kib_total),
        ("written_mib", 2000 << 20),
        ("sent", 10_000),
        ("calls", 2000),
    ] {
        assert_eq!(
            total(&snaps, name),
            Some(Value::Number(Num::U(want))),
            "{name}"
        );
    }
}

/// A thread-local destructor that updates a handle while the thread ends runs before or after
/// the bridge's own per-thread state is gone: either way no crash, and an update made while
/// the state lives is counted.
#[test]
fn updates_from_thread_local_destructors_are_safe() {
    struct Late(metrics::Counter);
    impl Drop for Late {
        fn drop(&mut self) {
            self.0.increment(1);
        }
    }
    thread_local! {
        static LATE: std::cell::RefCell<Option<Late>> = const { std::cell::RefCell::new(None) };
    }
    let tmp = tempfile::tempdir().unwrap();
    let rec = mmstats_metrics::Builder::new()
        .dir(tmp.path())
        .name("late")
        .build();
    let c = rec.register_counter(&Key::from_name("late_total"), &META);
    for _ in 0..20 {
        let c = c.clone();
        std::thread::spawn(move || {
            c.increment(5);
            LATE.with(|l| *l.borrow_mut() = Some(Late(c)));
        })
        .join()
        .unwrap();
    }
    let snaps = read_all(tmp.path());
    match total(&snaps, "late_total") {
        Some(Value::Number(Num::U(v))) => assert!((100..=120).contains(&v), "{v}"),
        other => panic!("{other:?}"),
    }
}

/// The builder's file name template names each thread's file, and a thread's file takes the
/// series its reserve has room for: the series past it are dropped in that thread, without a
/// panic, while the ones that fit keep exact counts (also once the thread ended).
#[test]
fn file_template_names_the_files_and_a_full_file_drops_only_the_series_past_its_reserve() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = mmstats_metrics::Builder::new()
        .dir(tmp.path())
        .name("web")
        .file_template("svc-{NAME}-{PID}-{TID}.mmstats")
        .reserve(mmstats_metrics::Reserve {
            fields: 2,
            strings: 4096,
            values: 4096,
        })
        .build();
    let counters: Vec<metrics::Counter> = (0..5)
        .map(|i| rec.register_counter(&Key::from_name(format!("jobs_{i}")), &META))
        .collect();
    let (paused_tx, paused_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        for (i, c) in counters.iter().enumerate() {
            c.increment(10 + i as u64);
            c.increment(1);
        }
        paused_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    });
    paused_rx.recv().unwrap();
    let pid = std::process::id();
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let prefix = format!("svc-web-{pid}-");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with(&prefix) && n.ends_with(".mmstats") && !n.contains("totals")),
        "a thread file named by the template: {names:?}"
    );
    let counted = |snaps: &[Snapshot]| -> Vec<Option<Value>> {
        (0..5).map(|i| total(snaps, &format!("jobs_{i}"))).collect()
    };
    let live = counted(&read_all(tmp.path()));
    let num = |v: u64| Some(Value::Number(Num::U(v)));
    assert_eq!(live, vec![num(11), num(12), None, None, None], "{names:?}");
    go_tx.send(()).unwrap();
    worker.join().unwrap();
    // Folded into the totals when the thread ended: the same counts.
    assert_eq!(counted(&read_all(tmp.path())), live);
}

/// Without a usable stats directory every update is dropped: no panic, no file.
#[test]
fn updates_without_a_usable_directory_are_dropped_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_dir = tmp.path().join("plain-file");
    std::fs::write(&not_a_dir, b"not a directory").unwrap();
    let rec = mmstats_metrics::Builder::new().dir(&not_a_dir).build();
    let c = rec.register_counter(&Key::from_name("c"), &META);
    let g = rec.register_gauge(&Key::from_name("g"), &META);
    let h = rec.register_histogram(&Key::from_name("h_seconds"), &META);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    c.increment(1);
                    c.absolute(5);
                    g.set(1.0);
                    g.increment(1.0);
                    h.record(0.5);
                }
            });
        }
    });
    rec.describe_counter("c".into(), None, "late help".into());
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the plain file");
}
