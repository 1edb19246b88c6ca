//! Files whose label sets are broken (FORMAT.md §3.5): duplicate keys, keys out of order, a
//! value that is not UTF-8, a length past the string area. Every tool names the file and what is
//! wrong, never crashes, and carries on with the good file beside them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mmstats_format::layout::HEADER_LEN;
use mmstats_format::layout::record;
use mmstats_format::{FieldMeta, Identity, Kind, ValueType};
use mmstats_testkit::file::FileBuilder;
use mmstats_tests::{StatsDir, workspace_bin};

/// A pid no process has (above the kernel's largest).
const DEAD_PID: u32 = 0x7fff_fff0;

/// Writes a file with a labelled counter `http.requests{a="1",b="2"}` and a plain counter
/// `good`, after `patch` changed the image; `patch` gets the label set's offset and the
/// record's offset.
fn write(dir: &Path, name: &str, patch: impl Fn(&mut [u8], usize, usize)) -> PathBuf {
    let metas = [
        FieldMeta::new("http.requests", Kind::Counter, ValueType::U64)
            .with_labels([("a", "1"), ("b", "2")]),
        FieldMeta::new("good", Kind::Counter, ValueType::U64),
    ];
    let [labelled, good] = metas;
    let mut image = FileBuilder::with_identity(Identity {
        pid: DEAD_PID,
        tid: DEAD_PID,
        ..Identity::default()
    })
    .field(labelled, Vec::new())
    .field(good, Vec::new())
    .image();
    let set = b"a\x001\x00b\x002\x00";
    let at = image
        .windows(set.len())
        .position(|w| w == set)
        .expect("the label set");
    // the field table starts at offset 256, right after the header (FORMAT.md §1)
    patch(&mut image, at, HEADER_LEN);
    let path = dir.join(format!("{name}.mmstats"));
    std::fs::write(&path, &image).unwrap();
    path
}

/// The broken files, by name, and the reason each error must give.
fn hostile(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    vec![
        (write(dir, "dup", |b, at, _| b[at + 4] = b'a'), "twice"),
        (
            write(dir, "unsorted", |b, at, _| b[at] = b'c'),
            "not sorted",
        ),
        (write(dir, "utf8", |b, at, _| b[at + 2] = 0xff), "UTF-8"),
        (
            write(dir, "past", |b, _, rec| {
                let off = rec + record::LABELS_LENGTH;
                b[off..off + 2].copy_from_slice(&1000u16.to_ne_bytes());
            }),
            "out of bounds",
        ),
    ]
}

fn run(tool: &str, args: &[&str], dir: &StatsDir) -> Output {
    Command::new(workspace_bin(tool))
        .args(args)
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

/// Each bad file is named once with its reason; nothing died of a signal.
fn check(tool: &str, out: &Output, bad: &[(PathBuf, &str)]) {
    assert!(out.status.code().is_some(), "{tool} died: {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    for (path, why) in bad {
        let line = err
            .lines()
            .find(|l| l.contains(&path.display().to_string()))
            .unwrap_or_else(|| panic!("{tool} did not name {}:\n{err}", path.display()));
        assert!(
            line.contains("label set") && line.contains(why),
            "{tool}: {line}"
        );
    }
}

#[test]
fn every_tool_names_each_broken_label_set_and_carries_on() {
    let dir = StatsDir::new();
    let bad = hostile(dir.path());
    let good = dir.path().join("good-1-1.mmstats");
    std::fs::copy(write(dir.path(), "template", |_, _, _| {}), &good).unwrap();
    std::fs::remove_file(dir.path().join("template.mmstats")).unwrap();

    let out = run("slurpstats", &["--json"], &dir);
    check("slurpstats", &out, &bad);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc.to_string()
            .contains(r#"http.requests{a=\"1\",b=\"2\"}"#),
        "{doc}"
    );

    let out = run(
        "pollstats",
        &["--csv", "-d", "0.1", "-c", "2", "good"],
        &dir,
    );
    check("pollstats", &out, &bad);
    assert!(out.status.success(), "{out:?}");

    let out = run("cleanstats", &["--dry-run"], &dir);
    check("cleanstats", &out, &bad);
    for (path, _) in &bad {
        assert!(path.exists(), "a broken file is never removed");
    }

    // mmash lists the errors of its sample and still serves the good file.
    let (_mmash, addr) = crate::metrics_bridge::start_mmash(&dir);
    let (status, body) = crate::metrics_bridge::get(addr, "/api/files");
    assert_eq!(status, 200, "{body}");
    let files: serde_json::Value = serde_json::from_str(&body).unwrap();
    let errors = files["errors"].to_string();
    for (path, why) in &bad {
        assert!(
            errors.contains(&path.display().to_string()) && errors.contains(why),
            "mmash did not name {} ({why}): {errors}",
            path.display()
        );
    }
    let (status, metrics) = crate::metrics_bridge::get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("good_total{"), "{metrics}");
    assert!(metrics.contains(r#"a="1",b="2"} 0"#), "{metrics}");
}
