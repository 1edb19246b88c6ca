//! A real Prometheus server scrapes a running mmash: the counter of a file shows up in
//! Prometheus with the right value, and follows when it changes. Needs `prometheus` (Debian
//! package `prometheus`); fails if it is missing.

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

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mmash\n    static_configs:\n      - targets: ['{}']\n",
            m.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _prom = Killed(
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
