//! The interval engine against values the tests know to be true: threads folded into their
//! process file, exits and restarts, wraps and resets, percentiles, averages, gauges, windows,
//! idle processes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::Period;
use mmstats_reader::{
    FieldMeta, FileInfo, FormatVersion, HistogramValue, Intervals, Kind, Num, Sample, Snapshot,
    Value, ValueType, WindowedValue, unix_seconds,
};
use mmstats_testkit::snapshot::SnapshotBuilder;

fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs)
}

/// A file of process `pid` (start time `start`), thread `tid` (0: the process file), created at
/// `created` seconds, read at `taken` seconds, with these fields.
struct File {
    pid: u32,
    start: u64,
    tid: u32,
    created: f64,
    fold_seq: u64,
    folded: bool,
}

impl File {
    fn thread(pid: u32, tid: u32, created: f64) -> File {
        File {
            pid,
            start: 1,
            tid,
            created,
            fold_seq: 0,
            folded: false,
        }
    }

    fn totals(pid: u32, created: f64, fold_seq: u64) -> File {
        File {
            tid: 0,
            fold_seq,
            ..File::thread(pid, 0, created)
        }
    }

    fn snap(&self, taken: f64, fields: Vec<(FieldMeta, Value)>) -> Snapshot {
        let process = self.tid == 0;
        let name = if process {
            "totals".to_string()
        } else {
            self.tid.to_string()
        };
        let info = FileInfo {
            pid: Some(self.pid),
            tid: Some(self.tid),
            start_time: Some(self.start),
            boot_id: Some([7; 16]),
            created: Some(at(self.created)),
            process_totals: process,
            folded: self.folded,
            ..FileInfo::new(
                FormatVersion::V2,
                (1, u64::from(self.pid) * 1000 + u64::from(self.tid)),
            )
        };
        let mut b = SnapshotBuilder::new(format!("/s/job-{}-{name}.mmstats", self.pid))
            .info(info)
            .taken(at(taken));
        if process {
            b = b.fold_seq(self.fold_seq);
        }
        fields
            .into_iter()
            .fold(b, |b, (m, v)| b.field(m, v))
            .build()
    }
}

/// A numeric field of `label`, with value `n`.
fn number(label: &str, kind: Kind, value_type: ValueType, n: Num) -> (FieldMeta, Value) {
    (FieldMeta::new(label, kind, value_type), Value::Number(n))
}

fn jobs(v: u64) -> (FieldMeta, Value) {
    number("jobs", Kind::Counter, ValueType::U64, Num::U(v))
}

fn engine() -> Intervals {
    Intervals::new().assume_alive()
}

fn rate(sample: &Sample, label: &str) -> Option<f64> {
    sample
        .combined()
        .into_iter()
        .find(|s| s.meta.label == label)?
        .number(None)
}

fn total(sample: &Sample, label: &str) -> Option<f64> {
    sample
        .totals_with_exited()
        .into_iter()
        .find(|s| s.meta.label == label)?
        .number(Some("total"))
}

#[test]
fn a_thread_folded_into_its_process_file_is_invisible() {
    let mut e = engine();
    let (a, b) = (File::thread(7, 8, 0.0), File::thread(7, 9, 0.0));
    let s = e.update(&[a.snap(10.0, vec![jobs(100)]), b.snap(10.0, vec![jobs(200)])]);
    assert_eq!(rate(&s, "jobs"), None, "no rate before a second sample");
    assert_eq!(total(&s, "jobs"), Some(300.0));
    // Thread a did 50 more, ended, and was folded into a new process file; b did 100 more.
    let t = File::totals(7, 11.0, 2);
    let s = e.update(&[b.snap(12.0, vec![jobs(300)]), t.snap(12.0, vec![jobs(150)])]);
    assert_eq!(rate(&s, "jobs"), Some(75.0));
    assert_eq!(total(&s, "jobs"), Some(450.0));
    // The per-thread view: b added 100, the process file only a's last 50.
    let p = &s.processes[0];
    let share = |tid: u32| {
        p.files
            .iter()
            .find(|f| f.info.tid == Some(tid))
            .and_then(|f| f.series[0].number(Some("delta")))
    };
    assert_eq!((share(9), share(0)), (Some(100.0), Some(50.0)));
    // Thread b did 50 more and was folded too (fold_seq 2 -> 4).
    let t = File::totals(7, 11.0, 4);
    let s = e.update(&[t.snap(14.0, vec![jobs(500)])]);
    assert_eq!(rate(&s, "jobs"), Some(25.0));
    assert_eq!(total(&s, "jobs"), Some(500.0));
    // Idle: nothing changes.
    let s = e.update(&[t.snap(16.0, vec![jobs(500)])]);
    assert_eq!(rate(&s, "jobs"), Some(0.0));
}

