//! The page's own routes over HTTP: the processes with their threads, one process's view or
//! all combined with points since a time, and lines compared across processes.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

/// Two live processes with the same counter, one of them with a gauge; the counters move.
fn two_processes() -> (tempfile::TempDir, Sleeper, Sleeper, Mmash, Vec<WrittenFile>) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Sleeper::start(), Sleeper::start());
    let (pa, pb) = (a.pid(), b.pid());
    let fa = write_file(
        dir.path(),
        &format!("web-{pa}-{pa}.mmstats"),
        pa,
        pa,
        &[
            counter("web.requests", 1),
            gauge_f64("web.temp", "celsius", 20.0),
        ],
    );
    let fb = write_file(
        dir.path(),
        &format!("worker-{pb}-{pb}.mmstats"),
        pb,
        pb,
        &[counter("web.requests", 1)],
    );
    let m = Mmash::start(&["--path", dir.path().to_str().unwrap(), "--no-resources"]);
    (dir, a, b, m, vec![fa, fb])
}

/// Moves the counters until the history of `web.requests` in every process has `n` points.
fn until_points(m: &Mmash, files: &[WrittenFile], n: usize) {
    let mut v = 1;
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        v += 10;
        for (i, f) in files.iter().enumerate() {
            f.set_word("web.requests", 0, v * (i as u64 + 1));
        }
        let c = m.get("/api/dashboard/compare?lines=web.requests@*").json();
        let lines = c["lines"].as_array().cloned().unwrap_or_default();
        let points = |l: &Value| {
            l["values"]
                .as_array()
                .map_or(0, |a| a.iter().filter(|x| !x.is_null()).count())
        };
        if lines.len() == files.len() && lines.iter().all(|l| points(l) >= n) {
            return;
        }
        assert!(std::time::Instant::now() < end, "no points yet: {c}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn processes_views_and_comparisons() {
    let (_dir, a, b, m, files) = two_processes();
    until_points(&m, &files, 2);

    // the processes, with their files as threads, and no host without resources
    let p = m.get("/api/dashboard/processes").json();
    let procs = p["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2, "{p}");
    assert!(p["host"].is_null());
    let web = procs.iter().find(|x| x["cmd"] == "web").unwrap();
    assert_eq!(web["pid"], a.pid());
    assert_eq!(web["alive"], true);
    assert_eq!(web["threads"][0]["tid"], a.pid());
    let key = web["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("{}-", a.pid())), "{key}");

    // one process's view: its fields now and its charts' points as columns
    let v = m.get(&format!("/api/dashboard/view?process={key}")).json();
    assert_eq!(v["process"]["key"], key.as_str());
    assert_eq!(v["step"], 1);
    assert_eq!(v["n"], 600);
    let labels: Vec<&str> = v["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["web.requests", "web.temp"]);
    let req = &v["charts"][0];
    assert_eq!(req["rate"], true);
    let line = &req["lines"][0];
    let at = line["at"].as_u64().unwrap() as usize;
    let values = line["values"].as_array().unwrap();
    assert_eq!(at + values.len(), 600, "the columns end now");
    assert!(values.iter().flatten_numbers().all(|r| r >= 0.0));
    assert!(
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["label"] == "web.temp")
    );

    // since: only later points
    let now = v["now"].as_u64().unwrap();
    let later = m
        .get(&format!(
            "/api/dashboard/view?process={key}&since={}",
            now - 3
        ))
        .json();
    let n = later["n"].as_u64().unwrap();
    assert!((3..=6).contains(&n), "{n} points since {}", now - 3);
    assert_eq!(later["t0"].as_u64().unwrap(), now - 2);

    // select: only what is asked for
    let sel = m
        .get("/api/dashboard/view?process=all&select=web.temp")
        .json();
    assert_eq!(sel["charts"].as_array().unwrap().len(), 1);
    assert_eq!(sel["fields"].as_array().unwrap().len(), 1);

    // one label across processes: a line per process; picked lines by process or combined
    let c = m
        .get(&format!(
            "/api/dashboard/compare?lines=web.requests@*,web.temp@{key},web.requests@all&res=minute"
        ))
        .json();
    let lines = c["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 4, "{c}");
    let pids: Vec<&Value> = lines[..2].iter().map(|l| &l["pid"]).collect();
    assert!(pids.contains(&&Value::from(a.pid())) && pids.contains(&&Value::from(b.pid())));
    assert_eq!(lines[2]["unit"], "celsius");
    assert_eq!(lines[3]["process"], "all");
    assert_eq!(c["step"], 60);
    assert_eq!(c["truncated"], false);

    // bad requests are named
    assert_eq!(m.get("/api/dashboard/view?res=week").status, 400);
    assert_eq!(m.get("/api/dashboard/view?process=1-2").status, 404);
    assert_eq!(m.get("/api/dashboard/compare").status, 400);
}

trait Numbers<'a> {
    fn flatten_numbers(self) -> impl Iterator<Item = f64> + 'a;
}

impl<'a, I: Iterator<Item = &'a Value> + 'a> Numbers<'a> for I {
    fn flatten_numbers(self) -> impl Iterator<Item = f64> + 'a {
        self.filter_map(Value::as_f64)
    }
}
