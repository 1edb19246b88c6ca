//! mmash end to end: real files, the real binary, real HTTP.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

const WAIT: Duration = Duration::from_secs(20);

fn two_dirs() -> (
    tempfile::TempDir,
    tempfile::TempDir,
    WrittenFile,
    WrittenFile,
) {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let me = std::process::id();
    let fa = write_file(a.path(), "web-100-101.mmstats", me, 101, &every_kind());
    let fb = write_file(
        b.path(),
        "db-200-201.mmstats",
        me,
        201,
        &[counter("web.requests", 8), counter("db.queries", 5)],
    );
    (a, b, fa, fb)
}

fn start(a: &tempfile::TempDir, b: &tempfile::TempDir, extra: &[&str]) -> Mmash {
    let mut args = vec![
        "--path",
        a.path().to_str().unwrap(),
        "--path",
        b.path().to_str().unwrap(),
    ];
    args.extend(extra);
    Mmash::start(&args)
}

fn ready(m: &Mmash) {
    m.wait_for("/stats/", WAIT, |r| {
        r.status == 200 && r.json()["stats"].as_array().is_some_and(|a| !a.is_empty())
    });
}

#[test]
fn original_json_api_over_several_directories() {
    let (a, b, fa, _fb) = two_dirs();
    let m = start(&a, &b, &[]);
    ready(&m);
    let labels = m.get("/stats/").json();
    let labels: Vec<&str> = labels["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in ["web.requests", "db.queries", "web.latency.p99", "web.state"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
    // one value per file, in path order (the temporary directories' names decide it)
    let mut values: Vec<u64> = m.get("/stats/web.requests").json()["web.requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, [8, 42]);
    assert_eq!(
        m.get("/stats/web.requests?aggr=sum").json(),
        json!({"web.requests": 50})
    );
    assert_eq!(
        m.get("/stats/web.requests?aggr=max&glob=db-*").json(),
        json!({"web.requests": 8})
    );
    assert_eq!(
        m.get("/stats/web.state?exact=1").json(),
        json!({"web.state": ["serving \"all\"\nok"]})
    );
    assert_eq!(
        m.get("/stats/web.version?exact=1&aggr=one").json(),
        json!({"web.version": "1.2.3"})
    );
    let prefix = m.get("/stats/web.latency").json();
    assert!(prefix.get("web.latency.p50").is_some(), "{prefix}");
    assert_eq!(m.get("/stats/web.requests?aggr=bogus").status, 400);

    let files = m.get("/files/*.mmstats").json();
    assert_eq!(files["files"].as_array().unwrap().len(), 2, "{files}");
    assert_eq!(
        m.get("/files/").json()["files"].as_array().unwrap().len(),
        2
    );
    let _ = fa;
}

#[test]
fn requests_cannot_leave_the_stats_directories() {
    let (a, b, _fa, _fb) = two_dirs();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.mmstats"), b"x").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.mmstats"),
        a.path().join("link.txt"),
    )
    .unwrap();
    let m = start(&a, &b, &[]);
    for path in [
        "/files/..%2F*",
        "/files/../*",
        "/files/%2Fetc%2Fpasswd",
        "/files//etc/passwd",
        "/files/link.txt",
        "/stats/web?glob=..%2F*",
        "/stats/web?glob=%2Ftmp%2F*",
        "/stats/?glob=link.txt",
        "/api/stats?glob=link.txt",
        "/api/files?glob=..%2F..%2F*",
    ] {
        let r = m.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(!r.body.contains("secret"), "{path}: {}", r.body);
    }
    assert_eq!(m.get("/files/link.txt").status, 400);
    assert_eq!(m.get("/stats/web?glob=..%2F*").status, 400);
}