#[test]
fn a_folded_thread_still_on_disk_is_not_counted_twice() {
    let mut e = engine();
    let (a, t) = (File::thread(7, 8, 0.0), File::totals(7, 0.0, 2));
    e.update(&[
        a.snap(10.0, vec![jobs(100)]),
        t.snap(10.0, vec![jobs(1000)]),
    ]);
    // a did 20 more and was folded (and marked so) but its file is not unlinked yet.
    let folded = File {
        folded: true,
        ..File::thread(7, 8, 0.0)
    };
    let t = File::totals(7, 0.0, 4);
    let s = e.update(&[
        folded.snap(11.0, vec![jobs(120)]),
        t.snap(11.0, vec![jobs(1120)]),
    ]);
    assert_eq!(rate(&s, "jobs"), Some(20.0));
    assert_eq!(total(&s, "jobs"), Some(1120.0));
}

#[test]
fn a_thread_gone_without_a_fold_keeps_what_it_counted() {
    let mut e = engine();
    let (a, b) = (File::thread(7, 8, 0.0), File::thread(7, 9, 0.0));
    e.update(&[a.snap(10.0, vec![jobs(100)]), b.snap(10.0, vec![jobs(200)])]);
    let s = e.update(&[b.snap(11.0, vec![jobs(210)])]);
    assert_eq!(rate(&s, "jobs"), Some(10.0), "never negative");
    assert_eq!(
        total(&s, "jobs"),
        Some(310.0),
        "the continuous total keeps a's 100"
    );
}

#[test]
fn process_exit_and_restart_make_no_jump_and_totals_never_go_down() {
    let mut e = engine();
    let old = File::thread(7, 7, 0.0);
    e.update(&[old.snap(10.0, vec![jobs(5000)])]);
    let s = e.update(&[old.snap(11.0, vec![jobs(5100)])]);
    assert_eq!(rate(&s, "jobs"), Some(100.0));
    // It exits; the same program is restarted under the same pid (another start time).
    let new = File {
        start: 99,
        ..File::thread(7, 7, 11.5)
    };
    let s = e.update(&[new.snap(12.0, vec![jobs(40)])]);
    assert_eq!(
        rate(&s, "jobs"),
        Some(40.0),
        "the new process did all of its 40 jobs in the interval"
    );
    assert_eq!(s.processes.len(), 1);
    assert_eq!(
        total(&s, "jobs"),
        Some(5140.0),
        "the exited process's total is kept"
    );
    let s = e.update(&[new.snap(13.0, vec![jobs(120)])]);
    assert_eq!(rate(&s, "jobs"), Some(80.0));
    assert_eq!(total(&s, "jobs"), Some(5220.0));
}

