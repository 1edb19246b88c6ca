//! A program instrumented only with `metrics` macros (`metrics-child`), published through
//! `mmstats-metrics`, read by the real tools: slurpstats' JSON and mmash's `/metrics` show
//! every series with its labels and exact totals, promtool accepts the exposition, and a real
//! Prometheus server computes `sum by (method) (rate(http_requests_total[..]))`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use mmstats_reader::labels::parse_series;
use mmstats_tests::{StatsDir, workspace_bin};

const CHILD: &str = env!("CARGO_BIN_EXE_metrics-child");

/// A child process, killed and reaped on drop.
pub(crate) struct Proc {
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        self._stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `metrics-child MODE` with its files in `dir` and waits for `ready`.
fn start_child(dir: &StatsDir, mode: &str) -> Proc {
    let mut child = Command::new(CHILD)
        .arg(mode)
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_FILES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start metrics-child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read ready");
    assert_eq!(line.trim(), "ready", "metrics-child said {line:?}");
    let stdin = child.stdin.take();
    Proc {
        child,
        _stdin: stdin,
    }
}

/// Starts mmash on a free port over `dir`, waits for its first sample with files, and returns
/// it and its address.
pub(crate) fn start_mmash(dir: &StatsDir) -> (Proc, SocketAddr) {
    let mut child = Command::new(workspace_bin("mmash"))
        .args(["--listen", "127.0.0.1:0", "--path"])
        .arg(dir.path())
        // only the program's own series: node_exporter's camelCase memory names would make
        // promtool complain about style
        .arg("--no-resources")
        .env_remove("MMASH_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mmash");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on"))
        .expect("mmash exited before listening");
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    let addr = first
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {first}"));
    // mmash listens while its sampler takes the first sample: wait until it lists files.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let (_, body) = get(addr, "/api/files");
        let files: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if files["files"].as_array().is_some_and(|f| !f.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (
        Proc {
            child,
            _stdin: None,
        },
        addr,
    )
}

/// GET `path` from 127.0.0.1: status and body.
pub(crate) fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Sums the samples of metric `name` in a text exposition, by the value of label `by`.
fn sum_by(text: &str, name: &str, by: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((n, pairs)) = parse_series(series) else {
            continue;
        };
        if n != name {
            continue;
        }
        let key = pairs
            .iter()
            .find(|(k, _)| k == by)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        *out.entry(key).or_insert(0.0) += value.parse::<f64>().unwrap_or(f64::NAN);
    }
    out
}

fn promtool_check(text: &str) {
    let (status, said) = mmstats_testkit::program::promtool(&[], text);
    assert!(
        status == Some(0) && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}

#[test]
fn slurpstats_and_mmash_show_every_series_with_labels_and_exact_totals() {
    let dir = StatsDir::new();
    let _child = start_child(&dir, "fixed");

    // slurpstats --json: every series, its labels, and totals over the process's files.
    let out = Command::new(workspace_bin("slurpstats"))
        .arg("--json")
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .output()
        .expect("slurpstats");
    mmstats_tests::assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut totals: HashMap<String, f64> = HashMap::new();
    let mut labels: HashMap<String, serde_json::Value> = HashMap::new();
    let mut helps: HashMap<String, String> = HashMap::new();
    for file in doc["files"].as_array().expect("files") {
        for f in file["fields"].as_array().expect("fields") {
            let label = f["label"].as_str().unwrap().to_string();
            let v = f["value"].as_f64().or_else(|| f["value"]["count"].as_f64());
            if let Some(v) = v {
                *totals.entry(label.clone()).or_default() += v;
            }
            if let Some(h) = f["help"].as_str().filter(|h| !h.is_empty()) {
                helps.insert(f["name"].as_str().unwrap_or(&label).to_string(), h.into());
            }
            labels.insert(label, f["labels"].clone());
        }
    }
    let get_ok = r#"http_requests_total{code="200",method="GET"}"#;
    let post = r#"http_requests_total{code="500",method="POST"}"#;
    let not_found = r#"http_requests_total{code="404",method="GET"}"#;
    let hist = r#"http_request_duration_seconds{method="GET"}"#;
    assert_eq!(totals.get(get_ok), Some(&300.0), "{totals:?}");
    assert_eq!(totals.get(post), Some(&100.0), "{totals:?}");
    assert_eq!(totals.get(not_found), Some(&12.0), "{totals:?}");
    assert_eq!(
        totals.get(hist),
        Some(&300.0),
        "histogram count: {totals:?}"
    );
    assert_eq!(totals.get("queue_depth"), Some(&7.0), "{totals:?}");
    assert_eq!(totals.get("bytes_sent_total"), Some(&3072.0), "{totals:?}");
    assert_eq!(
        labels[get_ok],
        serde_json::json!({"code": "200", "method": "GET"})
    );
    assert_eq!(helps["http_requests_total"], "HTTP requests served");
    assert_eq!(helps["http_request_duration_seconds"], "request time");

    // mmash /metrics: one family with real labels, pid and cmd merged, exact sums.
    let (_mmash, addr) = start_mmash(&dir);
    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text.matches("# TYPE http_requests_total counter").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("# HELP http_requests_total HTTP requests served"),
        "{text}"
    );
    assert!(
        text.contains("# HELP http_request_duration_seconds request time"),
        "{text}"
    );
    assert!(
        text.contains("# HELP workers_busy workers serving a request"),
        "{text}"
    );
    assert_eq!(
        sum_by(&text, "workers_busy", "cmd").values().sum::<f64>(),
        3.0
    );
    let by_method = sum_by(&text, "http_requests_total", "method");
    assert_eq!(by_method.get("GET"), Some(&312.0), "{text}");
    assert_eq!(by_method.get("POST"), Some(&100.0), "{text}");
    let by_code = sum_by(&text, "http_requests_total", "code");
    assert_eq!(by_code.get("500"), Some(&100.0), "{text}");
    let count = sum_by(&text, "http_request_duration_seconds_count", "method");
    assert_eq!(count.get("GET"), Some(&300.0), "{text}");
    let sum = sum_by(&text, "http_request_duration_seconds_sum", "method");
    assert!((sum["GET"] - 0.6).abs() < 1e-9, "{text}");
    let le = text
        .lines()
        .find(|l| {
            l.starts_with("http_request_duration_seconds_bucket{") && l.contains(r#"le="0.002""#)
        })
        .unwrap_or_else(|| panic!("no 2 ms bucket in {text}"));
    assert!(
        le.contains(r#"method="GET""#) && le.contains("pid="),
        "{le}"
    );
    assert_eq!(
        sum_by(&text, "queue_depth", "").get(""),
        Some(&7.0),
        "{text}"
    );
    assert_eq!(
        sum_by(&text, "bytes_sent_bytes_total", "").get(""),
        Some(&3072.0),
        "{text}"
    );
    promtool_check(&text);
}

/// Polls a PromQL query until `ok` accepts its result (bounded); returns the last answer.
fn query_until(
    addr: SocketAddr,
    q: &str,
    timeout: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let enc: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let end = Instant::now() + timeout;
    loop {
        let (status, body) = get(addr, &format!("/api/v1/query?query={enc}"));
        let v: serde_json::Value = if status == 200 {
            serde_json::from_str(&body).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        if ok(&v) || Instant::now() > end {
            return v;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn prometheus_sums_the_rate_by_method() {
    let dir = StatsDir::new();
    let _child = start_child(&dir, "rate");
    let (_mmash, mmash) = start_mmash(&dir);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mmash\n    static_configs:\n      - targets: ['{mmash}']\n"
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _prom = Proc {
        child: Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian package prometheus; scripts/test installs it)"),
        _stdin: None,
    };
    let q = "sum by (method) (rate(http_requests_total[8s]))";
    let rates = |v: &serde_json::Value| -> HashMap<String, f64> {
        v["data"]["result"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        Some((
                            r["metric"]["method"].as_str()?.to_string(),
                            r["value"][1].as_str()?.parse().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // 2 GET and 1 POST every 100 ms, each from a thread that ends: 20/s and 10/s.
    let near = |x: Option<&f64>, want: f64| x.is_some_and(|x| (x - want).abs() <= want * 0.2);
    let last = query_until(addr, q, Duration::from_secs(60), |v| {
        let r = rates(v);
        near(r.get("GET"), 20.0) && near(r.get("POST"), 10.0)
    });
    let r = rates(&last);
    assert!(near(r.get("GET"), 20.0), "GET rate {r:?}: {last}");
    assert!(near(r.get("POST"), 10.0), "POST rate {r:?}: {last}");
    assert_eq!(r.len(), 2, "one series per method: {last}");
}
