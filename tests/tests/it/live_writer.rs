use std::time::{Duration, Instant};

use mmstats_reader::{Liveness, Num, StatsFile, Value, liveness};
use mmstats_testkit::torn::read_while_written;
use mmstats_tests::{StatsDir, WriterChild};

const CHILD: &str = env!("CARGO_BIN_EXE_writer-child");

fn number(snap: &mmstats_reader::Snapshot, label: &str) -> f64 {
    let f = snap
        .fields
        .iter()
        .find(|f| f.meta.label == label)
        .unwrap_or_else(|| panic!("no field {label}"));
    match f.value.as_ref().expect("readable value") {
        Value::Number(n) => n.as_f64(),
        other => panic!("{label} is {other:?}, not a number"),
    }
}

#[test]
fn values_change_while_the_writer_runs() {
    let dir = StatsDir::new();
    let child = WriterChild::start(CHILD, dir.path(), 500);
    let mut file = StatsFile::open(child.path()).expect("open child's file");
    assert_eq!(file.info().pid, Some(child.pid()));
    assert!(file.lock_held(), "the writer holds its lock");
    assert_eq!(liveness(&file), Liveness::Alive);

    let first = file.snapshot().expect("snapshot");
    let t0 = number(&first, "ticks");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut later = file.snapshot().expect("snapshot");
    while number(&later, "ticks") < t0 + 50.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        later = file.snapshot().expect("snapshot");
    }
    let t1 = number(&later, "ticks");
    assert!(t1 >= t0 + 50.0, "ticks went from {t0} to {t1}");

    // Every text read is whole, its step close to the counter, and the counter never goes back.
    let reads = read_while_written(&mut file, 200, "status", "ticks", |_, step, ticks| {
        let step = step.expect("the text read whole") as f64;
        let ticks = ticks as f64;
        assert!(
            (step - ticks).abs() <= 2.0,
            "status {step} vs ticks {ticks}"
        );
    });
    assert_eq!(reads.whole, 200);

    // sys.* fields identify the writer.
    assert_eq!(number(&later, "sys.pid"), f64::from(child.pid()));

    let path = child.path().to_path_buf();
    assert!(child.stop(), "child exits cleanly");
    assert!(!path.exists(), "a clean exit removes the file");
}

#[test]
fn a_crashed_writer_leaves_its_last_values_and_is_dead() {
    let dir = StatsDir::new();
    let child = WriterChild::start(CHILD, dir.path(), 1000);
    std::thread::sleep(Duration::from_millis(100));
    let path = child.path().to_path_buf();
    child.kill();

    let mut file = StatsFile::open(&path).expect("file survives a crash");
    assert!(!file.lock_held(), "the lock died with the writer");
    assert!(matches!(liveness(&file), Liveness::Dead(_)));
    let snap = file.snapshot().expect("snapshot");
    let ticks = number(&snap, "ticks");
    assert!(ticks > 0.0, "last values readable after a crash");
    assert!(!file.info().closed, "no clean close after SIGKILL");
    let again = number(&file.snapshot().expect("snapshot"), "ticks");
    assert_eq!(ticks, again, "a dead writer's values no longer change");
    let _ = Num::U(0);
}
