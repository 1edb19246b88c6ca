//! Recording real processes: rates of an instrumented server, perf counters against
//! `perf stat`, Ctrl-C, an existing process.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

fn median(mut xs: Vec<f64>) -> f64 {
    assert!(!xs.is_empty(), "no values");
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[test]
fn the_servers_request_rate_is_recorded_within_ten_percent() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("web");
    record_webserver(stats.path(), &dir, 4, &["--description", "two workers"]);
    // 2 threads x 500 requests/s, summed over the process's thread files
    let rates = values(&dir, "web.requests.rate");
    assert!(rates.len() >= 5, "{rates:?}");
    let m = median(rates.clone());
    assert!(
        (m - 1000.0).abs() <= 100.0,
        "median rate {m}, rates {rates:?}"
    );
    // the latency timer as interval percentiles, in its unit
    let p99 = values(&dir, "web.latency.p99");
    assert!(!p99.is_empty() && p99.iter().all(|v| *v > 0.0), "{p99:?}");
    let run = run_json(&dir);
    assert_eq!(run["description"], "two workers");
    assert_eq!(run["exit"]["code"], 0);
    assert!(run["host"]["cpus"].as_u64().unwrap() > 0);
    assert!(!run["host"]["kernel"].as_str().unwrap().is_empty());
    assert!(run["ended_ms"].as_i64().unwrap() > run["started_ms"].as_i64().unwrap());
    assert_eq!(run["sources"], serde_json::json!(["mmstats", "perf"]));
    // the sqlite3 shell reads the documented view
    let o = std::process::Command::new("sqlite3")
        .arg(dir.join("samples.db"))
        .arg("SELECT count(*), min(unit) FROM samples WHERE label = 'web.requests.rate' AND source = 'mmstats' AND process LIKE 'webserver:%' AND kind = 'rate'")
        .output()
        .expect("sqlite3 (Debian package sqlite3)");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{}|requests/s", rates.len())
    );
}