#[test]
fn a_new_thread_counts_from_zero_and_a_late_seen_one_from_now() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    e.update(&[a.snap(10.0, vec![jobs(100)])]);
    let born = File::thread(7, 9, 10.5);
    let late = File::thread(7, 10, 5.0);
    let s = e.update(&[
        a.snap(11.0, vec![jobs(110)]),
        born.snap(11.0, vec![jobs(30)]),
        late.snap(11.0, vec![jobs(1000)]),
    ]);
    assert_eq!(rate(&s, "jobs"), Some(40.0));
    let s = e.update(&[
        a.snap(12.0, vec![jobs(110)]),
        born.snap(12.0, vec![jobs(30)]),
        late.snap(12.0, vec![jobs(1001)]),
    ]);
    assert_eq!(rate(&s, "jobs"), Some(1.0));
}

/// A scan's snapshot of `file` holding `n` jobs: its list of files settled at `listed` s, its
/// values read at `taken` s.
fn scanned(file: &File, listed: f64, taken: f64, n: u64) -> Snapshot {
    Snapshot {
        listed: Some(at(listed)),
        ..file.snap(taken, vec![jobs(n)])
    }
}

#[test]
fn a_thread_created_between_a_scans_listing_and_its_read_counts_from_zero() {
    // A scan settles its list of files at `listed` and reads them a little later (`taken`): a
    // thread file created in between is not in that scan, though created before its `taken`.
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    e.update(&[scanned(&a, 9.99, 10.0, 100)]);
    // created at 9.995 s: after the listing, before the read
    let between = File::thread(7, 9, 9.995);
    // created before the listing, yet not in that scan (it could not be read then)
    let late = File::thread(7, 10, 9.0);
    let s = e.update(&[
        scanned(&a, 10.99, 11.0, 110),
        scanned(&between, 10.99, 11.0, 30),
        scanned(&late, 10.99, 11.0, 1000),
    ]);
    assert_eq!(
        rate(&s, "jobs"),
        Some(40.0),
        "the new thread's 30 jobs happened within the interval; the late one's are unknown"
    );
    // A process first seen after an update, its files created after that update's listing.
    let b = File::thread(8, 8, 10.995);
    let s = e.update(&[
        scanned(&a, 11.99, 12.0, 120),
        scanned(&between, 11.99, 12.0, 30),
        scanned(&late, 11.99, 12.0, 1000),
        scanned(&b, 11.99, 12.0, 50),
    ]);
    let rate_of = |pid: u32| {
        s.processes
            .iter()
            .find(|p| p.pid() == Some(pid))
            .and_then(|p| p.series.iter().find(|x| x.meta.label == "jobs"))
            .and_then(|x| x.number(None))
    };
    assert_eq!(rate_of(7), Some(10.0));
    assert_eq!(
        rate_of(8),
        Some(50.0),
        "the new process did its 50 jobs in the interval"
    );
}

#[test]
fn a_thread_published_after_a_scans_listing_counts_from_zero_though_created_before_it() {
    // A writer stamps its file's creation time, then publishes the file under its name: a
    // scan can list in between. The next scan says the name appeared since that listing.
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    e.update(&[scanned(&a, 9.99, 10.0, 100)]);
    let stamped = File::thread(7, 9, 9.98);
    let s = e.update(&[
        scanned(&a, 10.99, 11.0, 110),
        Snapshot {
            appeared: Some(at(9.99)),
            ..scanned(&stamped, 10.99, 11.0, 30)
        },
    ]);
    assert_eq!(
        rate(&s, "jobs"),
        Some(40.0),
        "the new thread's 30 jobs happened within the interval"
    );
    // Without that word from the scanner, the same file is one seen late.
    let mut e = engine();
    e.update(&[scanned(&a, 9.99, 10.0, 100)]);
    let s = e.update(&[
        scanned(&a, 10.99, 11.0, 110),
        scanned(&stamped, 10.99, 11.0, 30),
    ]);
    assert_eq!(rate(&s, "jobs"), Some(10.0));
}

