//! The page in a real headless Chromium (1400 × 1000), driven through chromedriver's W3C
//! WebDriver API, over files the tests write and change while it runs: charts of every counter
//! and timer without a click, units, whole pids, overlays across processes, views that links
//! reproduce, the units table, keyboard use, no request leaving 127.0.0.1, and the time to the
//! first chart with 1,000 files. Screenshots of each state go to `artifacts/mmash/`.
//! Needs `chromium` and `chromium-driver` (Debian); fails if they are missing.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mmstats_testkit::webdriver::Driver;
use serde_json::{Value, json};
use support::*;

/// Saves a screenshot of the page as `artifacts/mmash/<name>.png`.
fn screenshot(d: &Driver, name: &str) {
    let png = d.screenshot();
    let dir = artifacts_dir().join("mmash");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
}

/// Keeps counters and timers of test files moving until dropped: each counter grows every
/// 200 ms, each timer records a spread of 2 to 20 ms latencies every second.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    fn start(files: Vec<(WrittenFile, Vec<&'static str>, Vec<&'static str>)>) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut i = 0u64;
            let mut latencies: Vec<u64> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                for (n, (f, counters, timers)) in files.iter().enumerate() {
                    for c in counters {
                        f.set_word(c, 0, 1000 + i * (5 + n as u64 * 7) + (i * 7) % 11);
                    }
                    if i.is_multiple_of(5) {
                        for t in timers {
                            f.set_words(
                                t,
                                1,
                                &histogram_words(mmstats_format::Kind::Timer, &latencies),
                            );
                            // a new, even sequence word: readers copy the value again
                            f.set_word(t, 0, 2 * i);
                        }
                    }
                }
                if i.is_multiple_of(5) {
                    latencies.extend(
                        (0..50).map(|k| 2_000_000 + (k * 360_000 + i * 1_000) % 18_000_000),
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn gauge_u64(label: &str, v: u64) -> Spec {
    Spec {
        meta: meta(
            label,
            mmstats_format::Kind::Gauge,
            mmstats_format::ValueType::U64,
            "",
            "an id",
        ),
        words: vec![v],
    }
}

/// The labels of `kinds` the view of all processes lists (ids left out, as the page does).
fn labels_of_kinds(m: &Mmash, kinds: &[&str]) -> Vec<String> {
    let v = m.get("/api/dashboard/view?process=all").json();
    v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| kinds.contains(&f["kind"].as_str().unwrap()))
        .map(|f| f["label"].as_str().unwrap().to_string())
        .filter(|l| !l.ends_with(".pid"))
        .collect()
}

/// How many lines with points the chart inside `css` has.
fn lines_with_points(d: &Driver, css: &str) -> u64 {
    d.exec(&format!(
        "return Array.from(document.querySelectorAll('{css} path.line')).filter(function (p) {{ return (p.getAttribute('d') || '').length > 0; }}).length;"
    ))
    .as_u64()
    .unwrap_or(0)
}

/// An mmash watching `dir` once it lists `processes` processes, a browser on its page, and
/// the page's address.
fn open_page(dir: &std::path::Path, processes: usize) -> (Mmash, Driver, String) {
    let m = Mmash::start(&["--path", dir.to_str().unwrap()]);
    m.wait_for("/api/dashboard/processes", Duration::from_secs(20), |r| {
        r.json()["processes"]
            .as_array()
            .is_some_and(|a| a.len() == processes)
    });
    let base = format!("http://{}/", m.addr);
    let d = Driver::start(1400, 1000);
    d.goto(&base);
    (m, d, base)
}

/// Waits up to `secs` seconds until the chart inside `css` has at least `lines` lines with
/// points.
fn wait_for_points(d: &Driver, css: &str, lines: u64, secs: u64, what: &str) {
    let end = Instant::now() + Duration::from_secs(secs);
    while lines_with_points(d, css) < lines {
        assert!(Instant::now() < end, "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Without any click, a chart with points for each of `labels`.
fn wait_for_charts(d: &Driver, labels: &[String]) {
    for label in labels {
        let css = format!("figure.card[data-label=\"{label}\"]");
        wait_for_points(d, &css, 1, 30, &format!("no chart with points for {label}"));
    }
}

/// Waits until the latency chart's axis has at least `ticks` ticks, all in milliseconds, and
/// returns them.
fn latency_ticks_in_ms(d: &Driver, ticks: usize) -> Value {
    d.wait(
        "latency ticks in ms",
        "return Array.from(document.querySelectorAll('figure.card[data-label=\"web.latency\"] text.ytick')).map(function (t) { return t.textContent; });",
        |v| v.as_array().is_some_and(|a| a.len() >= ticks && a.iter().all(|t| t.as_str().unwrap().ends_with("ms"))),
    )
}

/// The process list shows each of `pids` whole.
fn assert_pids_listed(d: &Driver, pids: &[u32]) {
    let procs = d.exec(
        "return Array.from(document.querySelectorAll('#procs .pid')).map(function (e) { return e.textContent; });",
    );
    for pid in pids {
        assert!(
            procs
                .as_array()
                .unwrap()
                .contains(&json!(format!("pid {pid}"))),
            "{procs}"
        );
    }
}

/// Overlays `web.requests` across processes: `lines` lines, each with points.
fn overlay_requests(d: &Driver, lines: u64) {
    d.click("figure.card[data-label=\"web.requests\"] button.overlay");
    d.wait(
        &format!("{lines} lines in the overlay"),
        "return document.querySelectorAll('#compare-chart path.line').length;",
        |v| v.as_u64() == Some(lines),
    );
    wait_for_points(
        d,
        "#compare-chart",
        lines,
        20,
        "the overlay's lines have no points",
    );
}

fn assert_no_console_errors(d: &Driver) {
    let severe: Vec<Value> = d
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}

#[test]
fn dashboard_in_headless_chromium() {
    let stats = tempfile::tempdir().unwrap();
    let (a, b) = (Sleeper::start(), Sleeper::start());
    let (pa, pb) = (a.pid(), b.pid());
    let mut specs_a = every_kind();
    specs_a.push(gauge_u64("sys.pid", 13_937));
    let fa = write_file(
        stats.path(),
        &format!("web-{pa}-{pa}.mmstats"),
        pa,
        pa,
        &specs_a,
    );
    let specs_b = vec![
        counter("web.requests", 5),
        histogram(
            "web.latency",
            mmstats_format::Kind::Timer,
            "nanoseconds",
            &[2_000_000],
        ),
    ];
    let fb = write_file(
        stats.path(),
        &format!("worker-{pb}-{pb}.mmstats"),
        pb,
        pb,
        &specs_b,
    );
    let _ticker = Ticker::start(vec![
        (fa, vec!["web.requests"], vec!["web.latency"]),
        (fb, vec!["web.requests"], vec!["web.latency"]),
    ]);
    // and one whose writer has exited
    let gone = {
        let s = Sleeper::start();
        s.pid()
    };
    write_file(
        stats.path(),
        &format!("gone-{gone}-{gone}.mmstats"),
        gone,
        gone,
        &[counter("web.requests", 9)],
    );
    let (m, d, base) = open_page(stats.path(), 3);

    // without any click: a chart with points for every counter and timer
    let charted = labels_of_kinds(&m, &["counter", "timer"]);
    assert!(charted.len() >= 2, "{charted:?}");
    wait_for_charts(&d, &charted);
    // every other numeric kind too: gauges, averages, histograms, windows
    for label in labels_of_kinds(&m, &["gauge", "average", "histogram", "windowed"]) {
        let n = d.exec(&format!(
            "return document.querySelectorAll('figure.card[data-label=\"{label}\"] svg').length;"
        ));
        assert_eq!(n, json!(1), "a chart for {label}");
    }
    // a timer's chart has its three percentiles, named
    let names = d.exec(
        "return Array.from(document.querySelectorAll('figure.card[data-label=\"web.latency\"] path.line')).map(function (p) { return p.dataset.name; });",
    );
    assert_eq!(names, json!(["p50", "p90", "p99"]));
    // its axis is in milliseconds
    let ticks = latency_ticks_in_ms(&d, 3);
    assert!(ticks[1].as_str().unwrap() != "0ms", "{ticks}");
    // a counter's chart is a rate per second
    let rate_ticks = d.exec(
        "return Array.from(document.querySelectorAll('figure.card[data-label=\"web.requests\"] text.ytick')).map(function (t) { return t.textContent; });",
    );
    assert!(
        rate_ticks
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().unwrap().ends_with("/s")),
        "{rate_ticks}"
    );
    // a sparkline in every row that has a history
    let missing = d.wait(
        "sparklines",
        r#"return Array.from(document.querySelectorAll('tr.field')).filter(function (tr) {
            var k = tr.querySelector('td.kind').textContent;
            return ['counter', 'gauge', 'timer', 'histogram', 'average', 'windowed'].indexOf(k) >= 0
              && tr.dataset.label !== 'sys.pid'
              && !tr.querySelector('td.spark-cell svg.spark path');
        }).map(function (tr) { return tr.dataset.label; });"#,
        |v| v.as_array().is_some_and(|a| a.is_empty()),
    );
    assert_eq!(missing, json!([]));
    // a few seconds of lines for a person to look at
    d.wait(
        "a few points of web.requests",
        "return (document.querySelector('figure.card[data-label=\"web.requests\"] path.line').getAttribute('d').match(/L/g) || []).length;",
        |v| v.as_u64().unwrap_or(0) >= 4,
    );
    screenshot(&d, "overview");

    // the host's resources, with charts of their history
    d.wait(
        "the host section",
        r#"
        var p = document.querySelector('#host-panel');
        var c = document.querySelector('.host-cell[data-name="cpu"] .value');
        return p && !p.hidden && c ? c.textContent : '';
        "#,
        |v| v.as_str().is_some_and(|s| s.ends_with('%')),
    );
    d.wait(
        "the host charts",
        "return document.querySelectorAll('#host-charts svg path.line').length;",
        |v| v.as_u64().unwrap_or(0) >= 3,
    );
    let mem_ticks = d.exec(
        "return Array.from(document.querySelectorAll('#host-chart-1 text.ytick')).map(function (t) { return t.textContent; });",
    );
    assert!(
        mem_ticks
            .as_array()
            .unwrap()
            .iter()
            .skip(1)
            .all(|t| t.as_str().unwrap().ends_with("iB")),
        "memory in IEC units: {mem_ticks}"
    );

    // a row keeps the keyboard's focus while its values update
    d.exec("document.querySelector('tr[data-label=\"web.requests\"]').focus(); return null;");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        d.exec("return document.activeElement.dataset ? document.activeElement.dataset.label || null : null;"),
        json!("web.requests")
    );
    d.exec("window.scrollTo(0, 0); return null;");

    // pids whole, in the process list and in the table
    assert_pids_listed(&d, &[pa, pb]);
    let pid = d.wait(
        "sys.pid in the table",
        "var tr = document.querySelector('tr[data-label=\"sys.pid\"]'); return tr ? tr.querySelector('td.value').textContent : null;",
        |v| !v.is_null(),
    );
    assert_eq!(pid, json!("13937"));
    let total = d.exec(
        "return document.querySelector('tr[data-label=\"web.requests\"] td.value').textContent;",
    );
    assert!(
        total.as_str().unwrap().bytes().all(|c| c.is_ascii_digit()),
        "a counter's total is whole: {total}"
    );

    // the exited process is marked so
    let exited = d.exec(&format!(
        "var li = document.querySelector('#procs li[data-key^=\"{gone}-\"]'); return li ? [li.className, li.querySelector('.state').textContent] : null;"
    ));
    assert_eq!(exited[1], json!("exited"), "{exited}");
    assert!(exited[0].as_str().unwrap().contains("dead"), "{exited}");

    // overlay one label across processes: one line per process, the exited one too
    overlay_requests(&d, 3);
    let legend = d.exec("return document.querySelector('#compare-legend').textContent;");
    let legend = legend.as_str().unwrap();
    assert!(
        legend.contains(&format!("web {pa}"))
            && legend.contains(&format!("worker {pb}"))
            && legend.contains(&format!("gone {gone} (exited)")),
        "{legend}"
    );
    screenshot(&d, "overlay");

    // pick a second label into the same chart
    d.click("figure.card[data-label=\"web.latency\"] button.pick");
    d.wait(
        "four lines",
        "return document.querySelectorAll('#compare-chart path.line').length;",
        |v| v == 4,
    );
    screenshot(&d, "picked");

    // another process, another range: the address keeps it all
    d.click(&format!("#procs li[data-key^=\"{pb}-\"] button"));
    d.wait(
        "the worker's view",
        "return document.querySelector('#view-title').textContent;",
        |v| v.as_str().is_some_and(|s| s == format!("worker {pb}")),
    );
    d.click("#res button[data-res=\"minute\"]");
    let url = d.exec("return location.href;");
    let url = url.as_str().unwrap().to_string();
    assert!(
        url.contains("overlay=web.requests") && url.contains("res=minute"),
        "{url}"
    );
    d.goto("about:blank");
    d.goto(&url);
    d.wait(
        "the same view from the link",
        "return document.querySelector('#view-title').textContent;",
        |v| v.as_str().is_some_and(|s| s == format!("worker {pb}")),
    );
    assert_eq!(
        d.exec("return document.querySelector('#res button[data-res=\"minute\"]').getAttribute('aria-pressed');"),
        json!("true")
    );
    d.wait(
        "the compare chart from the link",
        "return document.querySelectorAll('#compare-chart path.line').length;",
        |v| v == 4,
    );
    let title = d.exec("return document.querySelector('#compare-title').textContent;");
    assert_eq!(
        title,
        json!("web.requests across processes and picked labels")
    );
    screenshot(&d, "link");

    // the page writes every row of the units table as the Rust renderer does
    let table: Value = serde_json::from_str(include_str!("units.json")).unwrap();
    let got = d.call(
        "POST",
        &d.session_path("/execute/sync"),
        Some(json!({
            "script": "return arguments[0].map(function (r) { return r.form === 'compact' ? mmashUnits.compact(r.value, r.unit) : mmashUnits.whole(r.value); });",
            "args": [table["rows"]],
        })),
    );
    let want: Vec<Value> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].clone())
        .collect();
    assert_eq!(got, Value::Array(want));

    // keyboard: arrows move between processes, Enter selects one
    d.goto(&base);
    d.wait(
        "the process list",
        "return document.querySelectorAll('#procs button.pick-proc').length;",
        |v| v == 4,
    );
    d.exec("document.querySelector('#procs button.pick-proc').focus(); return null;");
    d.keys("#procs button.pick-proc", "\u{E015}");
    let focused = d.exec("return document.activeElement.closest('li').dataset.key;");
    assert_ne!(focused, json!("all"), "ArrowDown moved the focus");
    d.call(
        "POST",
        &d.session_path("/actions"),
        Some(json!({"actions": [{"type": "key", "id": "k", "actions": [
        {"type": "keyDown", "value": "\u{E007}"}, {"type": "keyUp", "value": "\u{E007}"}]}]})),
    );
    d.wait(
        "the process chosen with the keyboard",
        "return location.hash;",
        |v| {
            v.as_str()
                .is_some_and(|h| h.contains(&format!("process={}", focused.as_str().unwrap())))
        },
    );
    // every control has a name, every chart a description
    let unnamed = d.exec(
        "return Array.from(document.querySelectorAll('button, input')).filter(function (b) { return !(b.getAttribute('aria-label') || b.textContent.trim() || (b.labels && b.labels.length)); }).length;",
    );
    assert_eq!(unnamed, json!(0));
    let undescribed = d.exec(
        "return Array.from(document.querySelectorAll('figure.card svg')).filter(function (s) { return s.getAttribute('role') !== 'img' || !s.getAttribute('aria-label'); }).length;",
    );
    assert_eq!(undescribed, json!(0));

    // nothing was asked of any machine but mmash's
    let urls = d.requested_urls();
    assert!(urls.len() > 10, "{urls:?}");
    // (chrome://, data: and about: pages are the browser's own, never the network's)
    let foreign: Vec<&String> = urls
        .iter()
        .filter(|u| !u.starts_with(&base))
        .filter(|u| {
            ["http:", "https:", "ws:", "wss:", "ftp:"]
                .iter()
                .any(|s| u.starts_with(s))
        })
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.starts_with(&format!("{base}api/dashboard/view"))),
        "{urls:?}"
    );
    assert!(
        foreign.is_empty(),
        "requests that left 127.0.0.1: {foreign:?}"
    );
    assert_no_console_errors(&d);
    drop((a, b));
}

