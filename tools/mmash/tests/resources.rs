//! The host's and the processes' resources through mmash: the rollup at `/api/perf` (with a
//! short timeslice), `/api/hosts`, `/api/host`, and `/metrics` under node_exporter's and the
//! process collectors' names, checked by `promtool`.
//! Needs `promtool` (Debian package `prometheus`); fails if it is missing.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

const WAIT: Duration = Duration::from_secs(30);

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// A stats file `web-1-2.mmstats` of this process holding `spec`, and an mmash watching its
/// directory (with `args` besides `--path`).
fn watch_one_file(spec: Spec, args: &[&str]) -> (tempfile::TempDir, Mmash) {
    let dir = tempfile::tempdir().unwrap();
    let me = std::process::id();
    write_file(dir.path(), "web-1-2.mmstats", me, me, &[spec]);
    let mut all = vec!["--path", dir.path().to_str().unwrap()];
    all.extend(args);
    let m = Mmash::start(&all);
    (dir, m)
}

/// Whether the JSON list `fields` holds `host.cpu.user` with a rate (read after two samples).
fn has_cpu_rate(fields: &Value) -> bool {
    fields.as_array().is_some_and(|f| {
        f.iter()
            .any(|f| f["label"] == "host.cpu.user" && f.get("rate").is_some())
    })
}

#[test]
fn perf_rollup_has_the_receivers_shape_and_right_averages() {
    let (_dir, m) = watch_one_file(gauge_f64("cpu.fixed", "", 42.0), &["--rollup-slice", "2"]);
    let host = host_name();
    assert_eq!(
        m.get("/api/hosts").json(),
        serde_json::json!({"hosts": [host]})
    );

    // three finished 2-second timeslices of a label containing "cpu" (case ignored)
    let r = m.wait_for(&format!("/api/perf/{host}/CPU"), WAIT, |r| {
        r.status == 200
            && r.json()["summary:by-minute:cpu.fixed"]["average-count"]
                .as_u64()
                .is_some_and(|n| n >= 3)
    });
    let j = r.json();
    let obj = j.as_object().unwrap();
    assert!(obj.keys().all(|k| k.to_lowercase().contains("cpu")), "{j}");
    assert!(obj.contains_key("summary:by-hour:cpu.fixed"));
    assert!(
        obj.contains_key("summary:by-minute:host.cpu.percent"),
        "{j}"
    );
    assert!(obj.contains_key("summary:by-minute:host.cpu.user"), "{j}");

    let minute = &j["summary:by-minute:cpu.fixed"];
    assert_eq!(minute["timeslice-size-sec"], 2);
    let averages = minute["averages"].as_array().unwrap();
    assert_eq!(
        minute["average-count"].as_u64().unwrap() as usize,
        averages.len()
    );
    let mut prev_end = 0;
    for a in averages {
        let (start, end) = (
            a["start-sec"].as_u64().unwrap(),
            a["end-sec"].as_u64().unwrap(),
        );
        assert_eq!(end - start, 2, "{a}");
        assert_eq!(start % 2, 0, "{a}");
        assert_eq!(a["interval-size-sec"], 2);
        assert!(start >= prev_end, "in order: {minute}");
        prev_end = end;
        // the sampler reads once a second: 1 to 3 samples land in a 2-second slice
        let n = a["num-samples"].as_u64().unwrap();
        assert!((1..=3).contains(&n), "{a}");
        assert_eq!(a["avg"], 42.0, "{a}");
    }
    assert_eq!(minute["end"].as_u64().unwrap() % 2, 0);
    assert_eq!(
        minute["end"].as_u64().unwrap() - minute["start"].as_u64().unwrap(),
        120
    );
    assert!(prev_end <= minute["end"].as_u64().unwrap());
    let hour = &j["summary:by-hour:cpu.fixed"];
    assert_eq!(hour["timeslice-size-sec"], 120);
    assert_eq!(
        hour["end"].as_u64().unwrap() - hour["start"].as_u64().unwrap(),
        24 * 120
    );

    // host CPU percent: a sane average over the samples of each slice
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let cpu = &j["summary:by-minute:host.cpu.percent"]["averages"];
    for a in cpu.as_array().unwrap() {
        let avg = a["avg"].as_f64().unwrap();
        assert!((0.0..=100.0 * cores + 1.0).contains(&avg), "{a}");
    }
    // a counter is summarised as its rate: CPU seconds per second, at most the core count
    for a in j["summary:by-minute:host.cpu.user"]["averages"]
        .as_array()
        .unwrap()
    {
        let avg = a["avg"].as_f64().unwrap();
        assert!((0.0..=cores + 0.1).contains(&avg), "{a}");
    }

    assert_eq!(m.get("/api/perf/no-such-host/cpu").status, 404);
    assert_eq!(
        m.get(&format!("/api/perf/{host}/no.such.label.at.all"))
            .json(),
        serde_json::json!({})
    );

    // the host's snapshot, with rates for its counters after two samples
    let h = m.wait_for("/api/host", WAIT, |r| {
        r.status == 200 && has_cpu_rate(&r.json()["stats"]["files"][0]["fields"])
    });
    let h = h.json();
    assert_eq!(h["host"], Value::String(host));
    // resources are not stats files
    let files = m.get("/api/files").json();
    assert_eq!(files["files"].as_array().unwrap().len(), 1, "{files}");
}