#[test]
fn counters_wrap_from_the_top_half_and_reset_otherwise() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    let u32c = |v: u64| number("n", Kind::Counter, ValueType::U32, Num::U(v));
    let i64c = |v: i64| number("s", Kind::Counter, ValueType::I64, Num::I(v));
    let u64c = |v: u64| number("w", Kind::Counter, ValueType::U64, Num::U(v));
    e.update(&[a.snap(10.0, vec![u32c(0xFFFF_FFF0), i64c(500), u64c(u64::MAX - 9)])]);
    let s = e.update(&[a.snap(11.0, vec![u32c(0x10), i64c(20), u64c(5)])]);
    assert_eq!(rate(&s, "n"), Some(32.0));
    assert_eq!(rate(&s, "s"), Some(20.0));
    assert_eq!(rate(&s, "w"), Some(15.0), "wrapped at 64 bits");
    // Down but within one half of the width: zeroed in place, counted from the new value.
    let s = e.update(&[a.snap(12.0, vec![u32c(0x8), i64c(30), u64c(3)])]);
    assert_eq!(rate(&s, "n"), Some(8.0));
    assert_eq!(rate(&s, "w"), Some(3.0));
    let s = e.update(&[a.snap(13.0, vec![u32c(0x9), i64c(40), u64c(1_001_200)])]);
    assert_eq!(rate(&s, "w"), Some(1_001_197.0));
    let s = e.update(&[a.snap(14.0, vec![u32c(0xA), i64c(50), u64c(50)])]);
    assert_eq!(rate(&s, "w"), Some(50.0), "a reset, not a wrap of 2^64");
}

fn latency(values: &[u64]) -> (FieldMeta, Value) {
    let mut meta = FieldMeta::new("latency", Kind::Timer, ValueType::U64);
    meta.param = 5;
    meta.capacity = 1920;
    meta.unit = "nanoseconds".into();
    let mut h = HistogramValue::empty(5, 1920);
    for v in values {
        h.record(*v);
    }
    (meta, Value::Histogram(h.into()))
}

#[test]
fn interval_percentiles_follow_a_change_in_latency_across_a_fold() {
    let mut e = engine();
    let (a, b) = (File::thread(7, 8, 0.0), File::thread(7, 9, 0.0));
    let fast: Vec<u64> = vec![1_000_000; 1000];
    e.update(&[
        a.snap(10.0, vec![latency(&fast)]),
        b.snap(10.0, vec![latency(&fast)]),
    ]);
    // Both threads switch to 10 ms; a ends and is folded.
    let mut slow = fast.clone();
    slow.extend(vec![10_000_000; 100]);
    let t = File::totals(7, 10.5, 2);
    let s = e.update(&[
        b.snap(11.0, vec![latency(&slow)]),
        t.snap(11.0, vec![latency(&slow)]),
    ]);
    let l = s
        .combined()
        .into_iter()
        .find(|s| s.meta.label == "latency")
        .unwrap();
    assert_eq!(l.number(Some("count")), Some(200.0));
    let p99 = l.number(Some("p99")).unwrap();
    assert!((p99 - 1e7).abs() < 1e7 * 0.016, "{p99}");
    let p50 = l.number(Some("p50")).unwrap();
    assert!((p50 - 1e7).abs() < 1e7 * 0.016, "{p50}");
    assert!((l.number(None).unwrap() - 1e7).abs() < 1.0, "interval mean");
    // Over its life the process recorded 2,200 values.
    assert_eq!(latency_total(&s).count, 2200);
}

#[test]
fn averages_show_the_interval_mean() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    let avg = |count: u64, sum: u64| {
        (
            FieldMeta::new("size", Kind::Average, ValueType::U64),
            Value::Average {
                count,
                sum: Num::U(sum),
            },
        )
    };
    e.update(&[a.snap(10.0, vec![avg(1000, 1000)])]);
    let s = e.update(&[a.snap(11.0, vec![avg(1010, 1500)])]);
    assert_eq!(rate(&s, "size"), Some(50.0));
}

