use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin_cmd;

use crate::fixture::{FileBuilder, store_word};

fn builder(pid: u32, requests: u64, rss: f64, latencies: &[u64]) -> FileBuilder {
    FileBuilder::new(pid, pid)
        .counter("web.requests", "requests", requests)
        .gauge("mem.rss", "bytes", rss)
        .text(
            "web.role",
            if pid.is_multiple_of(2) {
                "front"
            } else {
                "back"
            },
        )
        .timer("web.latency", latencies)
}

fn write(dir: &Path, pid: u32, b: &FileBuilder) -> PathBuf {
    let p = dir.join(format!("app-{pid}-{pid}.mmstats"));
    b.write(&p);
    p
}

fn poll(dir: &Path) -> assert_cmd::Command {
    let mut c = cargo_bin_cmd!("pollstats");
    c.env("MMSTATS_PATH", dir)
        .env_remove("MMSTATS_GLOB")
        .env_remove("NO_COLOR");
    c
}

fn run(c: &mut assert_cmd::Command) -> String {
    let o = c.assert().success().get_output().clone();
    String::from_utf8(o.stdout).unwrap()
}

fn csv(out: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = out.lines();
    let head = lines.next().unwrap().split(',').map(String::from).collect();
    (
        head,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

#[test]
fn gauges_and_timers_combine_over_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[1_000, 2_000]));
    write(dir.path(), 3, &builder(3, 10, 300.0, &[3_000, 1_000_000]));
    let out = run(poll(dir.path()).args([
        "--csv",
        "-d",
        "0.1",
        "-c",
        "2",
        "mem.rss,web.latency.count,web.latency.max,web.requests,web.role",
    ]));
    let (head, rows) = csv(&out);
    assert_eq!(
        head,
        [
            "timestamp",
            "mem.rss",
            "web.latency.count",
            "web.latency.max",
            "web.requests",
            "web.role"
        ]
    );
    assert_eq!(rows.len(), 2, "{out}");
    for r in &rows {
        assert!(r[0].parse::<f64>().unwrap() > 1.7e9);
        assert_eq!(r[1], "400", "gauges add up by default");
        // Named timer values describe the interval; these writers recorded nothing in it.
        assert_eq!(r[2], "0", "no values timed during the interval");
        assert_eq!(r[3], "", "no maximum of an idle interval");
        assert_eq!(r[4], "0", "an idle counter's rate is zero");
        // Texts of two processes are listed, not picked (CSV quotes the comma).
        assert_eq!(r[5..].join(","), "\"front,back\"");
    }
}

#[test]
fn prefix_and_filters_select_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[]));
    write(dir.path(), 3, &builder(3, 10, 300.0, &[]));
    let out = run(poll(dir.path()).args([
        "--csv",
        "-d",
        "0.1",
        "-c",
        "1",
        "-p",
        "mem.",
        "-f",
        "web.role=back",
        "rss",
    ]));
    let (head, rows) = csv(&out);
    assert_eq!(head, ["timestamp", "rss"]);
    assert_eq!(rows[0][1], "300");
    // no file passes both filters
    poll(dir.path())
        .args([
            "--csv", "-d", "0.1", "-c", "1", "-f", "web.ro", "-f", "nothing", "mem.rss",
        ])
        .assert()
        .code(1);
}

#[test]
fn counter_rates_follow_a_live_writer_and_restarts_never_go_negative() {
    let dir = tempfile::tempdir().unwrap();
    let b = builder(2, 0, 1.0, &[]);
    let path = write(dir.path(), 2, &b);
    let at = b.value_offset("web.requests");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            // 1000 requests per second, then a restart from zero after 1.2 s
            let t0 = Instant::now();
            let mut restarted = None;
            while !stop.load(Ordering::Relaxed) {
                let e = t0.elapsed().as_secs_f64();
                let v = if e < 1.2 {
                    1_000_000.0 + e * 1000.0
                } else {
                    let r = *restarted.get_or_insert(e);
                    (e - r) * 1000.0
                };
                store_word(&path, at, v as u64);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let out = run(poll(dir.path()).args(["--csv", "-d", "0.25", "-c", "8", "web.requests"]));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (_, rows) = csv(&out);
    let rates: Vec<f64> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
    assert_eq!(rates.len(), 8);
    assert!(rates.iter().all(|r| *r >= 0.0), "{rates:?}");
    // the rows fully before the restart show about 1000/s
    for r in &rates[..3] {
        assert!((700.0..1300.0).contains(r), "{rates:?}");
    }
    // and the ones well after it too
    for r in &rates[6..] {
        assert!((700.0..1300.0).contains(r), "{rates:?}");
    }
}

#[test]
fn columns_per_file_with_time_and_no_colour_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 1536.0, &[]));
    write(dir.path(), 3, &builder(3, 10, 1536.0, &[]));
    let out = run(poll(dir.path()).args([
        "-d",
        "0.1",
        "-c",
        "2",
        "-t",
        "--per-file",
        "mem.rss,web.requests",
    ]));
    assert!(!out.contains('\x1b'), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("--time-- ")
            && lines[0].contains("pid 2")
            && lines[0].contains("pid 3"),
        "{out}"
    );
    assert_eq!(lines[1].split('|').count(), 3, "{out}");
    for row in &lines[2..] {
        let groups: Vec<&str> = row.split('|').collect();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].len(), 8);
        assert_eq!(groups[0].as_bytes()[2], b':');
        assert_eq!(
            groups[1].split_whitespace().collect::<Vec<_>>(),
            ["1.50KiB", "0"]
        );
    }
}

