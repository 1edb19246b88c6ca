//! The numbers every tool shows across thread exits, a process exit and a restart, checked
//! against the true rate of a batch job whose schedule the test knows (FORMAT.md §12).
//!
//! Process A runs three workers at 100 jobs/s each; they end after 3 s, 5 s and when A is told
//! to exit (at 8 s). Its latencies switch from 1 ms to 10 ms at 5.5 s. Then process B, the same
//! program under the same name, runs two workers (200/s, 10 ms) for 5 s. Meanwhile pollstats,
//! mmash (per process and `--aggregate`) and a real Prometheus server scraping both watch, and
//! every interval they report is compared with the true rate over that interval.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mmstats_tests::{Service, StatsDir, free_port, http_get, require, workspace_bin};
use serde_json::Value as Json;

const RATE: f64 = 100.0;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A running batch-child process.
struct Batch {
    child: Child,
    stdin: Option<ChildStdin>,
    start: f64,
}

impl Batch {
    fn start(dir: &Path, switch: f64, lifetimes: &[f64]) -> Batch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_batch-child"))
            .arg(RATE.to_string())
            .arg(switch.to_string())
            .args(lifetimes.iter().map(|l| l.to_string()))
            .env("MMSTATS_PATH", dir)
            .env_remove("MMSTATS_FILES")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start batch-child");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let start = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("batch-child said {line:?}"));
        let stdin = child.stdin.take();
        Batch {
            child,
            stdin,
            start,
        }
    }

    /// Tells it to exit; returns when it did (the time its last workers stopped).
    fn stop(mut self) -> f64 {
        let asked = now();
        self.stdin.take();
        assert!(self.child.wait().unwrap().success());
        asked
    }
}

/// When each worker of the run did its jobs: (start, end) in Unix seconds.
#[derive(Default)]
struct Truth(Vec<(f64, f64)>, f64);

impl Truth {
    /// The true rate of jobs per second over (a, b].
    fn rate(&self, a: f64, b: f64) -> f64 {
        let jobs: f64 = self
            .0
            .iter()
            .map(|(s, e)| (b.min(*e) - a.max(*s)).max(0.0) * RATE)
            .sum();
        jobs / (b - a)
    }

    /// Whether `got` is within 10% (and a few jobs a second) of the true rate over some
    /// window of `width` seconds ending within `ends` (the moment a reading describes is only
    /// known to within the tool's sampling).
    /// Like [`Truth::check`] for a Prometheus `rate()` over `width` seconds evaluated at `t`:
    /// the counts it saw at either end of its window may each be up to a second old (mmash
    /// serves its last sample), while it divides by the window's nominal length.
    fn check_span(&self, what: &str, got: f64, width: f64, t: f64) -> Result<(), String> {
        let steps = 4;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..=steps {
            for j in 0..=steps {
                let a = t - width - f64::from(i) / f64::from(steps);
                let b = t - f64::from(j) / f64::from(steps);
                let r = self.rate(a, b) * (b - a) / width;
                lo = lo.min(r);
                hi = hi.max(r);
            }
        }
        if got >= lo * 0.9 - 5.0 && got <= hi * 1.1 + 5.0 {
            Ok(())
        } else {
            Err(format!(
                "{what}: {got:.1}/s, true {lo:.1}..{hi:.1}/s (window {width:.2} s at {:.2} s after the start)",
                t - self.1
            ))
        }
    }

    fn check(&self, what: &str, got: f64, width: f64, ends: (f64, f64)) -> Result<(), String> {
        let steps = 8;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for i in 0..=steps {
            let b = ends.0 + (ends.1 - ends.0) * f64::from(i) / f64::from(steps);
            let t = self.rate(b - width, b);
            lo = lo.min(t);
            hi = hi.max(t);
        }
        if got >= lo * 0.9 - 5.0 && got <= hi * 1.1 + 5.0 {
            Ok(())
        } else {
            Err(format!(
                "{what}: {got:.1}/s, true {lo:.1}..{hi:.1}/s (window {width:.2} s ending {:.2}..{:.2} s after the start)",
                ends.0 - self.1,
                ends.1 - self.1
            ))
        }
    }
}