#[test]
fn gauges_read_as_their_process_total_and_constants_are_never_averaged() {
    let mut e = engine();
    let (a, b) = (File::thread(7, 8, 0.0), File::thread(7, 9, 1.0));
    let c = File::thread(8, 8, 0.0);
    let gauge = |v: u64| number("in_flight", Kind::Gauge, ValueType::U32, Num::U(v));
    let worker = |v: u64| number("worker", Kind::Constant, ValueType::U32, Num::U(v));
    let pid = |v: u64| number("sys.pid", Kind::Constant, ValueType::U32, Num::U(v));
    let s = e.update(&[
        a.snap(10.0, vec![gauge(1), worker(0), pid(7)]),
        b.snap(10.0, vec![gauge(2), worker(1), pid(7)]),
        c.snap(10.0, vec![gauge(4), worker(0), pid(8)]),
    ]);
    let p7 = &s.processes[0];
    assert_eq!(p7.series("in_flight").unwrap().number(None), Some(3.0));
    assert_eq!(p7.series("sys.pid").unwrap().number(None), Some(7.0));
    // The newest thread's constant, never a mean; the others are listed.
    let w = p7.series("worker").unwrap();
    assert_eq!(w.number(None), Some(1.0));
    let all = s.combined();
    let get = |l: &str| all.iter().find(|s| s.meta.label == l).unwrap();
    assert_eq!(get("in_flight").number(None), Some(7.0));
    let pids = get("sys.pid");
    assert_eq!(pids.value, None);
    assert_eq!(
        &pids.distinct[..],
        [Value::Number(Num::U(7)), Value::Number(Num::U(8))]
    );
}

#[test]
fn a_windowed_field_in_a_process_file_is_divided_by_the_time_it_covers() {
    // A process that started long before the window (1,000 s ago, or one clock tick after
    // boot on a machine up for less); a thread of it ran at 300/s for a whole 60-slot window,
    // ended, and was folded into a process file created just now.
    let now = SystemTime::now();
    let now_s = unix_seconds(now);
    let up = now_s - unix_seconds(mmstats_reader::boot_time().unwrap());
    assert!(
        up > 62.0,
        "the machine has been up {up} s, less than the window"
    );
    // the kernel's clock ticks per second, the unit of start times (0 is unknown)
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as f64;
    let ticks = (((up - 1000.0) * hz) as u64).max(1);
    let mut meta = FieldMeta::new("req", Kind::Windowed, ValueType::U64);
    meta.param = 1;
    meta.capacity = 60;
    let p_now = now_s.floor() as u64;
    let slots: Vec<Period> = (0..60u64)
        .map(|j| {
            let p = p_now - ((p_now - j) % 60);
            let count = if p == p_now {
                (300.0 * now_s.fract()) as u64
            } else {
                300
            };
            Period {
                period: p,
                count,
                sum: Num::U(count),
            }
        })
        .collect();
    let count = slots.iter().map(|s| s.count).sum();
    let w = Value::Windowed(Box::new(WindowedValue {
        width: 1,
        count,
        sum: Num::U(count),
        slots,
    }));
    let t = File {
        start: ticks,
        ..File::totals(7, now_s, 2)
    };
    let mut snap = t.snap(now_s, vec![(meta, w)]);
    snap.taken = now;
    let s = engine().update(&[snap]);
    let r = rate(&s, "req").unwrap();
    assert!((r - 300.0).abs() < 300.0 * 0.02, "{r}");
}

#[test]
fn an_unsettled_read_gives_no_interval() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    e.update(&[a.snap(10.0, vec![jobs(100)])]);
    let mut snap = a.snap(11.0, vec![jobs(110)]);
    snap.settled = false;
    let s = e.update(&[snap]);
    assert_eq!(rate(&s, "jobs"), None);
    let s = e.update(&[a.snap(12.0, vec![jobs(130)])]);
    assert_eq!(
        rate(&s, "jobs"),
        Some(15.0),
        "measured from the last settled sample"
    );
}

