use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value as Json;

use crate::fixture::FileBuilder;

fn web(dir: &Path, pid: u32, requests: u64) -> std::path::PathBuf {
    let path = dir.join(format!("web-{pid}-{}.mmstats", pid + 1));
    FileBuilder::new(pid, pid + 1)
        .counter("web.requests", "requests", requests)
        .gauge_i64("web.queue", "", -3)
        .gauge("mem.rss", "bytes", 2_097_152.0)
        .text("web.name", "frontend")
        .timer("web.latency", &[1_000_000, 2_000_000, 3_000_000])
        .write(&path);
    path
}

fn slurp(dir: &Path) -> assert_cmd::Command {
    let mut c = cargo_bin_cmd!("slurpstats");
    c.env("MMSTATS_PATH", dir).env_remove("MMSTATS_GLOB");
    c
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

#[test]
fn text_lists_every_field_aligned_with_units_and_derived_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = web(dir.path(), 4242, 17);
    let o = slurp(dir.path()).assert().success().get_output().clone();
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    // (whether pid 4242 runs here decides if ", writer gone (...)" follows: nobody holds
    // the file's lock)
    assert!(
        lines[0].starts_with(&format!(
            "==> {} <== format 2, pid 4242, tid 4243",
            path.display()
        )),
        "{}",
        lines[0]
    );
    let value = |label: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("no {label} in\n{out}"));
        line[label.len()..].trim().to_string()
    };
    assert_eq!(value("web.requests"), "17 requests");
    assert_eq!(value("web.queue"), "-3");
    assert_eq!(value("mem.rss"), "2097152 bytes (2.00MiB)");
    assert_eq!(value("web.name"), "frontend");
    assert_eq!(value("web.latency.count"), "3");
    assert_eq!(value("web.latency.mean"), "2.00ms");
    assert_eq!(value("web.latency.min"), "1.00ms");
    assert_eq!(value("web.latency.max"), "3.00ms");
    assert!(value("web.latency.p99").ends_with("ms"));
}

#[test]
fn several_files_each_get_a_block_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = web(dir.path(), 100, 1);
    let b = web(dir.path(), 200, 2);
    let out = stdout(&slurp(dir.path()).assert().success().get_output().clone());
    let heads: Vec<&str> = out.lines().filter(|l| l.starts_with("==> ")).collect();
    assert_eq!(heads.len(), 2);
    assert!(heads[0].contains(&a.display().to_string()));
    assert!(heads[1].contains(&b.display().to_string()));
    // blocks are separated by one blank line
    assert_eq!(out.matches("\n\n==> ").count(), 1);
}

#[test]
fn explicit_paths_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let a = web(dir.path(), 100, 1);
    web(dir.path(), 200, 2);
    let out = stdout(
        &cargo_bin_cmd!("slurpstats")
            .arg(&a)
            .args(["--filter", "web.latency.p9", "-f", "mem."])
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    let labels: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        labels,
        [
            "mem.rss",
            "web.latency.p90",
            "web.latency.p99",
            "web.latency.p999"
        ]
    );
    assert_eq!(out.matches("==> ").count(), 1);
}

#[test]
fn json_document_holds_files_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    web(dir.path(), 100, 5);
    std::fs::write(dir.path().join("junk.mmstats"), b"hello, world").unwrap();
    let o = slurp(dir.path())
        .arg("--json")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let doc: Json = serde_json::from_str(&stdout(&o)).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["pid"], 100);
    assert_eq!(files[0]["tid"], 101);
    assert_eq!(files[0]["format_version"], 2);
    let field = |label: &str| {
        files[0]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == label)
            .cloned()
            .unwrap()
    };
    assert_eq!(field("web.requests")["value"], 5);
    assert_eq!(field("web.requests")["kind"], "counter");
    assert_eq!(field("web.requests")["unit"], "requests");
    assert_eq!(field("web.name")["value"], "frontend");
    assert_eq!(field("web.latency")["derived"]["mean"], 2_000_000.0);
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("junk.mmstats")
    );
}

