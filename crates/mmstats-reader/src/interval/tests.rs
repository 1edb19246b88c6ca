//! The interval engine with a liveness check of the test's own (a private hook); the tests
//! that need only the public API are the reader's integration tests (`tests/it/intervals.rs`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::{Combine, FieldMeta, Kind, Num, Value, ValueType};

use super::*;
use crate::snapshot::FieldValue;
use crate::writer::{FileInfo, FormatVersion};

fn at(secs: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs_f64(secs)
}

/// A read at `taken` seconds of the file of process `pid`'s thread `pid` (start time 1), created
/// at 0 s, holding `fields`.
fn thread_file(pid: u32, taken: f64, fields: Vec<(FieldMeta, Value)>) -> Snapshot {
    Snapshot {
        path: format!("/s/job-{pid}-{pid}.mmstats").into(),
        info: Arc::new(FileInfo {
            pid: Some(pid),
            tid: Some(pid),
            start_time: Some(1),
            boot_id: Some([7; 16]),
            created: Some(at(0.0)),
            ..FileInfo::new(FormatVersion::V2, (1, u64::from(pid) * 1001))
        }),
        taken: at(taken),
        listed: None,
        appeared: None,
        fold_seq: None,
        fields: fields
            .into_iter()
            .map(|(m, v)| FieldValue {
                meta: Arc::new(m),
                value: Ok(v),
            })
            .collect(),
        settled: true,
        liveness: None,
    }
}

fn jobs(v: u64) -> (FieldMeta, Value) {
    (
        FieldMeta::new("jobs", Kind::Counter, ValueType::U64),
        Value::Number(Num::U(v)),
    )
}

#[test]
fn dead_processes_gauges_are_not_current() {
    let mut e = Intervals {
        alive: |info| {
            if info.pid == Some(8) {
                Liveness::Dead("gone".into())
            } else {
                Liveness::Alive
            }
        },
        ..Intervals::new()
    };
    let mut meta = FieldMeta::new("in_flight", Kind::Gauge, ValueType::U32);
    meta.combine = Combine::Sum;
    let g = |v: u64| (meta.clone(), Value::Number(Num::U(v)));
    let s = e.update(&[
        thread_file(8, 10.0, vec![g(5)]),
        thread_file(9, 10.0, vec![g(2)]),
    ]);
    assert_eq!(s.live_processes(), 1);
    let in_flight = s
        .combined()
        .into_iter()
        .find(|s| s.meta.label == "in_flight");
    assert_eq!(in_flight.and_then(|s| s.number(None)), Some(2.0));
}

#[test]
fn a_dead_process_stays_dead_while_its_file_is_unchanged_even_without_a_start_time() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static ASKED: AtomicUsize = AtomicUsize::new(0);
    // Dead when first asked; its pid is then taken by a newcomer, which a file without a start
    // time could not tell from its writer.
    let mut e = Intervals {
        alive: |_| match ASKED.fetch_add(1, Ordering::Relaxed) {
            0 => Liveness::Dead("no process 8".into()),
            _ => Liveness::Alive,
        },
        ..Intervals::new()
    };
    let mut first = thread_file(8, 10.0, vec![jobs(5)]);
    let mut info = (*first.info).clone();
    info.start_time = None;
    first.info = Arc::new(info);
    let later = |t: f64| Snapshot {
        taken: at(t),
        ..first.clone()
    };
    for t in [10.0, 11.0, 12.0] {
        let s = e.update(&[later(t)]);
        assert_eq!(s.live_processes(), 0, "at {t}");
        assert!(matches!(s.processes[0].liveness, Liveness::Dead(_)));
    }
    assert_eq!(ASKED.load(Ordering::Relaxed), 1, "asked once");
}
