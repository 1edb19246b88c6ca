//! The fields of the reader's test files, laid out by the kit's [`Image`] as a writer would
//! (FORMAT.md §6.2, §7).

use mmstats_format::{FieldMeta, Identity, Kind, Reserve, ValueType};
pub(crate) use mmstats_testkit::file::Image;

/// A counter.
pub(crate) fn counter(label: &str) -> FieldMeta {
    FieldMeta::new(label, Kind::Counter, ValueType::U64)
}

/// A text field of `capacity` bytes.
pub(crate) fn text(label: &str, capacity: u32) -> FieldMeta {
    let mut m = FieldMeta::new(label, Kind::Text, ValueType::Text);
    m.capacity = capacity;
    m
}

/// A histogram (k = 5, 64 buckets) or timer.
pub(crate) fn histogram(label: &str, kind: Kind) -> FieldMeta {
    let mut m = FieldMeta::new(label, kind, ValueType::U64);
    m.param = 5;
    m.capacity = 64;
    m
}

/// One field of every kind.
pub(crate) fn every_kind() -> Vec<FieldMeta> {
    let mut v = vec![
        counter("requests"),
        FieldMeta::new("temp", Kind::Gauge, ValueType::F64),
        FieldMeta::new("workers", Kind::Constant, ValueType::I32),
        FieldMeta::new("started", Kind::Timestamp, ValueType::F64),
        text("status", 24),
        FieldMeta::new("rows", Kind::Average, ValueType::U64),
        histogram("sizes", Kind::Histogram),
        histogram("latency", Kind::Timer),
    ];
    let mut ma = FieldMeta::new("rtt", Kind::MovingAverage, ValueType::F64);
    ma.capacity = 10;
    v.push(ma);
    let mut w = FieldMeta::new("hits", Kind::Windowed, ValueType::U64);
    w.param = 1;
    w.capacity = 4;
    v.push(w);
    v
}

/// An image of these fields with a small reserve and a default identity.
pub(crate) fn of(fields: &[FieldMeta]) -> Image {
    Image::new(
        fields,
        Reserve {
            fields: 4,
            strings: 128,
            values: 256,
        },
        Identity {
            pid: 4242,
            tid: 4243,
            writer: "test".into(),
            created_ns: 1_700_000_000_000_000_000,
            ..Identity::default()
        },
    )
}
