//! A report page in a real headless Chromium, driven through chromedriver's W3C WebDriver API
//! on 127.0.0.1. Needs `chromium` and `chromium-driver` (Debian); fails if they are missing.

use std::path::Path;

use mmstats_testkit::webdriver::Driver;
use serde_json::{Value, json};

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
    let d = Driver::start(1280, 1600);
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    d.goto(&url);
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
    d.screenshot()
}
