//! Hostile inputs: truncated, corrupted, and files that change under the reader. None may make
//! the reader panic; errors name the file.

use std::os::unix::fs::FileExt;

use mmstats_format::layout::header as h;
use mmstats_reader::{ErrorKind, StatsFile};
use proptest::prelude::*;

use crate::image::{Image, every_kind};

/// A valid image with a value in every field.
fn valid() -> Image {
    let mut image = crate::image::of(&every_kind());
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
                for (got, want) in snap.fields.iter().zip(full.fields.iter()) {
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
            for field in snap.fields.iter() {
                let _ = field.derived_values(snap.taken, snap.info.created);
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

/// Points record `index`'s value slot at `value_offset` (native order).
fn repoint_slot(image: &mut Image, index: usize, value_offset: u32) {
    let at = mmstats_format::layout::HEADER_LEN
        + index * mmstats_format::layout::RECORD_LEN
        + mmstats_format::layout::record::VALUE_OFFSET;
    image.bytes[at..at + 4].copy_from_slice(&value_offset.to_ne_bytes());
}

#[test]
fn fields_sharing_one_value_slot_are_refused() {
    // 100 histograms of 56,320 buckets (k = 10) all pointing at the first one's slot: read
    // once per field, a 462 KB file would decode to 45 MB of buckets and far more output.
    let fields: Vec<_> = (0..100)
        .map(|i| {
            let mut m = crate::image::histogram(&format!("h{i}"), mmstats_format::Kind::Histogram);
            m.param = 10;
            m.capacity = if i == 0 { 56_320 } else { 2048 };
            m
        })
        .collect();
    let mut image = crate::image::of(&fields);
    let first = image.offset("h0") as u32;
    // Widen the others to the first one's geometry and slot.
    for i in 1..100 {
        let rec = mmstats_format::layout::HEADER_LEN + i * mmstats_format::layout::RECORD_LEN;
        let cap = rec + mmstats_format::layout::record::CAPACITY;
        image.bytes[cap..cap + 4].copy_from_slice(&56_320u32.to_ne_bytes());
        let len = rec + mmstats_format::layout::record::VALUE_LENGTH;
        image.bytes[len..len + 4].copy_from_slice(&(64 + 8 * 56_320u32).to_ne_bytes());
        repoint_slot(&mut image, i, first);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = image.write(dir.path(), "shared.mmstats");
    let e = StatsFile::open(&path).expect_err("overlapping slots accepted");
    assert!(
        matches!(
            e.format_error(),
            Some(mmstats_format::FormatError::Overlap { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("overlaps"), "{e}");
}

#[test]
fn overlapping_strings_are_refused() {
    let mut image =
        crate::image::of(&[crate::image::counter("aaaa"), crate::image::counter("bbbb")]);
    // Record 1's label points at record 0's.
    let label0 = u32::from_ne_bytes(image.bytes[256..260].try_into().unwrap());
    image.bytes[256 + 64..256 + 64 + 4].copy_from_slice(&label0.to_ne_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = image.write(dir.path(), "strings.mmstats");
    let e = StatsFile::open(&path).expect_err("shared label accepted");
    // Either the duplicate label or the overlap is named; both are refusals.
    assert!(e.format_error().is_some(), "{e}");
}

#[test]
fn label_sets_sharing_bytes_are_refused() {
    // Two families with the same label set: record 1's set pointed at record 0's still spells
    // a valid series key, so only the no-overlap rule (FORMAT.md §3.4) refuses it.
    let image_of = |names: [&str; 2]| {
        crate::image::of(&names.map(|n| crate::image::counter(n).with_labels([("k", "v")])))
    };
    let mut image = image_of(["aaaa", "bbbb"]);
    let set = |i: usize| {
        mmstats_format::layout::HEADER_LEN
            + i * mmstats_format::layout::RECORD_LEN
            + mmstats_format::layout::record::LABELS_OFFSET
    };
    let (at0, at1) = (set(0), set(1));
    let first: [u8; 4] = image.bytes[at0..at0 + 4].try_into().unwrap();
    image.bytes[at1..at1 + 4].copy_from_slice(&first);
    let dir = tempfile::tempdir().unwrap();
    let ok = image_of(["aaaa", "bbbb"]).write(dir.path(), "apart.mmstats");
    StatsFile::open(&ok).expect("label sets of their own are read");
    let path = image.write(dir.path(), "sets.mmstats");
    let e = StatsFile::open(&path).expect_err("shared label set accepted");
    assert!(
        matches!(
            e.format_error(),
            Some(mmstats_format::FormatError::Overlap {
                what: "label set",
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("sets.mmstats"), "{e}");
}

#[test]
fn a_sparse_file_declaring_millions_of_records_is_refused_at_once() {
    // 8M records would be 512 MB of table; the header alone says so and is refused by the cap
    // on table_capacity (FORMAT.md §2.4 check 8), before anything is copied.
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[crate::image::counter("x")]);
    let records: u64 = 8 << 20;
    let strings_offset = 256 + 64 * records;
    let values_offset = strings_offset.next_multiple_of(4096);
    let file_length = values_offset + 4096;
    let put32 = |b: &mut Vec<u8>, at: usize, v: u64| {
        b[at..at + 4].copy_from_slice(&(v as u32).to_ne_bytes())
    };
    put32(&mut image.bytes, h::TABLE_CAPACITY, records);
    put32(&mut image.bytes, h::STRINGS_OFFSET, strings_offset);
    put32(&mut image.bytes, h::STRINGS_CAPACITY, 0);
    put32(&mut image.bytes, h::VALUES_OFFSET, values_offset);
    put32(&mut image.bytes, h::VALUES_CAPACITY, 4096);
    image.bytes[h::FILE_LENGTH..h::FILE_LENGTH + 8].copy_from_slice(&file_length.to_ne_bytes());
    image.bytes[h::FIELD_COUNT..h::FIELD_COUNT + 8].copy_from_slice(&records.to_ne_bytes());
    let path = dir.path().join("sparse.mmstats");
    let f = std::fs::File::create(&path).unwrap();
    f.write_all_at(&image.bytes[..256], 0).unwrap();
    f.set_len(file_length).unwrap();
    let e = StatsFile::open(&path).expect_err("8M records accepted");
    assert!(
        matches!(
            e.format_error(),
            Some(mmstats_format::FormatError::TooLarge { .. })
        ),
        "{e}"
    );
    // And a file beyond the size cap is refused before its table is looked at.
    f.set_len(128 << 20).unwrap();
    image.bytes[h::FILE_LENGTH..h::FILE_LENGTH + 8].copy_from_slice(&(128u64 << 20).to_ne_bytes());
    f.write_all_at(&image.bytes[..256], 0).unwrap();
    let e = StatsFile::open(&path).expect_err("128 MiB file accepted");
    assert!(e.to_string().contains("file_length"), "{e}");
}
