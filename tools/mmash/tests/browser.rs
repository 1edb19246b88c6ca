//! The page in a real headless Chromium, driven through chromedriver's W3C WebDriver API:
//! it loads without console errors, shows a file's field, follows its value, filters with the
//! search box and draws a chart; a screenshot goes to `artifacts/mmash.png`.
//! Needs `chromium` and `chromium-driver` (Debian); fails if they are missing.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let chromedriver = require("chromedriver", "chromium-driver");
        let chromium = require("chromium", "chromium");
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run", "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        // owned by `d` from here on, so a failure below still stops chromedriver
        let mut d = Driver {
            child,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = try_http(addr, "GET", "/status", &[], None)
                && r.json()["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < end, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let r = d.call("POST", "/session", Some(caps));
        d.session = r["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let r = http(self.addr, method, path, &[], body.as_deref());
        let j = r.json();
        assert_eq!(r.status, 200, "{method} {path}: {j}");
        j["value"].clone()
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn exec(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    fn wait(&self, what: &str, script: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.exec(script);
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; last: {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {css}: {v}"))
            .to_string()
    }

    fn console(&self) -> Vec<Value> {
        self.call("POST", &self.s("/se/log"), Some(json!({"type": "browser"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = try_http(self.addr, "DELETE", &self.s(""), &[], None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 byte {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|b| *b != b'=').collect();
        let mut n = 0u32;
        for (i, b) in data.iter().enumerate() {
            n |= val(*b) << (18 - 6 * i);
        }
        for i in 0..data.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

const VALUE_OF_REQUESTS: &str = r#"
    var tr = document.querySelector('tr[data-label="web.requests"]');
    return tr ? tr.querySelector('td.value').textContent : null;
"#;

#[test]
fn page_in_headless_chromium() {
    let stats = tempfile::tempdir().unwrap();
    let me = std::process::id();
    let file = write_file(stats.path(), "web-77-78.mmstats", me, 78, &every_kind());
    write_file(
        stats.path(),
        "worker-77-79.mmstats",
        me,
        79,
        &[counter("jobs.done", 3)],
    );
    let m = Mmash::start(&["--path", stats.path().to_str().unwrap()]);
    m.wait_for("/stats/", Duration::from_secs(20), |r| {
        r.json()["stats"].as_array().is_some_and(|a| a.len() > 3)
    });

    let d = Driver::start();
    d.call(
        "POST",
        &d.s("/url"),
        Some(json!({"url": format!("http://{}/", m.addr)})),
    );

    // the field of the first file appears, then follows the file
    d.wait("web.requests = 42", VALUE_OF_REQUESTS, |v| v == "42");
    file.set_word("web.requests", 0, 777);
    d.wait("web.requests = 777", VALUE_OF_REQUESTS, |v| v == "777");

    // keep the counter moving so the chart has a rate to draw
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let stop = stop.clone();
        let path = file.path.clone();
        let offsets = file.offsets.clone();
        std::thread::spawn(move || {
            let f = TestFile { path, offsets };
            let mut v = 777u64;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                v += 5 + (i * 7) % 11;
                f.set_word("web.requests", 0, v);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // the search box filters fields
    let search = d.find("#search");
    d.call(
        "POST",
        &d.s(&format!("/element/{search}/value")),
        Some(json!({"text": "latency"})),
    );
    let shown = d.wait(
        "the filter",
        "return Array.from(document.querySelectorAll('tr.field')).map(function (t) { return t.dataset.label; });",
        |v| v.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|l| l.as_str().unwrap().contains("latency"))),
    );
    assert_eq!(shown, json!(["web.latency"]));
    d.call(
        "POST",
        &d.s(&format!("/element/{search}/clear")),
        Some(json!({})),
    );
    d.wait(
        "the filter to clear",
        "return document.querySelectorAll('tr.field').length;",
        |v| v.as_u64().unwrap_or(0) >= 10,
    );

    // text fields show their text; timers their percentiles
    let state = d.exec(
        "return document.querySelector('tr[data-label=\"web.state\"] td.value').textContent;",
    );
    assert_eq!(state, json!("serving \"all\"\nok"));
    let lat = d.exec(
        "return document.querySelector('tr[data-label=\"web.latency\"] td.value').textContent;",
    );
    assert!(lat.as_str().unwrap().starts_with("p50 "), "{lat}");
    assert_eq!(
        d.exec("return document.querySelectorAll('td.value.err').length;"),
        json!(0)
    );

    // clicking a counter draws its rate
    let row = d.find("tr[data-label=\"web.requests\"]");
    d.call(
        "POST",
        &d.s(&format!("/element/{row}/click")),
        Some(json!({})),
    );
    d.wait(
        "a chart with points",
        r#"
        var c = document.querySelector('#chart .uplot canvas');
        if (!c || c.width < 100) { return 0; }
        var u = document.querySelector('#chart-title').textContent;
        return u === 'web.requests' ? c.width : 0;
        "#,
        |v| v.as_u64().unwrap_or(0) >= 100,
    );
    // let a few rate points accumulate for the screenshot
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
    assert_eq!(
        d.exec("return document.querySelector('#chart-panel').hidden;"),
        json!(false)
    );

    // files are listed under their processes, and selectable
    let files = d.exec("return document.querySelectorAll('#files li.thread').length;");
    assert_eq!(files, json!(2));
    let procs = d.exec("return document.querySelectorAll('#files li.proc').length;");
    assert!(
        procs.as_u64().is_some_and(|n| (1..=2).contains(&n)),
        "{procs}"
    );

    // the host section shows the machine's resources, with charts of their history
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
        "return document.querySelectorAll('#host-charts .uplot canvas').length;",
        |v| v.as_u64().unwrap_or(0) >= 3,
    );

    let png = d.call("GET", &d.s("/screenshot"), None);
    let png = base64_decode(png.as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::write(artifacts_dir().join("mmash.png"), &png).unwrap();

    let severe: Vec<Value> = d
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:?}");
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
