//! HotSpot performance data files (format-spec/HSPERFDATA.md) through `StatsFile`: a JVM
//! adding entries while the file is open, a half-written entry, values changing in place, a
//! file truncated or replaced, and liveness.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use mmstats_format::hsperf::{Builder, PROLOGUE_LEN, Units, Variability, prologue};
use mmstats_format::{ByteOrder, Num, Value};
use mmstats_reader::{ErrorKind, FormatVersion, Liveness, Scanner, StatsFile, liveness};

fn base() -> Builder {
    let mut b = Builder::new(ByteOrder::NATIVE);
    b.long(
        "sun.os.hrt.frequency",
        Units::Hertz,
        Variability::Constant,
        1000,
    )
    .long(
        "sun.gc.collector.0.invocations",
        Units::Events,
        Variability::Monotonic,
        1,
    );
    b
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn value(snap: &mmstats_reader::Snapshot, label: &str) -> Value {
    snap.field(label).unwrap().value.clone().unwrap()
}

#[test]
fn entries_added_while_open_appear_and_values_are_reread() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = base();
    let path = write(&dir, "4242", &b.finish(4096));
    let mut file = StatsFile::open(&path).unwrap();
    assert_eq!(file.info().version, FormatVersion::Hsperf);
    let fields = file.fields().len();
    let snap = file.snapshot().unwrap();
    assert_eq!(
        value(&snap, "sun.gc.collector.0.invocations"),
        Value::Number(Num::I(1))
    );

    // The JVM stores a new value in place.
    let off = b.entry_offset(1).unwrap();
    let data = off
        + u32::from_ne_bytes(
            std::fs::read(&path).unwrap()[off + 16..off + 20]
                .try_into()
                .unwrap(),
        ) as usize;
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&7i64.to_ne_bytes(), data as u64).unwrap();
    let snap = file.snapshot().unwrap();
    assert_eq!(
        value(&snap, "sun.gc.collector.0.invocations"),
        Value::Number(Num::I(7))
    );
    assert_eq!(file.fields().len(), fields, "no re-parse for a value");

    // A new entry: its header counted but not yet written (zeros), then written.
    b.long(
        "sun.gc.collector.0.time",
        Units::Ticks,
        Variability::Monotonic,
        2500,
    );
    let full = b.finish(4096);
    let mut half = full.clone();
    let new_at = b.entry_offset(2).unwrap();
    let used =
        u32::from_ne_bytes(full[prologue::USED..prologue::USED + 4].try_into().unwrap()) as usize;
    half[new_at..used].fill(0);
    half[..PROLOGUE_LEN].copy_from_slice(&full[..PROLOGUE_LEN]);
    f.write_all_at(&half, 0).unwrap();
    let snap = file
        .snapshot()
        .expect("a half-written entry keeps the old table");
    assert!(snap.field("sun.gc.collector.0.time").is_none());
    f.write_all_at(&full, 0).unwrap();
    let snap = file.snapshot().unwrap();
    assert_eq!(
        value(&snap, "sun.gc.collector.0.time"),
        Value::Number(Num::F(2.5))
    );
    assert_eq!(file.fields().len(), fields + 1);

    // Overflow is an error of the whole file.
    f.write_all_at(&64u32.to_ne_bytes(), prologue::OVERFLOW as u64)
        .unwrap();
    let err = file.snapshot().unwrap_err();
    assert!(err.to_string().contains("overflowed"), "{err}");
    assert!(err.to_string().starts_with(&path.display().to_string()));
}

#[test]
fn a_truncated_or_replaced_file_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "77", &base().finish(4096));
    let mut file = StatsFile::open(&path).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(2048)
        .unwrap();
    let err = file.snapshot().unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Format(_)), "{err}");

    let other = write(&dir, "other", &base().finish(4096));
    std::fs::rename(&other, &path).unwrap();
    assert!(file.is_replaced());
    let mut scanner = Scanner::new(vec![dir.path().join("[0-9]*").display().to_string()]);
    let scan = scanner.scan();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert_eq!(scan.snapshots.len(), 1);
    assert_eq!(scan.snapshots[0].info.pid, Some(77));
}

#[test]
fn a_jvm_without_its_process_is_dead_and_one_with_it_alive() {
    let dir = tempfile::tempdir().unwrap();
    let image = base().finish(4096);
    // This process started before "now", so a JVM begun now can be this process.
    let mut b = base();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    b.long(
        "sun.rt.createVmBeginTime",
        Units::None,
        Variability::Constant,
        now_ms,
    );
    let me = write(&dir, &std::process::id().to_string(), &b.finish(4096));
    let file = StatsFile::open(&me).unwrap();
    assert!(file.info().start_time.is_some());
    assert!(file.info().boot_id.is_some());
    assert_eq!(liveness(&file), Liveness::Alive);

    // A JVM that began a year before this process is not this process: a reused pid.
    b = base();
    b.long(
        "sun.rt.createVmBeginTime",
        Units::None,
        Variability::Constant,
        now_ms - 365 * 86_400_000,
    );
    let old = write(&dir, &std::process::id().to_string(), &b.finish(4096));
    let file = StatsFile::open(&old).unwrap();
    assert_eq!(file.info().start_time, None);
    assert!(matches!(liveness(&file), Liveness::Dead(_)));

    // No process has this pid (pid_max is at most 2^22).
    let gone = write(&dir, "4194305", &image);
    assert!(matches!(
        liveness(&StatsFile::open(&gone).unwrap()),
        Liveness::Dead(_)
    ));
}
