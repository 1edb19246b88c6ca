//! Combining labels over the files of a process, through the interval engine.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::{
    FieldMeta, HistogramValue, Kind, Num, Period, Value, ValueType, WindowedValue,
};
use mmstats_reader::{FileInfo, FormatVersion, Intervals, Series, Snapshot, ValueError};
use mmstats_testkit::snapshot::SnapshotBuilder;

fn snapshot(created_secs: u64, fields: Vec<(FieldMeta, Result<Value, ValueError>)>) -> Snapshot {
    let created = UNIX_EPOCH + Duration::from_secs(created_secs);
    let info = FileInfo {
        pid: Some(1),
        tid: Some(1),
        uid: Some(0),
        gid: Some(0),
        created: Some(created),
        ..FileInfo::new(FormatVersion::V2, (0, created_secs))
    };
    fields
        .into_iter()
        .fold(
            SnapshotBuilder::new(format!("/x/{created_secs}.mmstats"))
                .info(info)
                .taken(SystemTime::now()),
            |b, (m, v)| b.field_result(m, v),
        )
        .build()
}

/// Every label of these files (all of one process) combined, as every tool shows them now.
fn combine(snaps: &[Snapshot]) -> Vec<Series> {
    Intervals::new().assume_alive().update(snaps).combined()
}

fn m(label: &str, kind: Kind, vt: ValueType) -> FieldMeta {
    FieldMeta::new(label, kind, vt)
}

fn n(v: Num) -> Result<Value, ValueError> {
    Ok(Value::Number(v))
}

fn hist(values: &[u64], buckets: usize) -> Value {
    let mut h = HistogramValue::empty(5, buckets);
    for v in values {
        h.record(*v);
    }
    Value::Histogram(h.into())
}

#[test]
fn default_rules_sum_counters_and_gauges_and_take_the_last_text() {
    let counter = m("hits", Kind::Counter, ValueType::U64);
    let gauge = m("temp", Kind::Gauge, ValueType::F64);
    let text = m("status", Kind::Text, ValueType::Text);
    let snaps = vec![
        snapshot(
            10,
            vec![
                (counter.clone(), n(Num::U(3))),
                (gauge.clone(), n(Num::F(10.0))),
                (text.clone(), Ok(Value::Text("old".into()))),
            ],
        ),
        snapshot(
            30,
            vec![
                (counter.clone(), n(Num::U(4))),
                (gauge.clone(), n(Num::F(20.0))),
                (text.clone(), Ok(Value::Text("newest".into()))),
            ],
        ),
        snapshot(
            20,
            vec![
                (counter.clone(), Err(ValueError::WriterDied)),
                (gauge.clone(), n(Num::F(30.0))),
                (text.clone(), Ok(Value::Text("middle".into()))),
            ],
        ),
    ];
    let c = combine(&snaps);
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].meta.label, "hits");
    assert_eq!(
        (c[0].value.clone(), c[0].files),
        (Some(Value::Number(Num::U(7))), 2)
    );
    assert_eq!(
        (c[1].value.clone(), c[1].files),
        (Some(Value::Number(Num::F(60.0))), 3)
    );
    assert_eq!(c[2].value, Some(Value::Text("newest".into())));
}

#[test]
fn histograms_merge_and_averages_pool() {
    let mut h = m("lat", Kind::Histogram, ValueType::U64);
    h.param = 5;
    h.capacity = 64;
    let avg = m("rows", Kind::Average, ValueType::U64);
    let snaps = vec![
        snapshot(
            1,
            vec![
                (h.clone(), Ok(hist(&[1, 2, 3], 64))),
                (
                    avg.clone(),
                    Ok(Value::Average {
                        count: 2,
                        sum: Num::U(10),
                    }),
                ),
            ],
        ),
        snapshot(
            2,
            vec![
                (h.clone(), Ok(hist(&[100, 1000], 64))),
                (
                    avg.clone(),
                    Ok(Value::Average {
                        count: 3,
                        sum: Num::U(5),
                    }),
                ),
            ],
        ),
    ];
    let c = combine(&snaps);
    let Some(Value::Histogram(merged)) = &c[0].value else {
        panic!("{:?}", c[0].value)
    };
    assert_eq!(
        (merged.count, merged.min, merged.max, merged.sum),
        (5, 1, 1000, 1106)
    );
    assert_eq!(merged.bucket_total(), 5);
    assert_eq!(
        c[1].value,
        Some(Value::Average {
            count: 5,
            sum: Num::U(15)
        })
    );
}

#[test]
fn windows_add_matching_periods_and_keep_the_newer() {
    let mut w = m("w", Kind::Windowed, ValueType::U64);
    w.param = 1;
    w.capacity = 2;
    let win = |slots: [(u64, u64); 2]| {
        Ok(Value::Windowed(Box::new(WindowedValue {
            width: 1,
            count: slots.iter().map(|s| s.1).sum(),
            sum: Num::U(0),
            slots: slots
                .iter()
                .map(|(p, c)| Period {
                    period: *p,
                    count: *c,
                    sum: Num::U(*c),
                })
                .collect(),
        })))
    };
    let snaps = vec![
        snapshot(1, vec![(w.clone(), win([(100, 1), (101, 2)]))]),
        snapshot(2, vec![(w.clone(), win([(100, 10), (99, 20)]))]),
    ];
    let c = combine(&snaps);
    let Some(Value::Windowed(got)) = &c[0].value else {
        panic!()
    };
    assert_eq!(got.count, 33);
    assert_eq!((got.slots[0].period, got.slots[0].count), (100, 11));
    assert_eq!((got.slots[1].period, got.slots[1].count), (101, 2));
}

#[test]
fn mismatched_kinds_and_types_are_skipped_not_fatal() {
    let snaps = vec![
        snapshot(
            1,
            vec![(m("x", Kind::Counter, ValueType::U64), n(Num::U(1)))],
        ),
        snapshot(
            2,
            vec![(m("x", Kind::Counter, ValueType::F64), n(Num::F(2.5)))],
        ),
        snapshot(
            3,
            vec![(
                m("x", Kind::Text, ValueType::Text),
                Ok(Value::Text("t".into())),
            )],
        ),
        snapshot(
            4,
            vec![(m("x", Kind::Counter, ValueType::U64), n(Num::U(2)))],
        ),
    ];
    let c = combine(&snaps);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].value.clone(), c[0].files),
        (Some(Value::Number(Num::U(3))), 2)
    );
    let mut h4 = m("h", Kind::Histogram, ValueType::U64);
    h4.param = 4;
    h4.capacity = 32;
    let mut h5 = m("h", Kind::Histogram, ValueType::U64);
    h5.param = 5;
    h5.capacity = 64;
    let mut other_k = HistogramValue::empty(4, 32);
    other_k.record(3);
    let snaps = vec![
        snapshot(1, vec![(h5, Ok(hist(&[1], 64)))]),
        snapshot(2, vec![(h4, Ok(Value::Histogram(other_k.into())))]),
    ];
    let c = combine(&snaps);
    assert_eq!(c[0].files, 1);
}