#[test]
fn a_process_whose_files_are_all_folded_keeps_its_total() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    e.update(&[a.snap(10.0, vec![jobs(100)])]);
    // The thread was folded into a process file that was created and removed again between
    // two samples (the process exited): only the folded thread file is still read.
    let folded = File {
        folded: true,
        ..File::thread(7, 8, 0.0)
    };
    let s = e.update(&[folded.snap(11.0, vec![jobs(120)])]);
    assert_eq!(total(&s, "jobs"), Some(100.0), "the total never goes down");
    let s = e.update(std::iter::empty());
    assert_eq!(
        total(&s, "jobs"),
        Some(100.0),
        "kept with the exited processes"
    );
}

/// The same file read again at `taken` seconds, the scanner having seen no change: the same
/// values, shared.
fn unchanged(s: &Snapshot, taken: f64) -> Snapshot {
    Snapshot {
        taken: at(taken),
        ..s.clone()
    }
}

fn delta(sample: &Sample, label: &str) -> Option<f64> {
    sample
        .combined()
        .into_iter()
        .find(|s| s.meta.label == label)?
        .number(Some("delta"))
}

#[test]
fn an_idle_process_keeps_its_sample_and_a_change_after_it_is_exact() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    let first = a.snap(10.0, vec![jobs(100), latency(&[1000; 10])]);
    e.update(std::slice::from_ref(&first));
    // unchanged once: every interval is zero
    let once = e.update(&[unchanged(&first, 11.0)]);
    assert_eq!(
        (rate(&once, "jobs"), delta(&once, "jobs")),
        (Some(0.0), Some(0.0))
    );
    // unchanged again: the same sample, shared, with the new time
    let twice = e.update(&[unchanged(&first, 12.0)]);
    let (p1, p2) = (&once.processes[0], &twice.processes[0]);
    assert!(p2.series.same(&p1.series) && p2.files.same(&p1.files));
    assert_eq!(p2.taken, at(12.0));
    assert_eq!(p2.seconds, Some(1.0));
    assert_eq!(rate(&twice, "jobs"), Some(0.0));
    let lat = |s: &Sample| {
        s.combined()
            .into_iter()
            .find(|s| s.meta.label == "latency")
            .and_then(|s| s.number(Some("count")))
    };
    assert_eq!(lat(&twice), Some(0.0));
    assert_eq!(total(&twice, "jobs"), Some(100.0));
    let thrice = e.update(&[unchanged(&first, 13.0)]);
    assert!(thrice.processes[0].series.same(&p1.series));
    // then a change: the interval since the last idle sample, exactly
    let mut more = vec![1000; 10];
    more.extend([5000; 4]);
    let s = e.update(&[a.snap(15.0, vec![jobs(130), latency(&more)])]);
    assert!(!s.processes[0].series.same(&p1.series));
    assert_eq!(s.processes[0].seconds, Some(2.0));
    assert_eq!(rate(&s, "jobs"), Some(15.0));
    assert_eq!(delta(&s, "jobs"), Some(30.0));
    assert_eq!(total(&s, "jobs"), Some(130.0));
    assert_eq!(lat(&s), Some(4.0));
    // and idle after the change: zero again, not the change once more
    let after = e.update(&[unchanged(&read_of(&a, 15.0, 130, &more), 16.0)]);
    assert_eq!(rate(&after, "jobs"), Some(0.0));
    assert_eq!(lat(&after), Some(0.0));
}

/// A file of `a` read at `taken` with these values.
fn read_of(a: &File, taken: f64, n: u64, values: &[u64]) -> Snapshot {
    a.snap(taken, vec![jobs(n), latency(values)])
}