#[test]
fn task_clock_matches_perf_stat_on_the_same_command() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("busy");
    let perf_out = runs.path().join("perf.csv");
    // a busy shell loop of about half a second in a child process, under `perf stat`
    let o = run(
        stats.path(),
        &[
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "200ms",
            "--no-report",
            "--",
            "perf",
            "stat",
            "-x,",
            "-e",
            "task-clock",
            "-o",
            perf_out.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text =
        std::fs::read_to_string(&perf_out).expect("perf stat output (is linux-perf installed?)");
    let perf_ms: f64 = text
        .lines()
        .find(|l| l.contains("task-clock"))
        .and_then(|l| l.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no task-clock in {text}"));
    let ours = values(&dir, "perf.task_clock");
    let ours_ms = ours.last().copied().unwrap() / 1e6;
    // ours also counts perf itself, a few milliseconds
    assert!(
        (ours_ms - perf_ms).abs() <= perf_ms * 0.1,
        "runstats {ours_ms} ms, perf stat {perf_ms} ms"
    );
    assert!(perf_ms > 100.0, "the loop ran {perf_ms} ms");
    // the rate is the number of cores the tree kept busy: above zero while the loop runs, and
    // never more than the machine has (how close to one depends on the machine's load)
    let busy = values(&dir, "perf.task_clock.rate");
    let cpus = run_json(&dir)["host"]["cpus"].as_f64().unwrap();
    assert!(!busy.is_empty(), "no task clock rate");
    assert!(
        busy.iter().all(|c| *c >= 0.0 && *c <= cpus * 1.1),
        "{busy:?}"
    );
    assert!(busy.iter().any(|c| *c > 0.1), "{busy:?}");
    // hardware counters are either recorded or listed as unavailable, never stored as zeros
    let run = run_json(&dir);
    let unavailable: Vec<&str> = run["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["what"].as_str().unwrap())
        .collect();
    for hw in [
        "perf.cycles",
        "perf.instructions",
        "perf.cache_misses",
        "perf.branch_misses",
    ] {
        let stored = values(&dir, hw);
        assert!(
            unavailable.contains(&hw) == stored.is_empty(),
            "{hw}: unavailable {unavailable:?}, stored {stored:?}"
        );
        if !stored.is_empty() {
            assert!(stored.iter().any(|v| *v > 0.0), "{hw} stored as zeros");
        }
    }
    for sw in [
        "perf.context_switches",
        "perf.page_faults",
        "perf.cpu_migrations",
    ] {
        assert!(!values(&dir, sw).is_empty(), "{sw} not recorded");
    }
}

#[test]
fn ctrl_c_is_forwarded_and_runstats_exits_with_the_commands_status() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("int");
    let mut child = runstats()
        .env("MMSTATS_PATH", stats.path())
        .args([
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "100ms",
            "--no-report",
            "--",
            "sleep",
            "30",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !dir.join("run.json").exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no run.json");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    // sleep died of the forwarded SIGINT: 128 + 2
    assert_eq!(status.code(), Some(130));
    let run = run_json(&dir);
    assert_eq!(run["exit"]["signal"], "SIGINT");
    assert_eq!(run["stopped_by"], "interrupt");
    assert!(!values(&dir, "perf.task_clock").is_empty());
}

#[test]
fn an_existing_process_is_recorded_until_the_duration() {
    let stats = stats_dir();
    let web = std::process::Command::new(bin("webserver"))
        .env("MMSTATS_PATH", stats.path())
        .args(["--threads", "2", "--rate", "200", "--seconds", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut web = scopeguard(web);
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("pid");
    let pid = web.0.id().to_string();
    let o = run(
        stats.path(),
        &[
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "300ms",
            "--no-report",
            "--pid",
            &pid,
            "--duration",
            "2500ms",
            "--wait-for",
            &pid,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("is up"), "{}", stderr(&o));
    // the server still runs: runstats only watched it
    assert!(web.0.try_wait().unwrap().is_none());
    let rates = values(&dir, "web.requests.rate");
    assert!(!rates.is_empty());
    let m = median(rates.clone());
    assert!((m - 400.0).abs() <= 40.0, "median {m} of {rates:?}");
    assert!(!values(&dir, "perf.task_clock").is_empty());
    assert_eq!(run_json(&dir)["stopped_by"], "duration");
    web.0.kill().unwrap();
}

/// Kills the child when dropped, so a failed test leaves no server running.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scopeguard(c: std::process::Child) -> Guard {
    Guard(c)
}

/// A program that allocates for a few seconds, so that its collector runs.
const JVM_PROGRAM: &str = r#"
public class Churn {
    public static void main(String[] args) throws Exception {
        java.util.List<byte[]> keep = new java.util.ArrayList<>();
        long end = System.currentTimeMillis() + 3000;
        while (System.currentTimeMillis() < end) {
            keep.add(new byte[64 * 1024]);
            if (keep.size() > 200) keep.subList(0, 100).clear();
            Thread.sleep(1);
        }
    }
}
"#;

#[test]
fn a_jvm_in_the_tree_has_its_performance_counters_recorded() {
    let stats = stats_dir();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("Churn.java"), JVM_PROGRAM).unwrap();
    let javac = std::process::Command::new("javac")
        .arg("Churn.java")
        .current_dir(src.path())
        .status()
        .expect("javac (scripts/test installs openjdk-17-jdk-headless)");
    assert!(javac.success());
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("jvm");
    let classes = src.path().to_str().unwrap();
    let o = run(
        stats.path(),
        &[
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "250ms",
            "--",
            "java",
            "-XX:+UsePerfData",
            "-Xmx64m",
            "-cp",
            classes,
            "Churn",
        ],
    );
    assert!(o.status.success(), "runstats failed: {}", stderr(&o));
    let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
    let (rows, processes): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT process) FROM samples \
             WHERE source = 'mmstats' AND label LIKE 'sun.gc.%' AND process LIKE 'java:%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(rows > 0, "no GC counters of the JVM recorded");
    assert_eq!(processes, 1, "one JVM, the command");
    // a 64 MiB heap allocating 64 KiB a millisecond for 3 s collects: the young collector's
    // count grows, and has a rate
    let collections = values(&dir, "sun.gc.collector.0.invocations");
    assert!(
        collections.last().is_some_and(|n| *n >= 1.0),
        "{collections:?}"
    );
    let rates = values(&dir, "sun.gc.collector.0.invocations.rate");
    assert!(rates.iter().any(|r| *r > 0.0), "{rates:?}");
    // neither the JVM's start-up nor the directory it creates is a problem of the recording
    assert!(!stderr(&o).contains("hsperfdata"), "{}", stderr(&o));
    let live = values(&dir, "java.threads.live");
    assert!(
        !live.is_empty() && live.iter().all(|n| *n >= 1.0),
        "{live:?}"
    );
}