#[test]
fn api_stats_attaches_resources_to_their_process_and_keeps_the_host_apart() {
    let me = std::process::id();
    let (dir, m) = watch_one_file(counter("web.requests", 5), &[]);
    // after two samples: rates
    let r = m.wait_for("/api/stats", WAIT, |r| {
        has_cpu_rate(&r.json()["host"]["fields"])
    });
    let j = r.json();
    // one process: the stats file's, with its own resources among its series
    let procs = j["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 1, "{j}");
    let p = &procs[0];
    assert_eq!(
        (p["pid"].as_u64(), p["cmd"].as_str()),
        (Some(me.into()), Some("web"))
    );
    assert_eq!(p["resources"], format!("/proc/{me}"));
    let labels: Vec<&str> = p["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    for l in ["web.requests", "proc.mem.rss", "proc.cpu.user"] {
        assert!(labels.contains(&l), "no {l} in {labels:?}");
    }
    assert!(!labels.iter().any(|l| l.starts_with("host.")), "{labels:?}");
    // files are stats files only: neither /proc/<pid> nor /proc
    let stats_file = dir.path().join("web-1-2.mmstats");
    assert_eq!(p["files"], serde_json::json!([stats_file]));
    let files: Vec<&str> = j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, [stats_file.to_str().unwrap()]);
    // the host apart, with its series and their rates
    assert_eq!(j["host"]["path"], "/proc");
    let host: Vec<&str> = j["host"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert!(host.contains(&"host.mem.total"), "{host:?}");
    assert!(host.iter().all(|l| l.starts_with("host.")), "{host:?}");
    // ?select= picks among the host's series too
    let j = m.get("/api/stats?select=host.mem.total").json();
    assert_eq!(j["host"]["fields"].as_array().unwrap().len(), 1, "{j}");
}

#[test]
fn metrics_with_host_and_process_resources_pass_promtool() {
    let me = std::process::id();
    let (_dir, m) = watch_one_file(counter("web.requests", 5), &[]);
    let r = m.wait_for("/metrics", WAIT, |r| {
        r.body.contains("process_cpu_seconds_total{")
    });
    let text = r.body;
    for want in [
        "# TYPE node_cpu_seconds_total counter\n",
        "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} ",
        "# TYPE node_memory_MemAvailable_bytes gauge\n",
        "node_network_receive_bytes_total{device=\"lo\"} ",
        "# TYPE node_boot_time_seconds gauge\n",
        "# TYPE node_load1 gauge\n",
        // the process's resources carry its stats files' pid and cmd
        &format!("process_cpu_seconds_total{{pid=\"{me}\",cmd=\"web\"}} "),
        &format!("process_resident_memory_bytes{{pid=\"{me}\",cmd=\"web\"}} "),
        // stats series are one per process (pid and cmd)
        &format!("web_requests_total{{pid=\"{me}\",cmd=\"web\"}} 5\n"),
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    // resources appear once, under their node_exporter and process-collector names only
    for twice in [
        "proc_mem_rss",
        "proc_cpu_user",
        "host_mem_total",
        "host_cpu_user",
    ] {
        assert!(!text.contains(twice), "{twice} in\n{text}");
    }
    promtool_check(&text);

    let om = m.get_with("/metrics", &[("Accept", "application/openmetrics-text")]);
    assert!(
        om.body.contains("# TYPE node_cpu_seconds counter\n"),
        "{}",
        om.body
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert_eq!(om.body.matches("# EOF").count(), 1, "{}", om.body);
    assert!(
        om.body.contains("# TYPE web_requests counter\n"),
        "{}",
        om.body
    );
}

/// `promtool check metrics` finds no error in the exposition, and its style lint nothing but
/// the camel case of node_exporter's own memory names (`node_memory_MemAvailable_bytes`,
/// ...), kept as node_exporter spells them so that dashboards and alerts written for it work
/// (node_exporter's own lint check leaves out the same names). `format-spec/RESOURCES.md`
/// explains the choice.
///
/// Errors and lint are told apart by what promtool offers: releases with `--lint` check with
/// `--lint=none` for errors (exit status 0, nothing said) and lint with `--lint=all`; older
/// ones (Debian 12 has 2.42) always lint, and exit with 1 on an error, 3 on lint problems
/// alone.
fn promtool_check(text: &str) {
    let help = std::process::Command::new(require("promtool", "prometheus"))
        .args(["check", "metrics", "--help"])
        .output()
        .unwrap();
    let has_lint_option = [help.stdout, help.stderr]
        .iter()
        .any(|o| String::from_utf8_lossy(o).contains("--lint"));
    let lint = if has_lint_option {
        let (status, said) = mmstats_testkit::program::promtool(&["--lint=none"], text);
        assert!(
            status == Some(0) && said.trim().is_empty(),
            "promtool found errors ({status:?}): {said}\n--- input ---\n{text}"
        );
        mmstats_testkit::program::promtool(&["--lint=all"], text)
    } else {
        mmstats_testkit::program::promtool(&[], text)
    };
    let (status, said) = lint;
    // 0: nothing to say; 3: lint problems only (1 would be an error)
    assert!(
        matches!(status, Some(0 | 3)),
        "promtool found errors ({status:?}): {said}\n--- input ---\n{text}"
    );
    let unexpected: Vec<&str> = said
        .lines()
        .filter(|l| {
            !(l.starts_with("node_memory_")
                && l.ends_with("metric names should be written in 'snake_case' not 'camelCase'"))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "promtool's lint: {unexpected:?}\n--- input ---\n{text}"
    );
    assert_eq!(status == Some(3), !said.trim().is_empty(), "{said}");
}
