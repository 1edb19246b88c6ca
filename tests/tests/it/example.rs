//! The example server, read while it runs: every thread's file, its counters moving, its timer's
//! percentiles and its text; and nothing left behind when it exits.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mmstats_reader::{Scanner, Value};
use mmstats_tests::{StatsDir, workspace_bin};

#[test]
fn the_example_server_is_readable_while_it_runs() {
    let dir = StatsDir::new();
    let mut server = Command::new(workspace_bin("webserver"))
        .args(["--threads", "3", "--seconds", "4", "--rate", "300"])
        .env("MMSTATS_PATH", dir.path())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the example");
    let pattern = format!("{}/*.mmstats", dir.path().display());
    let mut scanner = Scanner::new(vec![pattern]);

    // Wait for the three worker files and for requests to be handled.
    let deadline = Instant::now() + Duration::from_secs(10);
    let scan = loop {
        let scan = scanner.scan();
        assert!(scan.errors.is_empty(), "{:?}", scan.errors);
        let workers = scan
            .snapshots
            .iter()
            .filter(|s| s.field("web.requests").is_some())
            .count();
        let busy = scan.snapshots.iter().all(|s| match s.field("web.latency") {
            Some(f) => matches!(&f.value, Ok(Value::Histogram(h)) if h.count > 20),
            None => true,
        });
        if workers == 3 && busy {
            break scan;
        }
        assert!(
            Instant::now() < deadline,
            "example never got going: {} workers",
            workers
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    for snap in scan
        .snapshots
        .iter()
        .filter(|s| s.field("web.requests").is_some())
    {
        let f = snap.field("web.latency").expect("timer");
        let exposed = f.derived_values(snap.taken, snap.info.created);
        let get = |name: &str| {
            exposed
                .iter()
                .find(|(l, _)| l == name)
                .unwrap_or_else(|| panic!("no {name} in {exposed:?}"))
                .1
        };
        // Requests take 0.2 ms to 5 ms of sleep, so percentiles are in that range (in ns).
        assert!(get("web.latency.p50") >= 150_000.0, "{exposed:?}");
        assert!(get("web.latency.p99") >= get("web.latency.p50"));
        assert!(get("web.latency.p99") < 50_000_000.0, "{exposed:?}");
        assert!(get("web.latency.count") > 20.0);
        let Ok(Value::Text(path)) = &snap.field("web.last_path").expect("text").value else {
            panic!("last_path unreadable")
        };
        assert!(path.starts_with('/'), "{path:?}");
        let Ok(Value::Histogram(sizes)) =
            &snap.field("web.response_size").expect("histogram").value
        else {
            panic!("response_size unreadable")
        };
        assert!(sizes.min >= 512 && sizes.max < 512 + 64 * 1024, "{sizes:?}");
    }

    // Counters move.
    let total = |scanner: &mut Scanner| -> f64 {
        scanner
            .scan()
            .snapshots
            .iter()
            .filter_map(|s| s.field("web.requests"))
            .filter_map(|f| f.value.as_ref().ok().and_then(Value::primary))
            .sum()
    };
    let before = total(&mut scanner);
    std::thread::sleep(Duration::from_millis(300));
    assert!(total(&mut scanner) > before);

    let status = server.wait().expect("example exits");
    assert!(status.success());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files left after a clean exit: {left:?}");
}

#[test]
fn pollstats_shows_the_example_servers_interval_percentiles() {
    let dir = StatsDir::new();
    let mut server = Command::new(workspace_bin("webserver"))
        .args(["--threads", "2", "--seconds", "6", "--rate", "200"])
        .env("MMSTATS_PATH", dir.path())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the example");
    std::thread::sleep(Duration::from_millis(500));
    let out = Command::new(workspace_bin("pollstats"))
        .args(["--csv", "-d", "1", "-c", "3", "-p", "web."])
        .arg("requests,latency.count,latency.p50,latency.p99")
        .env("MMSTATS_PATH", dir.path())
        .output()
        .expect("run pollstats");
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,requests,latency.count,latency.p50,latency.p99"),
        "{text}"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    // Two threads at 200 requests a second. A starved worker catches up on its schedule, so
    // one interval may run below 400 and the next above: the mean over the intervals is 400.
    let mean = rows.iter().map(|r| r[0]).sum::<f64>() / rows.len() as f64;
    assert!(
        (mean - 400.0).abs() < 60.0,
        "mean request rate {mean} in {text}"
    );
    for r in &rows {
        assert!(
            (r[0] - 400.0).abs() < 200.0,
            "request rate {} in {text}",
            r[0]
        );
        assert!(
            (r[1] - r[0]).abs() < 80.0,
            "requests timed in the interval {} in {text}",
            r[1]
        );
        // requests sleep 0.2 to 1 ms, one in fifty 4 ms more: p50 below p99, both in range
        // (with room for sleeps that overrun on a busy machine)
        assert!(
            r[2] > 150_000.0 && r[2] < 5_000_000.0,
            "p50 {} ns in {text}",
            r[2]
        );
        assert!(
            r[3] >= r[2] && r[3] < 50_000_000.0,
            "p99 {} ns in {text}",
            r[3]
        );
    }
}