#[test]
fn ndjson_one_object_per_file() {
    let dir = tempfile::tempdir().unwrap();
    web(dir.path(), 100, 5);
    web(dir.path(), 200, 6);
    let out = stdout(
        &slurp(dir.path())
            .arg("--ndjson")
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    let objs: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    for (o, pid, req) in [(&objs[0], 100, 5), (&objs[1], 200, 6)] {
        assert!(o["timestamp"].as_f64().unwrap() > 1.7e9);
        assert_eq!(o["pid"], pid);
        assert_eq!(o["format_version"], 2);
        assert!(
            o["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("web-{pid}-{}.mmstats", pid + 1))
        );
        let f = o["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == "web.requests")
            .unwrap();
        assert_eq!(f["value"], req);
    }
}

#[test]
fn csv_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = web(dir.path(), 100, 5);
    let out = stdout(
        &slurp(dir.path())
            .arg("--csv")
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "path,label,kind,unit,value");
    let p = p.display();
    assert!(
        lines.contains(&format!("{p},web.requests,counter,requests,5").as_str()),
        "{out}"
    );
    assert!(
        lines.contains(&format!("{p},web.queue,gauge,,-3").as_str()),
        "{out}"
    );
    assert!(
        lines.contains(&format!("{p},web.name,text,,frontend").as_str()),
        "{out}"
    );
    assert!(
        lines.contains(&format!("{p},web.latency.mean,timer,nanoseconds,2000000").as_str()),
        "{out}"
    );
}

#[test]
fn bad_files_are_reported_and_good_ones_still_shown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = web(d, 100, 5);
    let image = FileBuilder::new(1, 2).counter("x", "", 1).image();
    std::fs::write(d.join("truncated.mmstats"), &image[..300]).unwrap();
    let mut corrupt = image.clone();
    corrupt[256 + 18] = 99; // the first record's kind
    std::fs::write(d.join("corrupt.mmstats"), &corrupt).unwrap();
    std::fs::write(d.join("empty.mmstats"), b"").unwrap();
    std::fs::write(d.join("foreign.mmstats"), b"#!/bin/sh\necho not stats\n").unwrap();
    let mut future = image.clone();
    future[0] = 9;
    std::fs::write(d.join("future.mmstats"), &future).unwrap();
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling.mmstats")).unwrap();
    std::fs::create_dir(d.join("dir.mmstats")).unwrap();

    let o = slurp(d).assert().code(1).get_output().clone();
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("==> {} <==", good.display())),
        "{out}"
    );
    assert!(out.contains("web.requests"));
    let err = String::from_utf8(o.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    for name in [
        "truncated",
        "corrupt",
        "empty",
        "foreign",
        "future",
        "dangling",
        "dir",
    ] {
        let prefix = format!(
            "slurpstats: {}: ",
            d.join(format!("{name}.mmstats")).display()
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{name} in\n{err}"
        );
    }
    assert_eq!(lines.len(), 7, "{err}");
    assert!(err.contains("newer"), "{err}");
}

#[test]
fn broken_pipe_is_quiet_and_successful() {
    let dir = tempfile::tempdir().unwrap();
    for pid in 1..=3 {
        let mut b = FileBuilder::new(pid, pid);
        for i in 0..1500 {
            b = b.counter(&format!("a.rather.long.label.number.{i:05}"), "requests", i);
        }
        b.write(&dir.path().join(format!("big-{pid}.mmstats")));
    }
    let bin = assert_cmd::cargo::cargo_bin!("slurpstats");
    let mut child = Command::new(bin)
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("==> "));
    // the reader is dropped here: the pipe closes while slurpstats still has lots to write
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?}", o.status);
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn help_and_version() {
    let o = cargo_bin_cmd!("slurpstats")
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let help = stdout(&o);
    assert!(help.contains("Examples:") && help.contains("Exit status:"));
    cargo_bin_cmd!("slurpstats")
        .arg("--version")
        .assert()
        .success();
}

#[test]
fn fixture_files_are_valid_version_2_files() {
    let b = FileBuilder::new(7, 8)
        .counter("c", "", 3)
        .text("t", "hi")
        .timer("l", &[5]);
    let image = b.image();
    let h = mmstats_format::Header::decode(&image, image.len() as u64).unwrap();
    assert_eq!(
        (h.identity.pid, h.identity.tid, h.live.field_count),
        (7, 8, 3)
    );
}

#[test]
fn an_empty_directory_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing could be read: a failure, saying which directory is empty.
    let o = slurp(dir.path()).assert().code(1).get_output().clone();
    assert_eq!(stdout(&o), "");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "slurpstats: {}: directory has no stats files\n",
            dir.path().display()
        )
    );
}

#[test]
fn prometheus_and_openmetrics() {
    let dir = tempfile::tempdir().unwrap();
    web(dir.path(), 100, 5);
    let out = stdout(
        &slurp(dir.path())
            .args(["--prometheus", "-f", "web.req"])
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    assert!(out.contains("# TYPE web_requests_total counter\n"), "{out}");
    assert!(
        out.contains("web_requests_total{") && out.contains("pid=\"100\""),
        "{out}"
    );
    assert!(!out.contains("mem_rss"), "filtered out: {out}");
    let out = stdout(
        &slurp(dir.path())
            .arg("--openmetrics")
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    assert!(out.ends_with("# EOF\n"), "{out}");
    assert!(out.contains("web_latency_seconds_bucket{"), "{out}");
}

#[test]
fn control_characters_from_files_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let image = FileBuilder::new(1, 2)
        .counter("evil\x1b[2J", "", 1)
        .text("status", "\x1b]0;owned\x07\u{9b}31m")
        .image();
    std::fs::write(dir.path().join("evil\x1b[31m.mmstats"), &image).unwrap();
    let o = slurp(dir.path()).assert().success().get_output().clone();
    let out = stdout(&o);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(out.contains("evil\\x1b[2J"), "{out}");
    assert!(out.contains("\\x1b]0;owned\\x07\\x9b31m"), "{out}");
    assert!(out.contains("evil\\x1b[31m.mmstats"), "{out}");
}
