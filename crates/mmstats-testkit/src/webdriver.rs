//! A headless Chromium driven through chromedriver's W3C WebDriver API on 127.0.0.1, for tests
//! of pages in a real browser. Needs the Debian packages `chromium` and `chromium-driver`; a
//! test that needs them fails when they are missing.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::http::{free_port, http, try_http};
use crate::program::require;

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver and one browser session; both end on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver and a headless Chromium whose window is `width` × `height`, logging
    /// the browser console and the network (see [`Driver::log`]).
    pub fn start(width: u32, height: u32) -> Driver {
        let chromedriver = require("chromedriver", "chromium-driver");
        let chromium = require("chromium", "chromium");
        let port = free_port();
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            // the browser's own scratch directories go inside the profile, removed with it
            .env("TMPDIR", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run", "--disable-sync",
                    format!("--window-size={width},{height}"),
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

    /// One WebDriver command: its `value`, after checking the answer is 200.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let r = http(self.addr, method, path, &[], body.as_deref());
        let j = r.json();
        assert_eq!(r.status, 200, "{method} {path}: {j}");
        j["value"].clone()
    }

    /// `path` under this session.
    pub fn session_path(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Runs `script` in the page; what it returns.
    pub fn exec(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Runs `script` every 200 ms until `ok` accepts what it returns (within 30 s, else the
    /// test fails naming `what`).
    pub fn wait(&self, what: &str, script: &str, ok: impl Fn(&Value) -> bool) -> Value {
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

    /// The reference of the element `css` selects (the test fails if there is none).
    pub fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.session_path("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {css}: {v}"))
            .to_string()
    }

    /// The entries of a log (`browser`: the console; `performance`: the network) since the
    /// last call.
    pub fn log(&self, kind: &str) -> Vec<Value> {
        self.call(
            "POST",
            &self.session_path("/se/log"),
            Some(json!({"type": kind})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
    }

    /// The browser console's entries since the last call.
    pub fn console(&self) -> Vec<Value> {
        self.log("browser")
    }

    /// Every URL the browser asked for since the last call (from its network log).
    pub fn requested_urls(&self) -> Vec<String> {
        self.log("performance")
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
            .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
            .filter_map(|m| {
                Some(
                    m["message"]["params"]["request"]["url"]
                        .as_str()?
                        .to_string(),
                )
            })
            .collect()
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({"url": url})),
        );
    }

    /// Clicks the element `css` selects.
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.session_path(&format!("/element/{e}/click")),
            Some(json!({})),
        );
    }

    /// Types `keys` (WebDriver key codes allowed) into the element `css` selects.
    pub fn keys(&self, css: &str, keys: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &self.session_path(&format!("/element/{e}/value")),
            Some(json!({"text": keys})),
        );
    }

    /// A PNG of the window (checked to be one).
    pub fn screenshot(&self) -> Vec<u8> {
        let png = self.call("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("base64 screenshot");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        png
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = try_http(self.addr, "DELETE", &self.session_path(""), &[], None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
