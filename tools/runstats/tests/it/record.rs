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
    assert_eq!(
        run["sources"],
        serde_json::json!(["mmstats", "perf", "host", "process"])
    );
    host_and_process_resources_are_recorded(&dir);
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

/// The host's CPU and memory, and the server's own RSS and CPU time, in a run of the server.
fn host_and_process_resources_are_recorded(dir: &std::path::Path) {
    let cpus = run_json(dir)["host"]["cpus"].as_f64().unwrap();
    // the machine's memory, exactly as /proc/meminfo has it
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap();
    let total = rows(dir, "host", "host.mem.total");
    assert!(total.len() >= 5, "{total:?}");
    assert!(
        total
            .iter()
            .all(|(_, p, v)| p == "host" && *v == kib * 1024.0)
    );
    // host CPU: busy percent within 0 to 100 per core, and the CPU seconds spent by state
    // every second no more than the machine has
    let busy = rows(dir, "host", "host.cpu.percent");
    assert!(busy.len() >= 5, "{busy:?}");
    assert!(
        busy.iter()
            .all(|(_, _, v)| (0.0..=100.0 * cpus + 1.0).contains(v)),
        "{busy:?}"
    );
    let user = rows(dir, "host", "host.cpu.user");
    assert!(user.windows(2).all(|w| w[1].2 >= w[0].2), "{user:?}");
    // every CPU is in some state all the time: at each tick the states' seconds per second
    // add up to the CPUs (guest time is counted in user time already)
    let mut per_tick: std::collections::BTreeMap<i64, f64> = Default::default();
    for state in [
        "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
    ] {
        for (t, _, v) in rows(dir, "host", &format!("host.cpu.{state}.rate")) {
            *per_tick.entry(t).or_default() += v;
        }
    }
    let sums: Vec<f64> = per_tick.into_values().collect();
    let all = median(sums.clone());
    assert!((all - cpus).abs() <= cpus * 0.1, "{sums:?} of {cpus} CPUs");
    // the server's resident memory: a few MiB, well under 1 GiB, in each sample
    let rss = rows(dir, "process", "proc.mem.rss");
    assert!(rss.len() >= 5, "{rss:?}");
    for (_, p, v) in &rss {
        assert!(p.starts_with("webserver:"), "{p}");
        assert!((1_048_576.0..1_073_741_824.0).contains(v), "rss {v}");
    }
    // the server's CPU seconds: some, and no more than its run's length on every CPU (its
    // threads wake with the timer, so the clock ticks of /proc are no precise measure of
    // them; a busy loop's are compared with the task clock below)
    let user = rows(dir, "process", "proc.cpu.user");
    let system = rows(dir, "process", "proc.cpu.system");
    let (t, _, u) = user.last().unwrap().clone();
    let s = system.iter().find(|r| r.0 == t).unwrap().2;
    let run = run_json(dir);
    let secs = (run["ended_ms"].as_f64().unwrap() - run["started_ms"].as_f64().unwrap()) / 1000.0;
    assert!(
        u + s > 0.0 && u + s <= secs * cpus,
        "{u} + {s} s in {secs} s"
    );
}

