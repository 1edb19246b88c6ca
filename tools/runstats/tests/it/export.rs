//! Export: CSV that Python's csv module parses with one column per series, NDJSON lines that
//! parse, an Elasticsearch bulk body.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

#[test]
fn csv_parses_with_pythons_csv_module_and_ndjson_lines_parse() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("web");
    record_webserver(stats.path(), &dir, 2, &["--no-report"]);
    let export = |fmt: &str| {
        let o = runstats()
            .arg("export")
            .arg(&dir)
            .arg(fmt)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let csv = export("--csv");
    let series: i64 = {
        let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
        conn.query_row("SELECT count(*) FROM series", [], |r| r.get(0))
            .unwrap()
    };
    // Python reads it: every row as wide as the header, one column per series plus the time
    let script = r#"
import csv, sys
rows = list(csv.reader(sys.stdin))
head = rows[0]
assert head[0] == "time_ms", head[0]
assert all(len(r) == len(head) for r in rows), "ragged rows"
assert len(rows) > 2, "too few rows"
col = head.index([h for h in head if h.endswith("/web.requests.rate")][0])
vals = [float(r[col]) for r in rows[1:] if r[col]]
# (the last tick follows the server's exit: its interval may be a few milliseconds, in which
# the server served nothing)
assert len(vals) > 1 and all(v > 0 for v in vals[:-1]) and vals[-1] >= 0, vals
print(len(head) - 1)
"#;
    let mut py = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    py.stdin.take().unwrap().write_all(csv.as_bytes()).unwrap();
    let o = py.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "python: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let columns: i64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert_eq!(columns, series);

    let nd = export("--ndjson");
    let samples: i64 = {
        let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
        conn.query_row("SELECT count(*) FROM samples", [], |r| r.get(0))
            .unwrap()
    };
    let lines: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len() as i64, samples);
    let started = run_json(&dir)["started_ms"].as_i64().unwrap();
    for l in &lines {
        let t = l["@timestamp"].as_i64().unwrap();
        assert!(t >= started && t < started + 60_000, "{l}");
        assert!(l["value"].is_number() && l["label"].is_string(), "{l}");
    }
    let bulk = export("--es-bulk");
    let bulk: Vec<&str> = bulk.lines().collect();
    assert_eq!(bulk.len(), 2 * lines.len());
    assert!(bulk[0].contains("\"index\""));
}