fn mmash(dir: &Path, extra: &[&str]) -> (Service, u16) {
    let port = free_port();
    let child = Command::new(workspace_bin("mmash"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--path")
        .arg(dir)
        .args(extra)
        .env_remove("MMASH_TOKEN")
        .stderr(Stdio::null())
        .spawn()
        .expect("start mmash");
    let end = Instant::now() + Duration::from_secs(20);
    while !http_get(port, "/healthz").contains("ok") {
        assert!(Instant::now() < end, "mmash did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (Service(child), port)
}

fn json(port: u16, path: &str) -> Json {
    // (a streamed answer comes in chunks: the kit's client joins them)
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    mmstats_testkit::http::try_http(addr, "GET", path, &[], None)
        .ok()
        .and_then(|r| serde_json::from_str(&r.body).ok())
        .unwrap_or(Json::Null)
}

#[test]
fn every_tool_shows_the_true_rate_across_thread_exits_a_process_exit_and_a_restart() {
    let dir = StatsDir::new();
    let (_mmash, port) = mmash(dir.path(), &[]);
    let (_aggregated, agg_port) = mmash(dir.path(), &["--aggregate"]);

    let prom_dir = tempfile::tempdir().unwrap();
    let config = prom_dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: proc\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             \x20 - job_name: agg\n    static_configs:\n      - targets: ['127.0.0.1:{agg_port}']\n"
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let _prometheus = Service(
        Command::new(require("prometheus", "prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    // Prometheus scrapes both before anything runs.
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let up = json(prom_port, "/api/v1/query?query=sum(up)");
        if up["data"]["result"][0]["value"][1] == "2" {
            break;
        }
        assert!(
            Instant::now() < end,
            "prometheus never scraped both mmash: {up}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Process A.
    let mut truth = Truth::default();
    let a = Batch::start(dir.path(), 5.5, &[3.0, 5.0, 0.0]);
    let a_start = a.start;
    truth.1 = a_start;
    // pollstats refuses to start before some file has its fields
    let mut pollstats = Service(
        Command::new(workspace_bin("pollstats"))
            .args([
                "--csv",
                "-d",
                "1",
                "-p",
                "batch.",
                "jobs,recent,latency.p99",
            ])
            .env("MMSTATS_PATH", dir.path())
            .env_remove("MMSTATS_GLOB")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pollstats"),
    );
    truth.0.push((a.start, a.start + 3.0));
    truth.0.push((a.start, a.start + 5.0));
    let mut api: Vec<(f64, f64, f64)> = Vec::new(); // (taken, seconds, rate) from /api/stats
    let poll_api = |until: f64, api: &mut Vec<(f64, f64, f64)>| {
        while now() < until {
            let j = json(port, "/api/stats");
            if let Some(procs) = j["processes"].as_array() {
                let live: Vec<&Json> = procs.iter().filter(|p| p["seconds"].is_number()).collect();
                if let Some(p) = live.first() {
                    let rate: f64 = live
                        .iter()
                        .filter_map(|p| {
                            p["fields"]
                                .as_array()?
                                .iter()
                                .find(|f| f["label"] == "batch.jobs")?["rate"]
                                .as_f64()
                        })
                        .sum();
                    let taken = p["taken"].as_f64().unwrap();
                    let seconds = p["seconds"].as_f64().unwrap();
                    if api.last().is_none_or(|l| l.0 != taken) {
                        api.push((taken, seconds, rate));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    poll_api(a_start + 8.0, &mut api);
    let a_end = a.stop();
    truth.0.push((a_start, a_end));
    // Process B: the same program again, right away.
    let b = Batch::start(dir.path(), 0.0, &[0.0, 0.0]);
    let b_start = b.start;
    poll_api(b_start + 7.0, &mut api);
    let b_end = b.stop();
    truth.0.push((b_start, b_end));
    truth.0.push((b_start, b_end));
    std::thread::sleep(Duration::from_millis(2500)); // let every tool see the end
    let finished = now();

    let mut failures = Vec::new();
    let mut check = |r: Result<(), String>| {
        if let Err(e) = r {
            failures.push(e);
        }
    };

    // pollstats: one CSV row a second, the rate over the time since the previous row.
    let mut stdout = pollstats.0.stdout.take().expect("stdout");
    let _ = pollstats.0.kill();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    let rows: Vec<Vec<f64>> = out
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| c.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert!(rows.len() >= 12, "pollstats printed {out}");
    let mut checked = 0;
    for w in rows.windows(2) {
        let (t0, t1, rate) = (w[0][0], w[1][0], w[1][1]);
        if t0.is_nan() || t1.is_nan() || t0 < a_start + 0.5 || t1 > finished - 1.0 || rate.is_nan()
        {
            continue;
        }
        checked += 1;
        check(truth.check("pollstats batch.jobs", rate, t1 - t0, (t1 - 0.2, t1 + 0.05)));
        // The windowed rate over the last minute: all jobs so far over the process's age,
        // including those of the workers already folded into the process file.
        if t1 < a_end - 0.2 && t1 > a_start + 3.5 {
            let since = t1 - a_start;
            check(truth.check(
                "pollstats batch.recent",
                w[1][2],
                since,
                (t1 - 0.3, t1 + 0.05),
            ));
        }
    }
    assert!(
        checked >= 10,
        "only {checked} pollstats intervals checked:\n{out}"
    );

    // mmash /api/stats: each process's rate over the sampler's last interval.
    assert!(api.len() >= 10, "{api:?}");
    for (taken, seconds, rate) in &api {
        check(truth.check(
            "mmash /api/stats",
            *rate,
            *seconds,
            (taken - 0.2, taken + 0.05),
        ));
    }

    // mmash's history: one rate per second, over the sampler's interval ending in that second.
    let h = json(port, "/api/history/batch.jobs");
    let (t, last) = (h["t"].as_array().unwrap(), h["last"].as_array().unwrap());
    let mut seen = 0;
    for (t, v) in t.iter().zip(last) {
        let (Some(t), Some(v)) = (t.as_f64(), v.as_f64()) else {
            continue;
        };
        if t < a_start + 1.0 || t > finished - 1.0 {
            continue;
        }
        seen += 1;
        check(truth.check("mmash history", v, 1.0, (t, t + 1.0)));
    }
    assert!(seen >= 10, "{h}");

    // The p99 latency of each interval moves from 1 ms to 10 ms within two intervals of the
    // switch at 5.5 s.
    let p99 = json(port, "/api/history/batch.latency.p99");
    assert_eq!(p99["unit"], "seconds", "{p99}");
    for (t, v) in p99["t"]
        .as_array()
        .unwrap()
        .iter()
        .zip(p99["last"].as_array().unwrap())
    {
        let (Some(t), Some(v)) = (t.as_f64(), v.as_f64()) else {
            continue;
        };
        if t > a_start + 1.0 && t < a_start + 4.5 {
            check(
                ((v - 0.001).abs() < 0.001 * 0.05)
                    .then_some(())
                    .ok_or(format!("p99 {v} at {t} before the switch")),
            );
        }
        if t >= a_start + 7.5 && t < a_end - 0.5 {
            check(
                ((v - 0.010).abs() < 0.010 * 0.05)
                    .then_some(())
                    .ok_or(format!("p99 {v} at {t} after the switch")),
            );
        }
    }

    // Prometheus: rate() over 3 s windows of the per-process series (summed) and of the
    // aggregated series, evaluated every second of the run.
    let (from, to) = (a_start + 7.0, finished - 1.5);
    for (what, q, width) in [
        (
            "prometheus per process",
            "sum(rate(batch_jobs_total{job=\"proc\"}[6s]))",
            6.0,
        ),
        (
            "prometheus --aggregate",
            "rate(batch_jobs_total{job=\"agg\"}[6s])",
            6.0,
        ),
    ] {
        let enc: String = q
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let r = json(
            prom_port,
            &format!("/api/v1/query_range?query={enc}&start={from:.3}&end={to:.3}&step=1"),
        );
        let values = r["data"]["result"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(values.len() >= 6, "{what}: {r}");
        for v in values {
            let t = v[0].as_f64().unwrap();
            // A new process's series starts at its first scrape: what it did before that is
            // unknown to rate() (Prometheus's own rule for a new series). Across a restart only
            // the aggregated series, which carries the exited process's total, is exact.
            if what.contains("per process") && t > a_end - 0.5 && t < b_start + width + 1.5 {
                continue;
            }
            let x: f64 = v[1].as_str().unwrap().parse().unwrap();
            // Samples are scraped once a second: a window's first and last samples lie up to a
            // second inside it.
            // mmash serves the values of its last sample, up to a second older than the scrape
            // that Prometheus stamps them with, and each end of the window has its own delay.
            check(truth.check_span(what, x, width, t));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the readings are off:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_killed_writer_is_gone_in_slurpstats_and_not_live_in_pollstats() {
    let dir = StatsDir::new();
    let child =
        mmstats_tests::WriterChild::start(env!("CARGO_BIN_EXE_writer-child"), dir.path(), 100);
    std::thread::sleep(Duration::from_millis(200));
    let path = child.path().to_path_buf();
    let live = Command::new(workspace_bin("pollstats"))
        .args(["-c", "1", "-d", "0.1", "ticks"])
        .env("MMSTATS_PATH", dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&live.stdout).contains("1 proc"),
        "{live:?}"
    );
    child.kill();
    assert!(path.exists(), "SIGKILL leaves the file");

    let slurp = Command::new(workspace_bin("slurpstats"))
        .arg("--json")
        .env("MMSTATS_PATH", dir.path())
        .output()
        .unwrap();
    let doc: Json = serde_json::from_slice(&slurp.stdout).unwrap();
    let f = &doc["files"][0];
    assert_eq!(f["alive"], false, "{doc}");
    assert!(f["state"].as_str().unwrap().starts_with("dead"), "{doc}");
    let nd = Command::new(workspace_bin("slurpstats"))
        .arg("--ndjson")
        .env("MMSTATS_PATH", dir.path())
        .output()
        .unwrap();
    let line: Json =
        serde_json::from_slice(nd.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["alive"], false);

    let dead = Command::new(workspace_bin("pollstats"))
        .args(["-c", "1", "-d", "0.1", "ticks"])
        .env("MMSTATS_PATH", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&dead.stdout);
    // the group title says how many of the processes are live: 0 of 1 (cut to the column)
    assert!(text.contains("0/1 l"), "{text}");
}