#[test]
fn task_clock_matches_perf_stat_on_the_same_command() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("busy");
    let perf_out = runs.path().join("perf.csv");
    let times_out = runs.path().join("times.txt");
    // A busy shell loop of about half a second in a child process, under `perf stat`, and the
    // CPU time of both as their parent shell's `times` has it once they are done.
    let script = format!(
        "perf stat -x, -e task-clock -o '{}' -- sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done' && times > '{}'",
        perf_out.display(),
        times_out.display()
    );
    let o = run(
        stats.path(),
        &[
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "200ms",
            "--no-report",
            "--",
            "sh",
            "-c",
            &script,
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
    // `times`: the shell's own user and system time, then its children's (`0m0.630000s`)
    let times = std::fs::read_to_string(&times_out).unwrap();
    let tree_ms: f64 = times
        .split_whitespace()
        .map(|t| {
            let (m, s) = t.strip_suffix('s').and_then(|t| t.split_once('m')).unwrap();
            (m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()) * 1000.0
        })
        .sum();
    let ours = values(&dir, "perf.task_clock");
    let ours_ms = ours.last().copied().unwrap() / 1e6;
    // Ours counts the whole tree: the loop, which perf counted, and perf itself, whose own
    // time grows with the machine's load; `times` counts the same tree in 10 ms ticks.
    assert!(
        ours_ms >= perf_ms * 0.98 && (ours_ms - tree_ms).abs() <= tree_ms * 0.05 + 30.0,
        "runstats {ours_ms} ms, perf stat {perf_ms} ms of the loop, times {tree_ms} ms of the tree"
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
    // the busy shell's CPU seconds from /proc grow as the tree's task clock does between
    // the same two ticks (perf's own share is a few milliseconds)
    let cpu: Vec<(i64, f64)> = rows(&dir, "process", "proc.cpu.user")
        .into_iter()
        .zip(rows(&dir, "process", "proc.cpu.system"))
        .filter(|((_, p, _), _)| p.starts_with("sh:"))
        .map(|((t, _, u), (_, _, s))| (t, u + s))
        .collect();
    let clock = rows(&dir, "perf", "perf.task_clock");
    let at = |t: i64| clock.iter().find(|r| r.0 == t).unwrap().2 / 1e9;
    let ((t0, c0), (t1, c1)) = (cpu[0], *cpu.last().unwrap());
    let (ours, perf) = (c1 - c0, at(t1) - at(t0));
    assert!(perf > 0.1, "the loop ran {perf} s between {t0} and {t1}");
    assert!(
        (ours - perf).abs() <= perf * 0.15 + 0.03,
        "/proc {ours} s, task clock {perf} s"
    );
    for sw in [
        "perf.context_switches",
        "perf.page_faults",
        "perf.cpu_migrations",
    ] {
        assert!(!values(&dir, sw).is_empty(), "{sw} not recorded");
    }
    // read with the task clock as one group: its members count from the exec on too (a
    // program's start alone faults pages in)
    let faults = values(&dir, "perf.page_faults");
    assert!(faults.last().is_some_and(|n| *n > 0.0), "{faults:?}");
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
    // the server's resident memory, as /proc says it is now (it stays near that level)
    let rss = rows(&dir, "process", "proc.mem.rss");
    let (_, process, recorded) = rss.last().expect("the server's RSS").clone();
    assert_eq!(process, format!("webserver:{pid}"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let now: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|l| l.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
        .unwrap()
        * 1024.0;
    assert!(
        (recorded - now).abs() <= now * 0.2,
        "recorded {recorded}, /proc now {now}"
    );
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
    let src = mmstats_testkit::jvm::compile("Churn", JVM_PROGRAM);
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
    // heap used: the spaces in use hold something
    let eden = values(&dir, "sun.gc.generation.0.space.0.used");
    assert!(eden.iter().any(|b| *b > 0.0), "{eden:?}");
    // and the report charts the heap, the time in GC and the collections
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for chart in [
        "java: heap used by space (bytes)",
        "java: GC time (seconds per second)",
        "java: GC count",
    ] {
        assert!(html.contains(chart), "no {chart:?} chart in the report");
    }
    assert!(html.contains("sun.gc.collector.0.invocations"));
}

#[test]
fn sources_left_out_record_nothing() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("some");
    let o = run(
        stats.path(),
        &[
            "-o",
            dir.to_str().unwrap(),
            "-i",
            "100ms",
            "--no-report",
            "--no-host",
            "--no-perf",
            "--",
            "sleep",
            "0.5",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        run_json(&dir)["sources"],
        serde_json::json!(["mmstats", "process"])
    );
    assert!(rows(&dir, "host", "host.mem.total").is_empty());
    assert!(values(&dir, "perf.task_clock").is_empty());
    let rss = rows(&dir, "process", "proc.mem.rss");
    assert!(!rss.is_empty() && rss.iter().all(|(_, p, _)| p.starts_with("sleep:")));
}

#[test]
fn help_shows_each_example_on_a_line_of_its_own_and_the_exit_status() {
    let o = runstats().arg("--help").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    for example in [
        "runstats --pid 4242 --duration 60s",
        "runstats report before/ after/",
        "runstats export runstats-20260101-120000 --csv > samples.csv",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(example)),
            "{example:?} is not a line of its own:\n{help}"
        );
    }
    assert!(help.contains("Exit status:"), "{help}");
    // what the help promises for bad usage
    let bad = runstats().arg("--no-such-option").output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