/// Time to the first chart with points, with 1,000 files (100 processes of 10 threads, 50
/// fields each), and the JSON the page pulled until then; written to
/// `artifacts/mmash/thousand-files.json`. The budget is documented in tools/mmash/README.md.
#[test]
fn dashboard_first_chart_with_1000_files() {
    const FIRST_CHART_BUDGET_MS: f64 = 4_000.0;
    const FIRST_LOAD_JSON_BUDGET: f64 = 2_000_000.0;
    let stats = tempfile::tempdir().unwrap();
    let sleepers: Vec<Sleeper> = (0..100).map(|_| Sleeper::start()).collect();
    let mut specs = Vec::new();
    for i in 0..30 {
        specs.push(counter(&format!("app.c{i:02}"), i));
    }
    for i in 0..10 {
        specs.push(gauge_f64(
            &format!("app.g{i:02}"),
            "bytes",
            1024.0 * i as f64,
        ));
    }
    for i in 0..4 {
        specs.push(text(&format!("app.t{i}"), mmstats_format::Kind::Text, "ok"));
    }
    for i in 0..2 {
        specs.push(histogram(
            &format!("app.h{i}"),
            mmstats_format::Kind::Histogram,
            "bytes",
            &[10, 2000, 40_000],
        ));
        specs.push(histogram(
            &format!("app.lat{i}"),
            mmstats_format::Kind::Timer,
            "nanoseconds",
            &[50_000, 1_200_000],
        ));
        specs.push(Spec {
            meta: meta(
                &format!("app.avg{i}"),
                mmstats_format::Kind::Average,
                mmstats_format::ValueType::U64,
                "bytes",
                "avg",
            ),
            words: vec![4, 4096],
        });
    }
    assert_eq!(specs.len(), 50);
    for s in &sleepers {
        for t in 0..10 {
            let pid = s.pid();
            write_file(
                stats.path(),
                &format!("app-{pid}-{}.mmstats", pid * 16 + t),
                pid,
                pid * 16 + t,
                &specs,
            );
        }
    }
    let m = Mmash::start(&["--path", stats.path().to_str().unwrap()]);
    // two samples, so the history has points
    m.wait_for(
        "/api/dashboard/view?process=all&select=app.g00",
        Duration::from_secs(60),
        |r| {
            r.json()["charts"][0]["lines"][0]["values"]
                .as_array()
                .is_some_and(|v| v.iter().filter(|x| !x.is_null()).count() >= 2)
        },
    );
    assert_eq!(
        m.get("/api/dashboard/processes").json()["processes"]
            .as_array()
            .unwrap()
            .len(),
        100
    );

    let d = Driver::start(1400, 1000);
    d.goto(&format!("http://{}/", m.addr));
    let first = d.wait(
        "the first chart",
        "return window.mmashFirstChart || null;",
        |v| v.is_number(),
    );
    let first = first.as_f64().unwrap();
    let cards = d.wait(
        "every chart",
        "return document.querySelectorAll('figure.card').length;",
        |v| v.as_u64().unwrap_or(0) >= 46,
    );
    let pulled = d.exec(
        r#"return performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/api/') >= 0; })
            .map(function (e) { return { url: e.name.replace(location.origin, ''), bytes: e.decodedBodySize, ms: e.duration }; });"#,
    );
    let json_bytes: f64 = pulled
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bytes"].as_f64().unwrap_or(0.0))
        .sum();
    let report = json!({
        "files": 1000, "processes": 100, "fields_per_file": 50,
        "first_chart_ms": first, "charts": cards, "json_requests": pulled, "json_bytes": json_bytes,
        "budget_first_chart_ms": FIRST_CHART_BUDGET_MS,
    });
    let dir = artifacts_dir().join("mmash");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("thousand-files.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    eprintln!("1,000 files: {report}");
    screenshot(&d, "thousand-files");
    assert!(
        first < FIRST_CHART_BUDGET_MS,
        "first chart after {first:.0} ms: {report}"
    );
    assert!(
        json_bytes < FIRST_LOAD_JSON_BUDGET,
        "{json_bytes} bytes of JSON: {report}"
    );
    assert_no_console_errors(&d);
}

/// The example server, run twice as a user would (two processes of two worker threads each),
/// and the page of an mmash watching them: the same promises as above on real files.
#[test]
fn dashboard_of_the_example_server() {
    struct Server(Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stats = tempfile::tempdir().unwrap();
    let start = || {
        Server(
            Command::new(workspace_bin("webserver"))
                .args(["--threads", "2", "--seconds", "120", "--rate", "100"])
                .env("MMSTATS_PATH", stats.path())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the example server"),
        )
    };
    let (a, b) = (start(), start());
    let (pa, pb) = (a.0.id(), b.0.id());
    let (m, d, _) = open_page(stats.path(), 2);

    // without any click: a chart with points for every counter and timer of the example
    let charted = labels_of_kinds(&m, &["counter", "timer"]);
    assert!(
        charted.iter().any(|l| l == "web.requests") && charted.iter().any(|l| l == "web.latency"),
        "{charted:?}"
    );
    wait_for_charts(&d, &charted);
    // the latency chart's axis is in milliseconds (requests take 0.2 to 5 ms; how many ticks
    // depends on the range the requests of this run took)
    latency_ticks_in_ms(&d, 2);
    // pids whole, in the process list
    assert_pids_listed(&d, &[pa, pb]);
    screenshot(&d, "example-overview");

    // two processes overlaid: two lines, each with points
    overlay_requests(&d, 2);
    screenshot(&d, "example-overlay");

    // the URL of the view reproduces it
    let url = d.exec("return location.href;");
    let url = url.as_str().unwrap().to_string();
    assert!(url.contains("overlay=web.requests"), "{url}");
    d.goto("about:blank");
    d.goto(&url);
    d.wait(
        "the overlay from the link",
        "return document.querySelectorAll('#compare-chart path.line').length;",
        |v| v == 2,
    );
    screenshot(&d, "example-link");
    assert_no_console_errors(&d);
}

#[test]
fn files_that_cannot_be_read_are_listed_under_the_processes() {
    let stats = tempfile::tempdir().unwrap();
    let a = Sleeper::start();
    let pa = a.pid();
    write_file(
        stats.path(),
        &format!("web-{pa}-{pa}.mmstats"),
        pa,
        pa,
        &[counter("web.requests", 5)],
    );
    let bad = stats.path().join("bad.mmstats");
    std::fs::write(&bad, b"hello\n").unwrap();
    let (_m, d, _base) = open_page(stats.path(), 1);
    let listed = d.wait(
        "the unreadable file listed",
        "var box = document.getElementById('errors'); return box.hidden ? null : Array.from(document.querySelectorAll('#error-list li')).map(function (li) { return li.textContent; });",
        |v| v.as_array().is_some_and(|a| !a.is_empty()),
    );
    let want = format!("{}: not an mmstats file", bad.display());
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with(&want)),
        "{listed}"
    );
    assert_eq!(
        d.exec("return document.getElementById('errors-count').textContent;"),
        json!("1 file could not be read")
    );
    screenshot(&d, "unreadable-file");
    assert!(
        d.exec("return document.querySelector('#procs > li').textContent;")
            .as_str()
            .unwrap()
            .ends_with("1 process"),
        "the count of processes is singular for one"
    );
    // gone from the page once the file is gone
    std::fs::remove_file(&bad).unwrap();
    d.wait(
        "the list hidden again",
        "return document.getElementById('errors').hidden;",
        |v| *v == json!(true),
    );
    assert_no_console_errors(&d);
}
