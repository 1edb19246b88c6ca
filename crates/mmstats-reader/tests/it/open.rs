//! Opening: what is accepted, and the error for each thing that is not.

use std::os::unix::fs::PermissionsExt;

use mmstats_format::{FormatError, RecordError};
use mmstats_reader::{ErrorKind, FormatVersion, ReadError, StatsFile};

use crate::image::{counter, every_kind};

fn format_error(e: &ReadError) -> &FormatError {
    e.format_error()
        .unwrap_or_else(|| panic!("expected a format error, got {e}"))
}

#[test]
fn opens_a_valid_file_and_reports_its_writer() {
    let dir = tempfile::tempdir().unwrap();
    let image = crate::image::of(&every_kind());
    let path = image.write(dir.path(), "w.mmstats");
    let file = StatsFile::open(&path).unwrap();
    assert_eq!(file.path(), path);
    let info = file.info();
    assert_eq!(info.version, FormatVersion::V2);
    assert_eq!((info.pid, info.tid), (Some(4242), Some(4243)));
    assert_eq!(info.writer, "test");
    assert!(!info.closed);
    assert_eq!(file.fields().len(), every_kind().len());
    for (got, want) in file.fields().iter().zip(every_kind()) {
        assert_eq!(**got, want);
    }
}

#[test]
fn empty_foreign_and_future_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mmstats");
    std::fs::write(&empty, b"").unwrap();
    let e = StatsFile::open(&empty).unwrap_err();
    assert_eq!(e.path, empty);
    assert_eq!(format_error(&e), &FormatError::Empty);

    let foreign = dir.path().join("elf.mmstats");
    std::fs::write(&foreign, b"\x7fELF\x02\x01\x01\x00 and more bytes").unwrap();
    let e = StatsFile::open(&foreign).unwrap_err();
    assert!(matches!(format_error(&e), FormatError::Foreign(_)), "{e}");
    assert!(e.to_string().contains("elf.mmstats"));

    let mut image = crate::image::of(&[counter("a")]);
    image.bytes[0] = 3;
    let future = image.write(dir.path(), "future.mmstats");
    let e = StatsFile::open(&future).unwrap_err();
    assert_eq!(format_error(&e), &FormatError::FutureVersion(3));
    assert!(e.to_string().contains("upgrade"));
}

#[test]
fn a_missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let e = StatsFile::open(dir.path().join("nope.mmstats")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotFound), "{e}");
    assert!(e.to_string().ends_with("nope.mmstats: not found"), "{e}");
}

#[test]
fn directories_and_fifos_are_not_regular() {
    let dir = tempfile::tempdir().unwrap();
    let e = StatsFile::open(dir.path()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotRegular), "{e}");
    let fifo = dir.path().join("fifo.mmstats");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Opening must not block waiting for a writer.
    let e = StatsFile::open(&fifo).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotRegular), "{e}");
}

#[test]
fn symlinks_are_followed_by_open_and_refused_by_open_nofollow() {
    let dir = tempfile::tempdir().unwrap();
    let target = crate::image::of(&[counter("a")]).write(dir.path(), "real.mmstats");
    let link = dir.path().join("link.mmstats");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(StatsFile::open(&link).is_ok());
    assert!(StatsFile::open_nofollow(&target).is_ok());
    let e = StatsFile::open_nofollow(&link).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotRegular), "{e}");
    assert_eq!(e.path, link);
    // a symlink to itself: a loop when followed, a symlink refused when not
    let looped = dir.path().join("loop.mmstats");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let e = StatsFile::open(&looped).unwrap_err();
    assert!(
        matches!(&e.kind, ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ELOOP)),
        "{e}"
    );
    assert!(e.to_string().contains("symbolic links"), "{e}");
    let e = StatsFile::open_nofollow(&looped).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotRegular), "{e}");
}

#[test]
fn unreadable_files_are_io_errors_unless_we_are_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::image::of(&[counter("a")]).write(dir.path(), "secret.mmstats");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let result = StatsFile::open(&path);
    // Root (CAP_DAC_OVERRIDE) reads files whatever their mode; find out whether we can.
    let can_read_anyway = std::fs::File::open(&path).is_ok();
    if can_read_anyway {
        assert!(result.is_ok(), "readable with privileges: {result:?}");
    } else {
        let e = result.unwrap_err();
        match &e.kind {
            ErrorKind::Io(io) => assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied),
            other => panic!("expected permission denied, got {other}"),
        }
    }
}

#[test]
fn header_damage_is_reported_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let image = crate::image::of(&[counter("a")]);

    let mut bad_order = crate::image::of(&[counter("a")]);
    bad_order.bytes[8] = 9;
    let e = StatsFile::open(bad_order.write(dir.path(), "order.mmstats")).unwrap_err();
    assert!(matches!(
        format_error(&e),
        FormatError::BadHeader {
            field: "byte_order",
            ..
        }
    ));

    // A file longer than its header says.
    let mut longer = image.bytes.clone();
    longer.extend_from_slice(&[0; 4096]);
    let path = dir.path().join("longer.mmstats");
    std::fs::write(&path, &longer).unwrap();
    let e = StatsFile::open(&path).unwrap_err();
    assert!(
        matches!(format_error(&e), FormatError::SizeMismatch { .. }),
        "{e}"
    );

    // A record pointing outside the string area.
    let mut oob = crate::image::of(&[counter("a")]);
    oob.bytes[256..260].copy_from_slice(&9_999_999u32.to_ne_bytes());
    let e = StatsFile::open(oob.write(dir.path(), "oob.mmstats")).unwrap_err();
    assert!(
        matches!(format_error(&e), FormatError::OutOfBounds { .. }),
        "{e}"
    );

    // An unknown kind.
    let mut kind = crate::image::of(&[counter("a")]);
    kind.bytes[256 + 18] = 99;
    let e = StatsFile::open(kind.write(dir.path(), "kind.mmstats")).unwrap_err();
    assert!(
        matches!(
            format_error(&e),
            FormatError::BadRecord {
                reason: RecordError::UnknownKind(99),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn version_1_files_open() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = mmstats_format::v1::encode(&[
        ("sys.pid", "I", 77u32.to_ne_bytes().to_vec()),
        ("hits", "Q", 5u64.to_ne_bytes().to_vec()),
    ]);
    let path = dir.path().join("old.mmstats");
    std::fs::write(&path, &bytes).unwrap();
    let mut file = StatsFile::open(&path).unwrap();
    assert_eq!(file.info().version, FormatVersion::V1);
    assert_eq!(file.info().pid, Some(77));
    let snap = file.snapshot().unwrap();
    assert_eq!(snap.fields.len(), 2);
    assert_eq!(
        snap.field("hits").unwrap().value,
        Ok(mmstats_format::Value::Number(mmstats_format::Num::U(5)))
    );
    // Values change under the reader: the next snapshot sees them.
    let bytes = mmstats_format::v1::encode(&[
        ("sys.pid", "I", 77u32.to_ne_bytes().to_vec()),
        ("hits", "Q", 6u64.to_ne_bytes().to_vec()),
    ]);
    std::fs::write(&path, &bytes).unwrap();
    let snap = file.snapshot().unwrap();
    assert_eq!(
        snap.field("hits").unwrap().value,
        Ok(mmstats_format::Value::Number(mmstats_format::Num::U(6)))
    );
}
