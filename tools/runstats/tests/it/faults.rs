//! Faults: a command that cannot start, exits at once or is killed; corrupt and vanishing
//! stats files; runstats itself killed with SIGKILL.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_command_that_cannot_start_is_a_clear_error_and_records_nothing() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("none");
    let o = run(
        stats.path(),
        &["-o", dir.to_str().unwrap(), "--", "no-such-command-xyz"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot run no-such-command-xyz: not found in PATH"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.exists());
    let plain = runs.path().join("plain.txt");
    std::fs::write(&plain, "not a program").unwrap();
    let o = run(
        stats.path(),
        &["-o", dir.to_str().unwrap(), "--", plain.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not an executable file"),
        "{}",
        stderr(&o)
    );
    let o = run(
        stats.path(),
        &[
            "--wait-for",
            "127.0.0.1:1",
            "--wait-timeout",
            "300ms",
            "--",
            "true",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("was not up after"), "{}", stderr(&o));
}

#[test]
fn commands_that_exit_at_once_or_are_killed_pass_on_their_status() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("false");
    let o = run(stats.path(), &["-o", dir.to_str().unwrap(), "--", "false"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(run_json(&dir)["exit"]["code"], 1);
    // the report of a run with nearly nothing in it still works
    assert!(dir.join("report.html").exists());

    let dir = runs.path().join("killed");
    let o = run(
        stats.path(),
        &["-o", dir.to_str().unwrap(), "--", "sh", "-c", "kill -9 $$"],
    );
    assert_eq!(o.status.code(), Some(137), "{}", stderr(&o));
    let run = run_json(&dir);
    assert_eq!(run["exit"]["signal"], "SIGKILL");
    assert_eq!(run["exit"]["status"], 137);
}

#[test]
fn corrupt_and_vanishing_stats_files_are_reported_and_recording_goes_on() {
    let stats = stats_dir();
    std::fs::write(stats.path().join("broken-1-1.mmstats"), b"MMSTATS garbage").unwrap();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("web");
    // the server's thread files vanish when it exits, inside the run
    let o = record_webserver(stats.path(), &dir, 2, &["--no-report"]);
    assert!(stderr(&o).contains("broken-1-1.mmstats"), "{}", stderr(&o));
    let problems = run_json(&dir)["problems"].to_string();
    assert!(problems.contains("broken-1-1.mmstats"), "{problems}");
    assert!(!values(&dir, "web.requests.rate").is_empty());
}

#[test]
fn sigkill_of_runstats_leaves_a_database_that_opens_and_reports() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("killed");
    let web = bin("webserver");
    let mut child = runstats()
        .env("MMSTATS_PATH", stats.path())
        .args(["-o", dir.to_str().unwrap(), "-i", "200ms", "--"])
        .arg(&web)
        .args(["--threads", "2", "--rate", "300", "--seconds", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !dir.join("run.json").exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "no run.json");
        std::thread::sleep(Duration::from_millis(50));
    }
    // past the first commits
    std::thread::sleep(Duration::from_secs(5));
    child.kill().unwrap();
    child.wait().unwrap();
    let server = run_json(&dir)["pid"].as_i64().unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    let run = run_json(&dir);
    assert!(run["ended_ms"].is_null(), "{run}");
    let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let rates = values(&dir, "web.requests.rate");
    assert!(rates.len() >= 5, "{rates:?}");
    let o = runstats().arg("report").arg(&dir).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("web.requests.rate"));
}

#[test]
fn a_full_disk_keeps_what_was_committed_readable() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("full");
    let web = bin("webserver");
    // Files of runstats may not grow past 80 KB (160 blocks of 512 bytes, /bin/sh's unit):
    // writes past it fail as on a full disk. The server gets its limit back. (The host's
    // hundreds of series are left out: they would fill the 80 KB before the server starts.)
    let script = format!(
        "trap '' XFSZ; ulimit -S -f 160; exec {} -o {} -i 100ms --no-host --no-process -- sh -c \
         'ulimit -S -f unlimited; exec {} --threads 2 --rate 200 --seconds 8'",
        env!("CARGO_BIN_EXE_runstats"),
        dir.display(),
        web.display()
    );
    let o = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .env("MMSTATS_PATH", stats.path())
        .output()
        .unwrap();
    // the command's status, whatever happened to the database
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("what was committed stays readable"),
        "{}",
        stderr(&o)
    );
    let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert!(!values(&dir, "web.requests.rate").is_empty());
    assert_eq!(run_json(&dir)["exit"]["code"], 0);
    // no half-written page: either a whole report or none
    if let Ok(html) = std::fs::read_to_string(dir.join("report.html")) {
        assert!(html.ends_with("</html>\n"));
    }
    let out = runs.path().join("report");
    let o = runstats()
        .arg("report")
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(out.join("report.html"))
            .unwrap()
            .contains("web.requests.rate")
    );
}