#[test]
fn vanishing_and_new_files_never_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), 2, &builder(2, 10, 100.0, &[]));
    let d = dir.path().to_path_buf();
    let changer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(250));
        std::fs::remove_file(&a).unwrap();
        write(&d, 3, &builder(3, 10, 300.0, &[]));
        std::fs::write(d.join("junk.mmstats"), b"junk").unwrap();
    });
    let o = poll(dir.path())
        .args(["--csv", "-d", "0.1", "-c", "8", "mem.rss"])
        .assert()
        .success()
        .get_output()
        .clone();
    changer.join().unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let (_, rows) = csv(&out);
    assert_eq!(rows.len(), 8, "{out}");
    assert_eq!(rows[0][1], "100");
    assert_eq!(rows[7][1], "300");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err.matches("junk.mmstats").count(),
        1,
        "each bad file reported once: {err}"
    );
}

#[test]
fn no_matching_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[]));
    let o = poll(dir.path())
        .args(["-c", "1", "no.such.field"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("no.such.field")
    );
}

#[test]
fn help_and_usage() {
    let o = cargo_bin_cmd!("pollstats")
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("Examples:") && help.contains("Exit status:"));
    cargo_bin_cmd!("pollstats").assert().code(2);
    cargo_bin_cmd!("pollstats")
        .args(["-d", "nope", "x"])
        .assert()
        .code(2);
}

#[test]
fn a_closed_pipe_ends_it_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[]));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("pollstats"))
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .args(["-d", "0.05", "mem.rss"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("1 proc"), "{first}");
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}", o.status);
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn the_full_screen_view_needs_a_terminal_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[]));
    let o = poll(dir.path())
        .arg("--tui")
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("pollstats: setting up the terminal"),
        "{err}"
    );
}

#[test]
fn bad_files_are_reported_once_and_good_ones_still_polled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, 2, &builder(2, 10, 100.0, &[]));
    let bad = crate::fixture::hostile_files(d);
    // As root a mode-000 file reads after all: a valid file without mem.rss, then.
    let readable_anyway = std::fs::File::open(d.join("unreadable.mmstats")).is_ok();

    let o = poll(d)
        .args(["--csv", "-d", "0.1", "-c", "3", "mem.rss"])
        .assert()
        .success()
        .get_output()
        .clone();
    let out = String::from_utf8(o.stdout).unwrap();
    let (head, rows) = csv(&out);
    assert_eq!(head, ["timestamp", "mem.rss"]);
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows.iter().all(|r| r[1] == "100"), "{out}");

    let err = String::from_utf8(o.stderr).unwrap();
    for name in bad
        .iter()
        .filter(|n| !(readable_anyway && **n == "unreadable"))
    {
        let prefix = format!(
            "pollstats: {}: ",
            d.join(format!("{name}.mmstats")).display()
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{name}, once and not on every row:\n{err}"
        );
    }
}

#[test]
fn a_field_no_file_has_is_named_once_on_stderr_and_shown_as_a_dash() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 2, &builder(2, 10, 100.0, &[1_000]));
    let o = poll(dir.path())
        .args([
            "--csv",
            "-d",
            "0.1",
            "-c",
            "3",
            "web.requests,web.nosuch,mem.rss",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err, "pollstats: no stats file has web.nosuch yet: shown as - until one does\n",
        "one warning, naming only the missing field"
    );
    let (head, rows) = csv(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(head, ["timestamp", "web.requests", "web.nosuch", "mem.rss"]);
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r[2].is_empty() && r[3] == "100"),
        "{rows:?}"
    );
}
