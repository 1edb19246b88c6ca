//! Per-process totals: a thread's final values outlive its file (FORMAT.md §2.1 `PROCESS`).
//!
//! The checks run in a child process (the totals are process-wide and the directory comes from
//! the environment), which the test `totals_follow_threads` starts.

use std::path::{Path, PathBuf};

use mmstats::__private::LocalCell;
use mmstats::{
    Average, Counter, Error, Gauge, Histogram, Options, Reserve, Stats, StatsModel, Windowed,
};
use mmstats_format::layout::state;
use mmstats_format::{Num, Value};

use crate::file::{decode, names};

/// What `#[derive(StatsModel)]` would generate.
#[derive(Debug)]
struct Work {
    done: Counter,
    sizes: Histogram,
    load: Average<f64>,
    busy: Gauge<u32>,
    events: Windowed<u64>,
}

impl StatsModel for Work {
    const NAME: &'static str = "work";
    const PREFIX: &'static str = "work.";
    fn register_all(stats: &Stats) -> Result<Self, Error> {
        Ok(Work {
            done: stats.counter("done").register()?,
            sizes: stats.histogram("sizes").register()?,
            load: stats.average("load").register()?,
            busy: stats.gauge("busy").register()?,
            events: stats.windowed("events", 10).register()?,
        })
    }
    fn reserve() -> Reserve {
        Reserve {
            fields: 5,
            strings: 5 * 16,
            values: 16 * 1024,
        }
    }
}

impl Work {
    fn local() -> mmstats::Local<Work> {
        mmstats::__private::thread_local! {
            static CELL: LocalCell<Work> = const { LocalCell::new() };
        }
        CELL.with(LocalCell::get)
    }
}

fn dir() -> PathBuf {
    PathBuf::from(std::env::var_os("MMSTATS_PATH").expect("MMSTATS_PATH"))
}

/// `label`'s counter value in the file at `path`.
fn counter(path: &Path, label: &str) -> u64 {
    match decode(path).value(label) {
        Value::Number(Num::U(v)) => v,
        v => panic!("{v:?}"),
    }
}

/// The sum of `work.done` over every file in the directory, as a reader adds it up.
fn sum_over_files() -> u64 {
    names(&dir())
        .iter()
        .map(|n| counter(&dir().join(n), "work.done"))
        .sum()
}

fn totals_child() {
    let totals = dir().join("work-totals.mmstats");
    let main = Work::local();
    main.done.incr(1);

    // A thread's file exists while it runs and is gone after; its values are in the totals.
    let (path, existed) = std::thread::spawn(|| {
        let w = Work::local();
        w.done.incr(10);
        for _ in 0..3 {
            w.sizes.record(100);
        }
        w.sizes.record(7);
        w.load.record(1.5);
        w.busy.set(3);
        w.events.record_at(1_700_000_000, 4);
        let p = w.stats().path().to_path_buf();
        (p.clone(), p.exists())
    })
    .join()
    .unwrap();
    assert!(existed);
    assert!(!path.exists(), "the thread's file went with it");
    let d = decode(&totals);
    assert_eq!(d.header.identity.tid, 0);
    assert_eq!(d.header.live.state & state::PROCESS, state::PROCESS);
    assert_eq!(d.value("sys.tid"), Value::Number(Num::U(0)));
    assert_eq!(d.value("work.done"), Value::Number(Num::U(10)));
    let Value::Histogram(h) = d.value("work.sizes") else {
        panic!()
    };
    assert_eq!((h.count, h.sum, h.min, h.max), (4, 307, 7, 100));
    assert_eq!(
        d.value("work.load"),
        Value::Average {
            count: 1,
            sum: Num::F(1.5)
        }
    );
    let Value::Windowed(w) = d.value("work.events") else {
        panic!()
    };
    assert_eq!(w.count, 1);
    assert!(
        w.slots
            .iter()
            .any(|p| p.period == 1_700_000_000 && p.count == 1)
    );
    assert!(
        !d.labels().contains(&"work.busy"),
        "gauges describe a thread's present and are not folded"
    );

    // Threads come and go: the totals and the sum over the files never go back.
    let mut expected = 11;
    let mut last_totals = 10;
    for round in 1..=6u64 {
        let threads: Vec<_> = (0..3)
            .map(|i| {
                std::thread::spawn(move || {
                    let w = Work::local();
                    w.done.incr(round * 10 + i);
                    w.sizes.record(round);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
            let now = counter(&totals, "work.done");
            assert!(
                now >= last_totals,
                "totals went back: {now} < {last_totals}"
            );
            last_totals = now;
        }
        expected += 3 * round * 10 + 3;
        assert_eq!(sum_over_files(), expected, "round {round}");
        assert_eq!(
            names(&dir()).len(),
            2,
            "the main thread's file and the totals"
        );
    }
    let Value::Histogram(h) = decode(&totals).value("work.sizes") else {
        panic!()
    };
    assert_eq!(h.count, 4 + 18);
    assert_eq!(h.bucket_total(), h.count);

    // A stats object of its own opts in with `Options::totals`.
    std::thread::spawn(|| {
        let s = Stats::create(Options::new().name("plain").fold_totals(true)).unwrap();
        s.counter("jobs").register().unwrap().incr(5);
    })
    .join()
    .unwrap();
    let plain = dir().join("plain-totals.mmstats");
    assert_eq!(counter(&plain, "jobs"), 5);

    // remove_all takes every file of the process, a running thread's included.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<PathBuf>();
    let worker = std::thread::spawn(move || {
        let w = Work::local();
        w.done.incr(1);
        ready_tx.send(w.stats().path().to_path_buf()).unwrap();
        rx.recv().unwrap();
    });
    let theirs = ready_rx.recv().unwrap();
    assert!(theirs.exists());
    mmstats::remove_all();
    assert!(names(&dir()).is_empty(), "{:?}", names(&dir()));
    tx.send(()).unwrap();
    worker.join().unwrap();
    // The thread that ended afterwards started a new totals file; the exit removes it.
    assert_eq!(counter(&totals, "work.done"), 1);
    drop(main);
}

#[test]
fn totals_follow_threads() {
    let Some((tmp, _)) = crate::run_in_child("totals::totals_follow_threads", totals_child) else {
        return;
    };
    // The exit removed what was left: the main thread's file and the new totals file.
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
}
