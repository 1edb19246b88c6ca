//! `format-spec/reference/read_mmstats.py`, a reader written in Python from FORMAT.md alone,
//! reads every test vector exactly as the vector's JSON says, and refuses broken files: the
//! specification is complete enough to build a compatible reader from it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../format-spec")
}

fn python(args: &[&Path]) -> std::process::Output {
    Command::new("python3")
        .arg(spec().join("reference/read_mmstats.py"))
        .args(args)
        .output()
        .expect("python3 runs (scripts/test installs it if missing)")
}

#[test]
fn the_reference_reader_reads_every_vector_exactly() {
    let mut vectors: Vec<PathBuf> = std::fs::read_dir(spec().join("vectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mmstats"))
        .collect();
    vectors.sort();
    assert!(vectors.len() >= 9, "{vectors:?}");
    for v in &vectors {
        let out = python(&[v]);
        assert!(
            out.status.success(),
            "{}: {}",
            v.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(v.with_extension("json")).unwrap())
                .unwrap();
        // serde_json's equality tells integers from floats: 0 is not 0.0.
        assert_eq!(got, want, "{}", v.display());
    }
}

#[test]
fn the_reference_reader_refuses_broken_files_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(spec().join("vectors/scalars.mmstats")).unwrap();
    // Record 1's value slot moved onto record 0's.
    let mut shared = good.clone();
    shared[256 + 64 + 24..256 + 64 + 28].copy_from_slice(&good[256 + 24..256 + 28]);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("overlap", shared, "overlaps"),
        ("truncated", good[..300].to_vec(), "file_length"),
        ("future", [&[3u8][..], &good[1..]].concat(), "newer"),
        (
            "foreign",
            b"\x7fELF\x02\x01\x01\x00 and more".to_vec(),
            "not an mmstats file",
        ),
        ("empty", Vec::new(), "empty"),
    ];
    // A label set out of order (FORMAT.md §3.5).
    let mut unsorted = std::fs::read(spec().join("vectors/labels.mmstats")).unwrap();
    let set = b"code\x00200\x00method\x00GET\x00";
    let at = unsorted
        .windows(set.len())
        .position(|w| w == set)
        .expect("the labels vector holds the set");
    unsorted[at] = b'z';
    let cases: Vec<(&str, Vec<u8>, &str)> = cases
        .into_iter()
        .chain([("unsorted_labels", unsorted, "out of order")])
        .collect();
    for (name, bytes, why) in cases {
        let path = dir.path().join(format!("{name}.mmstats"));
        std::fs::write(&path, bytes).unwrap();
        let out = python(&[&path, &spec().join("vectors/scalars.mmstats")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains(why),
            "{name}: {err}"
        );
        // the good file after the bad one is still read
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\"format_version\": 2"),
            "{name}"
        );
    }
}

#[test]
fn the_reference_reader_finds_prefixed_system_fields_of_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prefixed.mmstats");
    let bytes = mmstats_format::v1::encode(&[
        ("pre.sys.pid", "I", 4321u32.to_ne_bytes().to_vec()),
        ("pre.hits", "Q", 9u64.to_ne_bytes().to_vec()),
    ]);
    std::fs::write(&path, bytes).unwrap();
    let out = python(&[&path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["pid"], 4321);
}
