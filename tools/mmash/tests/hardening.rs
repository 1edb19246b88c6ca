//! mmash against hostile clients and hostile stats directories.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::*;

const WAIT: Duration = Duration::from_secs(20);

fn one_dir() -> (tempfile::TempDir, WrittenFile) {
    let a = tempfile::tempdir().unwrap();
    let f = write_file(
        a.path(),
        "web-1-1.mmstats",
        std::process::id(),
        1,
        &[counter("web.requests", 7)],
    );
    (a, f)
}

fn start_in(dir: &tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Mmash {
    let mut args = vec!["--path", dir.path().to_str().unwrap()];
    args.extend(extra);
    Mmash::start_env(&args, env)
}

fn login(m: &Mmash, token: &str) -> Response {
    http(
        m.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&format!("token={token}")),
    )
}

#[test]
fn the_session_cookie_is_a_random_id_that_expires_and_logs_out() {
    let (a, _f) = one_dir();
    let m = start_in(&a, &[], &[("MMASH_TOKEN", "s3cret")]);
    let ok = login(&m, "s3cret");
    assert_eq!(ok.status, 303, "{}", ok.body);
    let cookie = ok.header("set-cookie").unwrap().to_string();
    // Not the token, not the token in hex.
    assert!(
        !cookie.contains("s3cret") && !cookie.contains("733363726574"),
        "{cookie}"
    );
    assert!(cookie.contains("Max-Age="), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let again = login(&m, "s3cret")
        .header("set-cookie")
        .unwrap()
        .to_string();
    assert_ne!(
        again.split(';').next().unwrap(),
        session,
        "a new id per login"
    );
    assert_eq!(
        m.get_with("/api/stats", &[("Cookie", &session)]).status,
        200
    );
    let out = m.get_with("/logout", &[("Cookie", &session)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        m.get_with("/api/stats", &[("Cookie", &session)]).status,
        401
    );
}

#[test]
fn failed_logins_are_rate_limited() {
    let (a, _f) = one_dir();
    let m = start_in(&a, &[], &[("MMASH_TOKEN", "s3cret")]);
    for _ in 0..5 {
        assert_eq!(login(&m, "guess").status, 401);
    }
    // Even the right token is refused until the window passes.
    let r = login(&m, "s3cret");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("set-cookie").is_none());
}

#[test]
fn an_empty_token_is_an_error_not_open_access() {
    let (a, _f) = one_dir();
    let bin = env!("CARGO_BIN_EXE_mmash");
    let d = a.path().to_str().unwrap();
    for (args, env) in [
        (vec!["--token", "", "--path", d], None),
        (vec!["--path", d], Some("")),
        (vec!["--path", d], Some("  ")),
    ] {
        let mut c = std::process::Command::new(bin);
        c.args(["--listen", "127.0.0.1:0"]).args(&args);
        match env {
            Some(v) => c.env("MMASH_TOKEN", v),
            None => c.env_remove("MMASH_TOKEN"),
        };
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(err.contains("token is empty"), "{err}");
    }
}

/// A raw request with the given `Host` header; the status code.
fn status_with_host(m: &Mmash, host: &str) -> u16 {
    let mut s = TcpStream::connect(m.addr).unwrap();
    write!(
        s,
        "GET /api/stats HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap()
}

#[test]
fn unknown_host_names_are_refused_against_dns_rebinding() {
    let (a, _f) = one_dir();
    let m = start_in(&a, &["--allow-host", "stats.example"], &[]);
    let port = m.addr.port();
    assert_eq!(status_with_host(&m, &format!("127.0.0.1:{port}")), 200);
    assert_eq!(status_with_host(&m, &format!("localhost:{port}")), 200);
    assert_eq!(status_with_host(&m, &format!("[::1]:{port}")), 200);
    assert_eq!(status_with_host(&m, "stats.example"), 200);
    assert_eq!(
        status_with_host(&m, &format!("attacker.example:{port}")),
        421
    );
    assert_eq!(status_with_host(&m, "localhost.attacker.example"), 421);
}

#[test]
fn symlinks_out_of_the_directory_are_never_served_nor_named() {
    let (a, _f) = one_dir();
    let outside = tempfile::tempdir().unwrap();
    write_file(
        outside.path(),
        "private-9-9.mmstats",
        std::process::id(),
        9,
        &[counter("secret.field", 42)],
    );
    std::os::unix::fs::symlink(
        outside.path().join("private-9-9.mmstats"),
        a.path().join("evil-9-9.mmstats"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), a.path().join("sub")).unwrap();
    let m = start_in(&a, &[], &[]);
    m.wait_for("/stats/", WAIT, |r| r.body.contains("web.requests"));
    let hidden = outside.path().to_string_lossy().into_owned();
    for path in [
        "/api/stats",
        "/metrics",
        "/stats/",
        "/api/files",
        "/files/*",
        "/files/",
    ] {
        let r = m.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            !r.body.contains("secret") && !r.body.contains("private") && !r.body.contains(&hidden),
            "{path}: {}",
            r.body
        );
    }
    assert!(m.get("/files/*").body.contains("web-1-1.mmstats"));
    let r = m.get("/files/sub%2Fprivate-9-9.mmstats");
    assert_eq!(r.status, 400);
    assert!(!r.body.contains(&hidden), "{}", r.body);
}

/// Raises this process's open-file limit as far as it may go; the new soft limit.
fn raise_nofile(want: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    // Root may raise the hard limit too; others get their hard limit.
    if setrlimit(Resource::RLIMIT_NOFILE, want, want.max(hard)).is_ok() {
        return want;
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    hard
}

#[test]
fn twenty_thousand_idle_connections_do_not_lock_out_a_normal_request() {
    let limit = raise_nofile(25_000);
    let (a, _f) = one_dir();
    let m = start_in(&a, &[], &[]);
    m.wait_for("/healthz", WAIT, |r| r.status == 200);
    // Connections that never send a request (the kernel completes the handshake; mmash must
    // not let them pile up or keep everyone else out).
    let want = 20_000.min(limit.saturating_sub(200) as usize);
    assert!(
        want >= 10_000,
        "open-file limit {limit} too low for this test"
    );
    let opening = Instant::now();
    let mut idle = Vec::with_capacity(want);
    while idle.len() < want {
        match TcpStream::connect(m.addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {} failed: {e}", idle.len()),
        }
    }
    eprintln!("opened {want} connections in {:?}", opening.elapsed());
    // A normal request is answered within the header timeout plus a margin.
    let start = Instant::now();
    let answered = loop {
        if let Ok(r) = try_http(m.addr, "GET", "/healthz", &[], None)
            && r.status == 200
        {
            break true;
        }
        if start.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        answered,
        "no answer within 30 s while {want} connections idled"
    );
    eprintln!("answered after {:?}", start.elapsed());
    assert!(m.get("/api/stats").body.contains("web.requests"));
    drop(idle);
}

#[test]
fn a_client_that_stops_reading_a_streamed_scrape_is_cut_off_without_holding_anyone_up() {
    // 1,000 processes of the 50-field mix: a scrape of about 10 MB, more than the socket
    // buffers of both ends hold (about 4 MB on loopback).
    let dir = tempfile::tempdir().unwrap();
    mmstats_testkit::mix::write_files(dir.path(), 1_000, 200_000);
    let m = start_in(&dir, &["--no-resources"], &[]);
    m.wait_for("/api/files", WAIT, |r| r.body.contains("app-200999-999"));
    let mut s = TcpStream::connect(m.addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        m.addr
    )
    .unwrap();
    let mut head = [0u8; 4096];
    let n = s.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    // The client stops reading. Others are served meanwhile: the stalled body holds no lock
    // and no job.
    let stalled = Instant::now();
    let r = m.get("/metrics?match[]=app_level0_bytes");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.matches("app_level0_bytes{").count(), 1_000);
    let r = m.get("/api/stats?select=app.level0");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["processes"].as_array().unwrap().len(), 1_000);
    std::thread::sleep(
        mmash::server::SEND_TIMEOUT.saturating_sub(stalled.elapsed()) + Duration::from_secs(5),
    );
    // What the buffers held arrives, then the connection ends without the last chunk.
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut rest = Vec::new();
    let ended = s.read_to_end(&mut rest);
    assert!(
        !rest.ends_with(b"0\r\n\r\n"),
        "the whole scrape arrived ({} bytes after the head)",
        rest.len()
    );
    eprintln!("{} bytes after the stall, then {ended:?}", rest.len());
}