#[test]
fn api_files_stats_history_and_metrics() {
    let (a, b, fa, _fb) = two_dirs();
    let m = start(&a, &b, &[]);
    ready(&m);

    let files = m.get("/api/files").json();
    let web = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cmd"] == "web")
        .unwrap_or_else(|| panic!("{files}"))
        .clone();
    assert_eq!(web["tid"], json!(101));
    assert_eq!(web["pid"], json!(std::process::id()));
    assert_eq!(web["format_version"], json!(2));
    assert!(web["created"].as_f64().unwrap() > 1.0e9);
    assert!(web["liveness"]["alive"].is_boolean());

    // the counter goes up by 10 per second: the API shows a rate
    for i in 1..=4u64 {
        fa.set_word("web.requests", 0, 42 + 10 * i);
        std::thread::sleep(Duration::from_millis(1000));
    }
    let stats = m.wait_for("/api/stats?glob=web-*", WAIT, |r| {
        r.json()["files"][0]["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["label"] == "web.requests"))
            .is_some_and(|f| f.get("rate").is_some())
    });
    let stats = stats.json();
    let fields = stats["files"][0]["fields"].as_array().unwrap();
    let by = |l: &str| fields.iter().find(|f| f["label"] == l).unwrap().clone();
    let lat = by("web.latency");
    assert_eq!(lat["kind"], json!("timer"));
    assert_eq!(lat["unit"], json!("nanoseconds"));
    assert_eq!(lat["derived"]["count"], json!(3.0));
    assert!(lat["derived"]["p99"].as_f64().unwrap() > 29_000_000.0);
    assert_eq!(by("web.state")["value"], json!("serving \"all\"\nok"));
    assert_eq!(by("web.requests")["help"], json!("requests served"));

    let h = m
        .wait_for("/api/history/web.requests?res=second", WAIT, |r| {
            r.status == 200
                && r.json()["mean"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v.is_number())
        })
        .json();
    assert_eq!(h["rate"], json!(true));
    assert_eq!(h["t"].as_array().unwrap().len(), 600);
    let rates: Vec<f64> = h["mean"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert!(rates.iter().any(|r| *r > 0.0), "{rates:?}");
    assert_eq!(
        m.get("/api/history/web.requests?res=hour").json()["t"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    assert_eq!(m.get("/api/history/web.requests?res=year").status, 400);
    assert_eq!(m.get("/api/history/no.such.label").status, 404);

    let text = m.get("/metrics");
    assert_eq!(text.status, 200);
    assert!(
        text.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        text.body.contains("# TYPE web_requests_total counter\n"),
        "{}",
        text.body
    );
    // Both files have this test's pid: one process, one series per label, labelled by pid.
    assert!(
        text.body
            .contains(&format!("pid=\"{}\",cmd=", std::process::id())),
        "{}",
        text.body
    );
    assert!(!text.body.contains("tid=\""), "no tid unless --per-thread");
    let om = m.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert!(
        om.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert!(om.body.contains("# UNIT web_latency_seconds seconds\n"));

    // the page and its assets are served by mmash itself
    let page = m.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/assets/chart.js"));
    for asset in [
        "/assets/app.js",
        "/assets/app.css",
        "/assets/chart.js",
        "/assets/units.js",
    ] {
        let r = m.get(asset);
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.body.len() > 100, "{asset}");
    }
}

#[test]
fn aggregate_metrics_combine_processes() {
    let (a, b, _fa, _fb) = two_dirs();
    let m = start(&a, &b, &["--aggregate"]);
    ready(&m);
    let r = m.get("/metrics");
    assert!(r.body.contains("\nweb_requests_total 50\n"), "{}", r.body);
    assert!(!r.body.contains("pid="));
}

#[test]
fn bearer_token_guards_everything_but_healthz() {
    let (a, b, _fa, _fb) = two_dirs();
    let m = Mmash::start_env(
        &[
            "--path",
            a.path().to_str().unwrap(),
            "--path",
            b.path().to_str().unwrap(),
        ],
        &[("MMASH_TOKEN", "s3cret")],
    );
    assert_eq!(m.get("/healthz").status, 200);
    let page = m.get("/");
    assert_eq!(
        page.status, 303,
        "a browser without a session goes to the login form"
    );
    assert_eq!(page.header("location"), Some("/login"));
    for p in ["/stats/", "/metrics", "/api/files", "/assets/app.js"] {
        assert_eq!(m.get(p).status, 401, "{p}");
        assert_eq!(
            m.get_with(p, &[("Authorization", "Bearer wrong")]).status,
            401,
            "{p}"
        );
        assert_eq!(
            m.get_with(p, &[("Authorization", "Bearer s3cret")]).status,
            200,
            "{p}"
        );
    }
}

#[test]
fn a_browser_logs_in_with_the_token_and_gets_a_session_cookie() {
    let (a, b, _fa, _fb) = two_dirs();
    let m = Mmash::start_env(
        &[
            "--path",
            a.path().to_str().unwrap(),
            "--path",
            b.path().to_str().unwrap(),
        ],
        &[("MMASH_TOKEN", "s3 cr&t")],
    );
    let form = m.get("/login");
    assert_eq!(form.status, 200);
    assert!(form.body.contains(r#"name="token""#), "{}", form.body);
    assert!(!form.body.contains("web."), "the login page shows no stats");

    let post = |body: &str| {
        support::http(
            m.addr,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body),
        )
    };
    let wrong = post("token=s3cret");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());

    let ok = post("token=s3+cr%26t");
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), Some("/"));
    let cookie = ok
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();

    for p in ["/", "/api/stats", "/metrics", "/assets/app.js"] {
        assert_eq!(m.get_with(p, &[("Cookie", &session)]).status, 200, "{p}");
    }
    let forged = "mmash_token=733320637226740a";
    assert_eq!(m.get_with("/api/stats", &[("Cookie", forged)]).status, 401);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let (a, b, _fa, _fb) = two_dirs();
    let mut m = start(&a, &b, &[]);
    assert_eq!(m.get("/healthz").status, 200);
    let pid = m.child.id() as i32;
    assert_eq!(unsafe_free_kill(pid), 0);
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = m.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < end,
            "mmash did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

/// Sends SIGTERM with the `kill` program (no unsafe code in tests).
fn unsafe_free_kill(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

/// What mmash run with `args` until it exits wrote and exited with.
fn mmash_output(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mmash"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn missing_directory_is_a_clear_error() {
    let out = mmash_output(&[
        "--listen",
        "127.0.0.1:0",
        "--path",
        "/nonexistent/mmash-test",
    ]);
    assert_eq!(out.status.code(), Some(2), "a fatal error, as --help says");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/mmash-test"), "{err}");
}

#[test]
fn an_address_in_use_is_a_fatal_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = mmash_output(&[
        "--listen",
        &addr.to_string(),
        "--no-resources",
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "a fatal error, as --help says");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use"), "{err}");
}

#[test]
fn help_lists_the_routes_examples_and_exit_status() {
    let out = mmash_output(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for route in [
        "/api/stats",
        "/api/files",
        "/api/history/LABEL",
        "/metrics",
        "/healthz",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(route)),
            "route {route} not listed:\n{help}"
        );
    }
    assert!(
        help.contains("Examples:") && help.contains("Exit status:"),
        "{help}"
    );
}

#[test]
fn verbose_logs_one_line_per_request() {
    let (a, b, _fa, _fb) = two_dirs();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mmash"))
        .args(["--listen", "127.0.0.1:0", "-v", "--path"])
        .arg(a.path())
        .arg("--path")
        .arg(b.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    let addr = first.rsplit("http://").next().unwrap().parse().unwrap();
    let r = http(addr, "GET", "/healthz", &[], None);
    assert_eq!(r.status, 200);
    let logged = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(logged.starts_with("mmash: GET /healthz 200 "), "{logged}");
}