#[test]
fn an_idle_process_that_exits_keeps_its_final_totals() {
    let mut e = engine();
    let (a, other) = (File::thread(7, 8, 0.0), File::thread(9, 9, 0.0));
    let idle = a.snap(10.0, vec![jobs(40)]);
    let busy = |t: f64, n: u64| other.snap(t, vec![jobs(n)]);
    e.update(&[idle.clone(), busy(10.0, 1)]);
    e.update(&[unchanged(&idle, 11.0), busy(11.0, 2)]);
    let s = e.update(&[unchanged(&idle, 12.0), busy(12.0, 3)]);
    assert_eq!(total(&s, "jobs"), Some(43.0));
    // process 7 exits while idle: its 40 stay in the totals
    let s = e.update(&[busy(13.0, 4)]);
    assert_eq!(s.processes.len(), 1);
    assert_eq!(total(&s, "jobs"), Some(44.0));
    assert_eq!(s.exited.len(), 1);
    let s = e.update(&[busy(14.0, 5)]);
    assert_eq!(total(&s, "jobs"), Some(45.0));
}

#[test]
fn a_pid_reused_while_idle_is_another_process() {
    let mut e = engine();
    let old = File::thread(7, 7, 0.0);
    let idle = old.snap(10.0, vec![jobs(50)]);
    e.update(std::slice::from_ref(&idle));
    e.update(&[unchanged(&idle, 11.0)]);
    e.update(&[unchanged(&idle, 12.0)]);
    // pid 7 now belongs to a process started later, with a file of the same name
    let new = File {
        start: 2,
        ..File::thread(7, 7, 12.5)
    };
    let s = e.update(&[new.snap(13.0, vec![jobs(8)])]);
    assert_eq!(s.processes.len(), 1);
    // created since the last sample: everything it counted is in the interval
    assert_eq!(delta(&s, "jobs"), Some(8.0));
    assert_eq!(total(&s, "jobs"), Some(58.0));
    // the same name with the old start time but a file replaced under it is not the idle file
    let replaced = Snapshot {
        info: Arc::new(FileInfo {
            dev_ino: (1, 99_999),
            ..(*idle.info).clone()
        }),
        ..unchanged(&idle, 14.0)
    };
    let s = e.update(&[new.snap(14.0, vec![jobs(8)]), replaced]);
    assert_eq!(s.processes.len(), 2);
    assert_eq!(total(&s, "jobs"), Some(108.0));
}

#[test]
fn a_counter_reset_while_idle_counts_from_its_new_value() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    let idle = a.snap(10.0, vec![jobs(1000)]);
    e.update(std::slice::from_ref(&idle));
    e.update(&[unchanged(&idle, 11.0)]);
    let s = e.update(&[unchanged(&idle, 12.0)]);
    assert_eq!(total(&s, "jobs"), Some(1000.0));
    // reset to zero and counted 5 since
    let s = e.update(&[a.snap(13.0, vec![jobs(5)])]);
    assert_eq!(delta(&s, "jobs"), Some(5.0));
    assert_eq!(total(&s, "jobs"), Some(1005.0));
    let s = e.update(&[unchanged(&read_jobs(&a, 13.0, 5), 14.0)]);
    assert_eq!(delta(&s, "jobs"), Some(0.0));
    assert_eq!(total(&s, "jobs"), Some(1005.0));
}

fn read_jobs(a: &File, taken: f64, n: u64) -> Snapshot {
    a.snap(taken, vec![jobs(n)])
}

#[test]
fn an_unsettled_read_of_an_idle_process_is_not_taken_as_idle() {
    let mut e = engine();
    let a = File::thread(7, 8, 0.0);
    let idle = a.snap(10.0, vec![jobs(10)]);
    e.update(std::slice::from_ref(&idle));
    e.update(&[unchanged(&idle, 11.0)]);
    let unsettled = Snapshot {
        settled: false,
        ..unchanged(&idle, 12.0)
    };
    let s = e.update(&[unsettled]);
    assert_eq!(rate(&s, "jobs"), None);
    let s = e.update(&[unchanged(&idle, 13.0)]);
    assert_eq!(rate(&s, "jobs"), Some(0.0));
    assert_eq!(s.processes[0].seconds, Some(2.0));
}

