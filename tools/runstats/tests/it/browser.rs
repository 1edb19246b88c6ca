//! A report page in a real headless Chromium, driven through chromedriver's W3C WebDriver API
//! on 127.0.0.1. Needs `chromium` and `chromium-driver` (Debian); fails if they are missing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// Finds a program or panics with what to install: tests needing it fail, never skip.
fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{program}` not found: install the Debian package `{package}`"))
}

/// One HTTP/1.1 exchange with chromedriver: (status, JSON body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the headers ended"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut d = Driver {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            session: String::new(),
            _profile: profile,
        };
        let end = Instant::now() + Duration::from_secs(30);
        while !http(d.addr, "GET", "/status", None).is_ok_and(|(_, v)| v["value"]["ready"] == true)
        {
            assert!(Instant::now() < end, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run", "--disable-sync",
                    "--window-size=1280,1600",
                    format!("--user-data-dir={}", d._profile.path().display()),
                ]
            }
        }}});
        let v = d.call("POST", "/session", Some(caps));
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .into();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = http(self.addr, method, path, body.as_ref()).unwrap();
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
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

    fn log(&self, kind: &str) -> Vec<Value> {
        self.call("POST", &self.s("/se/log"), Some(json!({"type": kind})))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(self.addr, "DELETE", &self.s(""), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CHARTS: &str = r#"
    return Array.from(document.querySelectorAll('img.chart')).map(function (i) {
        var r = i.getBoundingClientRect(), st = getComputedStyle(i);
        return {loaded: i.complete && i.naturalWidth === 960 && i.naturalHeight === 400,
                shown: r.width > 100 && r.height > 40 && st.display !== 'none'
                       && st.visibility !== 'hidden' && st.opacity !== '0',
                alt: i.alt};
    });
"#;

/// Opens `page` and checks that it shows `charts` loaded, visible charts, that nothing but the
/// file itself and its data URIs was requested, and that the console stayed free of errors;
/// returns a screenshot (PNG).
pub(crate) fn check_page(page: &Path, charts: usize) -> Vec<u8> {
    let d = Driver::start();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    d.call("POST", &d.s("/url"), Some(json!({"url": url})));
    let found = d.exec(CHARTS);
    let found = found.as_array().expect("a list of charts");
    assert_eq!(found.len(), charts, "{found:?}");
    for c in found {
        assert_eq!(c["loaded"], true, "chart not loaded: {c}");
        assert_eq!(c["shown"], true, "chart not visible: {c}");
    }
    // Every chart scrolled into view is still drawn (not clipped away).
    let seen = d.exec(
        "var n = 0; document.querySelectorAll('img.chart').forEach(function (i) { \
         i.scrollIntoView(); var r = i.getBoundingClientRect(); \
         if (r.bottom > 0 && r.top < window.innerHeight) n++; }); window.scrollTo(0, 0); return n;",
    );
    assert_eq!(seen, json!(charts));
    // No request left the file: the network log holds only the page itself and data URIs.
    let resources = d.exec(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })\
         .filter(function (n) { return n.indexOf('data:') !== 0; });",
    );
    assert_eq!(resources, json!([]), "resources fetched");
    let mut requests = 0;
    for entry in d.log("performance") {
        let msg: Value = serde_json::from_str(entry["message"].as_str().unwrap_or("{}")).unwrap();
        if msg["message"]["method"] == "Network.requestWillBeSent" {
            let params = &msg["message"]["params"];
            let req_url = params["request"]["url"].as_str().unwrap_or("");
            // the browser's own start page loads before ours: only the network counts there
            assert!(
                !req_url.starts_with("http"),
                "a request went out: {req_url}"
            );
            if params["documentURL"] == url.as_str() {
                assert!(
                    req_url == url || req_url.starts_with("data:"),
                    "a request left the file: {req_url}"
                );
                requests += 1;
            }
        }
    }
    assert!(
        requests >= 1,
        "the page's own load is not in the network log"
    );
    let errors: Vec<Value> = d
        .log("browser")
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let shot = d.call("GET", &d.s("/screenshot"), None);
    base64::engine::general_purpose::STANDARD
        .decode(shot.as_str().expect("screenshot"))
        .expect("base64 screenshot")
}
