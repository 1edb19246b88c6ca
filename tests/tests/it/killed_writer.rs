//! A writer killed in the middle of a fold (FORMAT.md §6.4, §6.5), and just outside one.
//!
//! `fold-child` ends a worker thread every few hundred microseconds, each ending folding the
//! worker's file into the process's totals file. The test stops the child with SIGSTOP again
//! and again until the totals file's `fold_seq` is odd (a fold under way) or even, as it wants,
//! then kills it with SIGKILL while it is stopped: the files stay exactly as they were at the
//! stop, which is what a crash at that instant leaves. The reader must then count every job
//! exactly once when the files are consistent, and must not count a half-folded worker twice
//! when they are not.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mmstats_format::StatLine;
use mmstats_reader::{Intervals, Liveness, Num, Scanner, StatsFile, Value};
use mmstats_tests::{StatsDir, WriterChild};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const CHILD: &str = env!("CARGO_BIN_EXE_fold-child");
/// Jobs per worker.
const JOBS: u64 = 50;
/// Stops tried before giving up on catching the wanted state.
const ATTEMPTS: u32 = 20_000;

/// Whether every thread of `pid` is stopped.
fn stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| {
            StatLine::parse(&s)
                .and_then(|l| l.field(3))
                .is_some_and(|state| state == "T" || state == "t")
        })
    })
}

fn signal(pid: u32, s: Signal) {
    kill(Pid::from_raw(pid as i32), s).expect("signal the child");
}

/// Stops the child (SIGSTOP) until its totals file's `fold_seq` is odd (`mid_fold`) or even,
/// and leaves it stopped. Returns the `fold_seq` caught.
fn stop_when(pid: u32, totals: &Path, mid_fold: bool) -> u64 {
    for attempt in 0..ATTEMPTS {
        signal(pid, Signal::SIGSTOP);
        let end = Instant::now() + Duration::from_secs(5);
        while !stopped(pid) {
            assert!(Instant::now() < end, "the child never stopped");
            std::thread::sleep(Duration::from_micros(20));
        }
        let seq = StatsFile::open(totals).ok().and_then(|f| f.fold_seq());
        if let Some(seq) = seq
            && (seq % 2 == 1) == mid_fold
        {
            return seq;
        }
        signal(pid, Signal::SIGCONT);
        // let it run for a varying while, so the stops fall on every part of its loop
        let run = Duration::from_micros(u64::from(attempt % 97) * 7);
        let until = Instant::now() + run;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
    panic!(
        "{ATTEMPTS} stops never found fold_seq {}",
        if mid_fold { "odd" } else { "even" }
    );
}

fn number(v: &Value) -> u64 {
    match v {
        Value::Number(Num::U(n)) => *n,
        other => panic!("not an unsigned counter: {other:?}"),
    }
}

/// What the files say by the protocol: `(jobs, pairs)` of the totals file, and of the thread
/// files not yet marked folded.
fn by_protocol(dir: &Path, pid: u32) -> ((u64, u64), (u64, u64)) {
    let mut totals = (0, 0);
    let mut threads = (0, 0);
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&format!("fold-{pid}-")) {
            continue;
        }
        let mut f = StatsFile::open(e.path()).unwrap();
        let snap = f.snapshot().unwrap();
        let get = |label: &str| {
            snap.field(label)
                .and_then(|f| f.value.as_ref().ok())
                .map(number)
                .unwrap_or(0)
        };
        let both = (get("fold.jobs"), get("fold.pairs"));
        if snap.info.process_totals {
            totals = both;
        } else if !snap.info.folded {
            threads.0 += both.0;
            threads.1 += both.1;
        }
    }
    (totals, threads)
}

