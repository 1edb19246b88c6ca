//! `promtool check metrics` accepts what the Prometheus renderer writes for files of every kind.
//! Needs `promtool` (Debian package `prometheus`); fails if it is missing.

mod support;

use mmstats_reader::Scanner;
use mmstats_render::prometheus::{PromOptions, render};
use support::*;

fn promtool_check(text: &str) {
    let (status, said) = promtool(text);
    assert!(
        status == Some(0) && said.trim().is_empty(),
        "promtool rejected the output ({status:?}): {said}\n--- input ---\n{text}"
    );
}

fn scan(dir: &std::path::Path) -> Vec<mmstats_reader::Snapshot> {
    let mut scanner = Scanner::new(vec![dir.join("*.mmstats").to_string_lossy().into_owned()]);
    let scan = scanner.scan();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    scan.snapshots
}

#[test]
fn every_kind_per_process_and_aggregated_passes_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let me = std::process::id();
    write_file(dir.path(), "web-1-2.mmstats", me, 2, &every_kind());
    write_file(dir.path(), "web-1-3.mmstats", me, 3, &every_kind());
    // a file whose pid, tid and cmd collide with the first (it gets a `file` label)
    write_file(dir.path(), "web-1-2.old.mmstats", me, 2, &every_kind());
    let snaps = scan(dir.path());
    assert_eq!(snaps.len(), 3);
    for aggregate in [false, true] {
        let mut out = String::new();
        render(
            &snaps,
            &PromOptions {
                aggregate,
                ..PromOptions::default()
            },
            &mut out,
        );
        for family in [
            "web_requests_total counter",
            "web_temperature_celsius gauge",
            "web_state_info gauge",
            "web_body_bytes summary",
            "web_queue gauge",
            "web_response_size_bytes histogram",
            "web_latency_seconds histogram",
            "web_events summary",
            "web_started_seconds gauge",
        ] {
            assert!(
                out.contains(&format!("# TYPE {family}\n")),
                "no {family} (aggregate: {aggregate}) in\n{out}"
            );
        }
        promtool_check(&out);
    }
}

#[test]
fn promtool_catches_a_broken_exposition() {
    // the check above is only worth something if promtool really rejects bad input
    let (status, said) = promtool("# TYPE x counter\nx{a=\"1\" 2\n");
    assert!(status != Some(0), "{status:?} {said}");
}
