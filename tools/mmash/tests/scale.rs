//! Scrapes of many files: complete (every series present, `promtool check metrics` parses
//! it) even when asked for while mmash's first scan is still reading them, and narrowed by
//! `match[]`. Needs `promtool` (Debian package `prometheus`); fails if it is missing.

mod support;

use support::*;

/// Files of one process (one series each with `--per-thread`).
const FILES: u32 = 10_000;

#[test]
fn a_scrape_of_ten_thousand_files_during_the_first_scan_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let me = std::process::id();
    for tid in 1..=FILES {
        write_file(
            dir.path(),
            &format!("small-{me}-{tid}.mmstats"),
            me,
            tid,
            &[
                counter("small.requests", u64::from(tid)),
                gauge_f64("small.level", "bytes", f64::from(tid)),
            ],
        );
    }
    let m = Mmash::start(&[
        "--per-thread",
        "--no-resources",
        "--path",
        dir.path().to_str().unwrap(),
    ]);
    // Asked at once: the first scan of thousands of files is still running.
    let r = m.get("/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    let series = |body: &str, name: &str| {
        body.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .count()
    };
    assert_eq!(series(&r.body, "small_requests_total"), FILES as usize);
    assert_eq!(series(&r.body, "small_level_bytes"), FILES as usize);
    for tid in [1, FILES / 2, FILES] {
        let line = format!("tid=\"{tid}\"");
        assert!(
            r.body
                .lines()
                .any(|l| l.starts_with("small_requests_total{")
                    && l.contains(&line)
                    && l.ends_with(&format!(" {tid}"))),
            "no series of thread {tid}"
        );
    }
    let (status, said) = promtool(&r.body);
    assert!(
        status == Some(0) && said.trim().is_empty(),
        "promtool: {said}"
    );

    // Narrowed to one family by name, as Prometheus' federation asks.
    let r = m.get("/metrics?match%5B%5D=small_level_bytes");
    assert_eq!(r.status, 200);
    assert_eq!(series(&r.body, "small_level_bytes"), FILES as usize);
    assert_eq!(series(&r.body, "small_requests_total"), 0);
    assert!(r.body.contains("# TYPE small_level_bytes gauge\n"));
    assert!(!r.body.contains("small_requests"));
    let r = m.get("/metrics?match[]=small_requests_total&match[]=no_such_metric");
    assert_eq!(series(&r.body, "small_requests_total"), FILES as usize);
    assert_eq!(series(&r.body, "small_level_bytes"), 0);
}