/// Starts `fold-child`, lets it fold a while, stops it as `mid_fold` says and kills it.
/// Returns the directory, the child's pid and how many workers it said had ended.
fn crash(mid_fold: bool) -> (StatsDir, u32, u64) {
    let dir = StatsDir::new();
    let child =
        WriterChild::start_args(CHILD, &[dir.path().as_os_str(), JOBS.to_string().as_ref()]);
    let pid = child.pid();
    let totals: PathBuf = dir.path().join(format!("fold-{pid}-totals.mmstats"));
    std::thread::sleep(Duration::from_millis(50));
    stop_when(pid, &totals, mid_fold);
    let mut progress = StatsFile::open(child.path()).unwrap();
    let done = progress
        .snapshot()
        .unwrap()
        .field("progress.workers_done")
        .and_then(|f| f.value.as_ref().ok())
        .map(number)
        .unwrap();
    child.kill();
    (dir, pid, done)
}

fn jobs_and_pairs(dir: &Path, pid: u32) -> (mmstats_reader::ProcessSample, Vec<String>) {
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", dir.display())]);
    let scan = scanner.scan();
    let errors = scan.errors.iter().map(|e| e.to_string()).collect();
    let sample = Intervals::new().update(&scan.snapshots);
    let process = sample
        .processes
        .into_iter()
        .find(|p| p.pid() == Some(pid))
        .expect("the killed process is in the sample");
    (process, errors)
}

#[test]
fn a_writer_killed_between_folds_leaves_every_job_counted_once() {
    let (dir, pid, done) = crash(false);
    let ((t_jobs, t_pairs), (w_jobs, w_pairs)) = by_protocol(dir.path(), pid);
    // every completed fold added a whole worker, both counters together
    assert_eq!(t_jobs % JOBS, 0, "totals hold whole workers: {t_jobs}");
    assert_eq!(t_pairs, 2 * t_jobs);
    let (process, errors) = jobs_and_pairs(dir.path(), pid);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        matches!(process.liveness, Liveness::Dead(_)),
        "{:?}",
        process.liveness
    );
    let jobs = process
        .series("fold.jobs")
        .and_then(|s| s.value.as_ref())
        .map(number)
        .expect("fold.jobs has a value");
    let pairs = process
        .series("fold.pairs")
        .and_then(|s| s.value.as_ref())
        .map(number)
        .expect("fold.pairs has a value");
    assert_eq!(jobs, t_jobs + w_jobs, "each job counted once");
    assert_eq!(pairs, t_pairs + w_pairs);
    // The true count: `done` workers had ended when the gauge was last set, one more may have
    // ended since, and the running one had done up to JOBS.
    assert!(
        (done * JOBS..=(done + 2) * JOBS).contains(&jobs),
        "{jobs} jobs with {done} workers done"
    );
    // the worker may have been stopped between its two counters
    assert!(
        pairs == 2 * jobs || pairs + 2 == 2 * jobs,
        "{pairs} pairs for {jobs} jobs"
    );
}

#[test]
fn a_writer_killed_mid_fold_is_never_counted_twice() {
    let (dir, pid, done) = crash(true);
    let ((t_jobs, _), (w_jobs, _)) = by_protocol(dir.path(), pid);
    let started = Instant::now();
    let (process, errors) = jobs_and_pairs(dir.path(), pid);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a fold that never ends costs the scan only its bounded retries"
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        matches!(process.liveness, Liveness::Dead(_)),
        "{:?}",
        process.liveness
    );
    // The fold never finishes: the process file may already hold some of the worker's values
    // while the worker's file is not marked folded, so no sum of the two is right.
    for label in ["fold.jobs", "fold.pairs", "fold.sizes"] {
        assert!(
            process.series(label).is_none(),
            "{label} of a half-folded process must be unavailable, not {:?} (totals file {t_jobs} \
             jobs, unfolded worker {w_jobs})",
            process.series(label)
        );
    }
    // what is not summed is still there: the main thread's gauge
    let workers = process
        .series("progress.workers_done")
        .and_then(|s| s.value.as_ref())
        .map(number);
    assert_eq!(workers, Some(done));
    // the files themselves are still shown one by one
    let out = std::process::Command::new(mmstats_tests::workspace_bin("slurpstats"))
        .arg(dir.path())
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("fold-{pid}-totals.mmstats")),
        "{text}"
    );
}
