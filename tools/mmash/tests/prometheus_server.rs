//! A real Prometheus server scrapes a running mmash: the counter of a file shows up in
//! Prometheus with the right value, and follows when it changes; a process restart is neither
//! a lost count nor a reset, per process or summed. Needs `prometheus` (Debian package
//! `prometheus`); fails if it is missing.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn query(addr: std::net::SocketAddr, q: &str) -> serde_json::Value {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    match try_http(
        addr,
        "GET",
        &format!("/api/v1/query?query={enc}"),
        &[],
        None,
    ) {
        Ok(r) if r.status == 200 => r.json(),
        _ => serde_json::Value::Null,
    }
}

/// Polls a PromQL query until its single result's value is `want` (bounded).
fn wait_value(addr: std::net::SocketAddr, q: &str, want: &str, timeout: Duration) {
    let end = Instant::now() + timeout;
    let mut last = serde_json::Value::Null;
    while Instant::now() < end {
        last = query(addr, q);
        if last["data"]["result"][0]["value"][1] == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("`{q}` never became {want}; last answer: {last}");
}

/// Starts Prometheus scraping each `(job, target)` every second; returns its scratch directory,
/// the running server and its address.
fn start_prometheus(
    prometheus: std::path::PathBuf,
    jobs: &[(&str, std::net::SocketAddr)],
) -> (tempfile::TempDir, Killed, std::net::SocketAddr) {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    let mut yml = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (job, target) in jobs {
        yml.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    std::fs::write(&config, yml).unwrap();
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let prom = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    (work, prom, addr)
}

#[test]
fn prometheus_scrapes_mmash() {
    let prometheus = require("prometheus", "prometheus");
    let stats = tempfile::tempdir().unwrap();
    let f = write_file(
        stats.path(),
        "web-4242-4243.mmstats",
        std::process::id(),
        4243,
        &every_kind(),
    );
    let m = Mmash::start(&["--path", stats.path().to_str().unwrap()]);

    let (_work, _prom, addr) = start_prometheus(prometheus, &[("mmash", m.addr)]);

    let limit = Duration::from_secs(60);
    wait_value(addr, "up{job=\"mmash\"}", "1", limit);
    // one series per process: labelled by pid and cmd, no tid
    wait_value(
        addr,
        &format!(
            "web_requests_total{{cmd=\"web\",pid=\"{}\",tid=\"\"}}",
            std::process::id()
        ),
        "42",
        limit,
    );
    // the value follows the file
    f.set_word("web.requests", 0, 4242);
    wait_value(addr, "web_requests_total{cmd=\"web\"}", "4242", limit);
    // histograms arrive with the stable buckets, in seconds
    wait_value(
        addr,
        "web_latency_seconds_bucket{cmd=\"web\",le=\"+Inf\"}",
        "3",
        limit,
    );
    wait_value(
        addr,
        "web_latency_seconds_bucket{cmd=\"web\",le=\"0.0001\"}",
        "1",
        limit,
    );
    // Prometheus asked for OpenMetrics: the unit came through `# UNIT`
    let meta = http(
        addr,
        "GET",
        "/api/v1/metadata?metric=web_latency_seconds",
        &[],
        None,
    )
    .json();
    assert_eq!(
        meta["data"]["web_latency_seconds"][0]["unit"], "seconds",
        "{meta}"
    );
    let targets = http(addr, "GET", "/api/v1/targets", &[], None).json();
    assert_eq!(
        targets["data"]["activeTargets"][0]["lastError"], "",
        "{targets}"
    );
}

/// A process that counts, exits, and is followed by a new process of the same command (a
/// restart: a new pid counting from zero), with its file removed later as cleanstats would.
/// Per process, Prometheus sees the old pid's series end at its final value and the new pid's
/// series start; with `--aggregate` the one series per command keeps the exited process's final
/// count, so it never goes down and `resets()` finds no reset.
#[test]
fn a_restart_keeps_counters_right_in_prometheus() {
    let prometheus = require("prometheus", "prometheus");
    let stats = tempfile::tempdir().unwrap();
    let dir = stats.path().to_str().unwrap();
    let per_process = Mmash::start(&["--path", dir]);
    let aggregate = Mmash::start(&["--path", dir, "--aggregate"]);
    let (_work, _prom, addr) = start_prometheus(
        prometheus,
        &[
            ("per_process", per_process.addr),
            ("aggregate", aggregate.addr),
        ],
    );
    let limit = Duration::from_secs(60);
    let of_pid = |pid: u32| format!("web_requests_total{{job=\"per_process\",pid=\"{pid}\"}}");
    let write = |p: &Sleeper, v: u64| {
        write_file(
            stats.path(),
            &format!("web-{0}-{0}.mmstats", p.pid()),
            p.pid(),
            p.pid(),
            &[counter("web.requests", v)],
        )
    };

    let first = Sleeper::start();
    let old_pid = first.pid();
    let old_file = write(&first, 100);
    wait_value(addr, "up{job=\"aggregate\"}", "1", limit);
    wait_value(addr, "web_requests_total{job=\"aggregate\"}", "100", limit);
    old_file.set_word("web.requests", 0, 300);
    wait_value(addr, "web_requests_total{job=\"aggregate\"}", "300", limit);
    wait_value(addr, &of_pid(old_pid), "300", limit);

    // the restart: the old process exits, a new one starts from zero and counts to 50
    drop(first);
    let second = Sleeper::start();
    let new_pid = second.pid();
    assert_ne!(new_pid, old_pid);
    let new_file = write(&second, 0);
    wait_value(addr, &of_pid(new_pid), "0", limit);
    new_file.set_word("web.requests", 0, 50);
    wait_value(addr, "web_requests_total{job=\"aggregate\"}", "350", limit);
    wait_value(addr, &of_pid(new_pid), "50", limit);
    // the exited process's series keeps its final value while its file remains
    wait_value(addr, &of_pid(old_pid), "300", limit);

    // the exited process's file is removed: the sum keeps its count
    std::fs::remove_file(&old_file.path).unwrap();
    new_file.set_word("web.requests", 0, 70);
    wait_value(addr, "web_requests_total{job=\"aggregate\"}", "370", limit);
    wait_value(
        addr,
        "resets(web_requests_total{job=\"aggregate\"}[10m])",
        "0",
        limit,
    );
    // per process, neither series ever went down: the restart is a new series, not a reset
    for pid in [old_pid, new_pid] {
        wait_value(addr, &format!("resets({}[10m])", of_pid(pid)), "0", limit);
    }
    // and the increase over the whole test is what was counted: 200 more by the old process
    // after the first scrape, 70 by the new one
    wait_value(
        addr,
        "max_over_time(web_requests_total{job=\"aggregate\"}[10m]) - \
         min_over_time(web_requests_total{job=\"aggregate\"}[10m])",
        "270",
        limit,
    );
}