#[test]
fn processes_coming_going_and_changing_order_keep_their_own_memory() {
    let mut e = engine();
    let p = |pid: u32| File::thread(pid, pid, 0.0);
    let (a, b, c, d) = (p(1), p(2), p(3), p(4));
    e.update(&[
        a.snap(10.0, vec![jobs(100)]),
        b.snap(10.0, vec![jobs(200)]),
        c.snap(10.0, vec![jobs(300)]),
    ]);
    // b exits, d starts (created before the first sample: seen late, counts from now), and
    // the scan lists them in another order
    let s = e.update(&[
        d.snap(11.0, vec![jobs(4000)]),
        c.snap(11.0, vec![jobs(330)]),
        a.snap(11.0, vec![jobs(110)]),
    ]);
    let rate_of = |s: &Sample, pid: u32| {
        s.processes
            .iter()
            .find(|p| p.pid() == Some(pid))?
            .series("jobs")?
            .number(None)
    };
    assert_eq!(rate_of(&s, 1), Some(10.0));
    assert_eq!(rate_of(&s, 3), Some(30.0));
    assert_eq!(
        rate_of(&s, 4),
        Some(0.0),
        "seen late: nothing of it is in this interval"
    );
    assert_eq!(total(&s, "jobs"), Some(110.0 + 200.0 + 330.0 + 4000.0));
    // back to the first order, b again under a new start time (another process)
    let b2 = File {
        start: 9,
        ..File::thread(2, 2, 11.5)
    };
    let s = e.update(&[
        a.snap(12.0, vec![jobs(111)]),
        b2.snap(12.0, vec![jobs(5)]),
        c.snap(12.0, vec![jobs(333)]),
        d.snap(12.0, vec![jobs(4040)]),
    ]);
    assert_eq!(rate_of(&s, 1), Some(1.0));
    assert_eq!(
        rate_of(&s, 2),
        Some(5.0),
        "the new process did its 5 jobs in the interval"
    );
    assert_eq!(rate_of(&s, 3), Some(3.0));
    assert_eq!(rate_of(&s, 4), Some(40.0));
    assert_eq!(
        total(&s, "jobs"),
        Some(111.0 + 200.0 + 5.0 + 333.0 + 4040.0)
    );
}

/// The process's continuous total of `latency` (exited processes' included).
fn latency_total(s: &Sample) -> std::sync::Arc<mmstats_format::HistogramValue> {
    let t = s
        .totals_with_exited()
        .into_iter()
        .find(|s| s.meta.label == "latency")
        .unwrap();
    match t.value {
        Some(Value::Histogram(h)) => h,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_histogram_total_follows_its_file_and_stays_continuous_when_a_bucket_goes_down() {
    let mut e = engine();
    let a = File::thread(7, 7, 0.0);
    let total = latency_total;
    let histogram = |values: &[u64]| match latency(values).1 {
        Value::Histogram(h) => h,
        _ => unreachable!(),
    };
    let ms = 1_000_000;
    let (five_1, five_2, two_1, twenty_2) =
        (vec![ms; 5], vec![2 * ms; 5], vec![ms; 2], vec![2 * ms; 20]);
    e.update(&[a.snap(10.0, vec![latency(&five_1)])]);
    // it grew: the total is what the file holds
    let now = [five_1.clone(), five_2].concat();
    let s = e.update(&[a.snap(11.0, vec![latency(&now)])]);
    let t = total(&s);
    assert_eq!(
        (t.count, t.bucket_list()),
        (10, histogram(&now).bucket_list())
    );
    // more values in all, but fewer in the 1 ms bucket (the histogram was reset and filled
    // again between two reads): only what grew is added (15 values of 2 ms), and the total
    // keeps the five values of 1 ms it had
    let s = e.update(&[a.snap(12.0, vec![latency(&[two_1, twenty_2.clone()].concat())])]);
    let t = total(&s);
    assert_eq!(t.count, 22, "the count grew from 10 to 22");
    assert_eq!(
        t.bucket_list(),
        histogram(&[five_1, twenty_2].concat()).bucket_list(),
        "5 values of 1 ms and 20 of 2 ms"
    );
}
