//! Hostile inputs: truncated, corrupted, and files that change under the reader. None may make
//! the reader panic; errors name the file.

use std::os::unix::fs::FileExt;

use mmstats_format::layout::header as h;
use mmstats_reader::{ErrorKind, StatsFile};
use proptest::prelude::*;

use crate::image::{Image, every_kind};

/// A valid image with a value in every field.
fn valid() -> Image {
    let mut image = Image::of(&every_kind());
    image.set_words("requests", &[17]);
    image.set_words("status", &[2, 5, u64::from_ne_bytes(*b"hello\0\0\0")]);
    image.set_words("rows", &[4, 3, 30]);
    image
}

/// Opens and snapshots, returning whether it worked; the point is that it returns.
fn read(path: &std::path::Path) -> bool {
    match StatsFile::open(path) {
        Ok(mut f) => f.snapshot().is_ok(),
        Err(e) => {
            assert_eq!(e.path, path);
            false
        }
    }
}

#[test]
fn every_truncated_prefix_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = valid().bytes;
    let path = dir.path().join("t.mmstats");
    std::fs::write(&path, &bytes).unwrap();
    assert!(read(&path), "the whole file reads");
    // Cut one byte at a time from the end: every prefix, shortest last.
    let cutter = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    for n in (0..bytes.len()).rev() {
        cutter.set_len(n as u64).unwrap();
        let e = StatsFile::open(&path).expect_err(&format!("prefix of {n} bytes opened"));
        assert!(matches!(e.kind, ErrorKind::Format(_)), "{n}: {e}");
    }
}

#[test]
fn truncated_version_1_files_fail_or_read_only_whole_fields() {
    // Version 1 ends at a zero label size *or* at the end of the file, so a cut between two
    // fields reads as a shorter file; a cut inside a field must be an error.
    let dir = tempfile::tempdir().unwrap();
    let bytes = mmstats_format::v1::encode(&[
        ("sys.pid", "I", 1u32.to_ne_bytes().to_vec()),
        ("name", "8s", b"abc\0\0\0\0\0".to_vec()),
        ("x", "d", 1.5f64.to_ne_bytes().to_vec()),
    ]);
    let path = dir.path().join("v1.mmstats");
    std::fs::write(&path, &bytes).unwrap();
    let full = StatsFile::open(&path).unwrap().snapshot().unwrap();
    assert_eq!(full.fields.len(), 3);
    let mut errors = 0;
    for n in 0..bytes.len() {
        std::fs::write(&path, &bytes[..n]).unwrap();
        match StatsFile::open(&path).and_then(|mut f| f.snapshot()) {
            Err(e) => {
                assert_eq!(e.path, path);
                errors += 1;
            }
            Ok(snap) => {
                // Only the two terminating zero bytes may be missing from a complete read.
                assert!(snap.fields.len() < 3 || n + 2 >= bytes.len(), "{n} bytes");
                for (got, want) in snap.fields.iter().zip(&full.fields) {
                    assert_eq!(got.meta, want.meta, "{n} bytes");
                    assert_eq!(got.value, want.value, "{n} bytes");
                }
            }
        }
    }
    assert!(
        errors > bytes.len() / 2,
        "{errors} errors of {}",
        bytes.len()
    );
}

#[test]
fn a_file_truncated_after_open_is_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid().write(dir.path(), "shrinks.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    assert!(file.snapshot().is_ok());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    // Touching the lost pages would raise SIGBUS; the size check refuses first.
    let e = file.snapshot().unwrap_err();
    assert!(
        matches!(
            e.format_error(),
            Some(mmstats_format::FormatError::SizeMismatch { .. })
        ),
        "{e}"
    );
}

#[test]
fn a_removed_file_has_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid().write(dir.path(), "gone.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(file.is_replaced());
    let e = file.snapshot().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Vanished), "{e}");
}

/// Offsets worth corrupting: anywhere, but mostly the header, table and first values.
fn offset(len: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        0..len,
        0usize..256,
        256usize..256 + 64 * 10,
        4096usize..4096 + 512,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_files_never_panic(
        edits in proptest::collection::vec((offset(8192), any::<u8>()), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut image = valid();
        prop_assume!(image.bytes.len() == 8192);
        for (at, b) in &edits {
            image.bytes[*at] = *b;
        }
        let path = image.write(dir.path(), "c.mmstats");
        if let Ok(mut f) = StatsFile::open(&path) {
            let snap = f.snapshot().unwrap();
            prop_assert_eq!(snap.fields.len(), f.fields().len());
            for field in &snap.fields {
                let _ = field.exposed(snap.taken, snap.info.created);
            }
        }
    }

    #[test]
    fn files_corrupted_while_open_never_panic(
        edits in proptest::collection::vec((offset(8192), any::<u8>()), 1..8),
        bump in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let image = valid();
        let path = image.write(dir.path(), "c.mmstats");
        let mut f = StatsFile::open(&path).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for (at, b) in &edits {
            file.write_all_at(&[*b], *at as u64).unwrap();
        }
        if bump {
            // Make the reader re-parse the damaged metadata.
            file.write_all_at(&99u64.to_ne_bytes(), h::GENERATION as u64).unwrap();
        }
        match f.snapshot() {
            Ok(snap) => prop_assert_eq!(snap.fields.len(), f.fields().len()),
            Err(e) => prop_assert_eq!(&e.path, &path),
        }
        // Whatever happened, the reader keeps answering.
        let _ = f.snapshot();
    }

    #[test]
    fn corrupted_version_1_files_never_panic(
        edits in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = mmstats_format::v1::encode(&[
            ("sys.pid", "I", 1u32.to_ne_bytes().to_vec()),
            ("name", "8s", b"abc\0\0\0\0\0".to_vec()),
            ("x", "d", 1.5f64.to_ne_bytes().to_vec()),
        ]);
        for (at, b) in &edits {
            if let Some(byte) = bytes.get_mut(*at) {
                *byte = *b;
            }
        }
        let path = dir.path().join("v1.mmstats");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(mut f) = StatsFile::open(&path) {
            let snap = f.snapshot().unwrap();
            prop_assert_eq!(snap.fields.len(), f.fields().len());
        }
    }
}
