//! Building stats files for tests, as a writer would lay them out (FORMAT.md §6.2, §7).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use mmstats_format::layout::{HEADER_LEN, header as h};
use mmstats_format::{FieldMeta, Identity, Kind, Plan, Reserve, ValueType};

/// A file image being built, with the value offset of every field.
pub(crate) struct Image {
    pub(crate) bytes: Vec<u8>,
    pub(crate) plan: Plan,
    pub(crate) identity: Identity,
    pub(crate) state: u64,
    offsets: HashMap<String, usize>,
}

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

impl Image {
    /// Lays out `fields` with room for `reserve` more, for the writer `identity`.
    pub(crate) fn new(fields: &[FieldMeta], reserve: Reserve, identity: Identity) -> Image {
        let mut plan = Plan::new(fields, reserve).unwrap();
        let mut bytes = vec![0u8; plan.geometry().file_length as usize];
        let mut offsets = HashMap::new();
        for f in fields {
            let p = plan.place(f).unwrap();
            p.apply_to_image(&mut bytes);
            offsets.insert(f.label.clone(), p.value_offset);
        }
        let mut image = Image {
            bytes,
            plan,
            identity,
            state: 0,
            offsets,
        };
        image.write_header();
        image
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

    /// Re-encodes the header from the plan's live words.
    pub(crate) fn write_header(&mut self) {
        let mut header = self.plan.header(self.identity.clone());
        header.live.state = self.state;
        self.bytes[..HEADER_LEN].copy_from_slice(&header.encode());
    }

    /// The value offset of a field.
    pub(crate) fn offset(&self, label: &str) -> usize {
        self.offsets[label]
    }

    /// Stores native words into a field's slot, from its first word.
    pub(crate) fn set_words(&mut self, label: &str, words: &[u64]) {
        let at = self.offset(label);
        for (i, w) in words.iter().enumerate() {
            self.bytes[at + 8 * i..at + 8 * i + 8].copy_from_slice(&w.to_ne_bytes());
        }
    }

    /// Writes the image to `dir/name`.
    pub(crate) fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.bytes).unwrap();
        path
    }

    /// Appends a field to the file at `path` the way FORMAT.md §7 orders it, with positioned
    /// writes: strings, value slot, record, `field_count`, then `generation`.
    pub(crate) fn append(&mut self, path: &Path, meta: &FieldMeta) {
        let p = self.plan.place(meta).unwrap();
        p.apply_to_image(&mut self.bytes);
        self.write_header();
        self.offsets.insert(meta.label.clone(), p.value_offset);
        let f = OpenOptions::new().write(true).open(path).unwrap();
        let put = |f: &File, at: usize, len: usize, bytes: &[u8]| {
            f.write_all_at(&bytes[at..at + len], at as u64).unwrap();
        };
        put(&f, p.strings_offset, p.strings.len(), &self.bytes);
        put(&f, h::STRINGS_USED, 8, &self.bytes);
        put(&f, p.value_offset, 8 * p.value_words.len(), &self.bytes);
        put(&f, h::VALUES_USED, 8, &self.bytes);
        put(&f, p.record_offset, p.record.len(), &self.bytes);
        put(&f, h::FIELD_COUNT, 8, &self.bytes);
        put(&f, h::GENERATION, 8, &self.bytes);
    }

    /// Overwrites one word of the file at `path` (native order).
    pub(crate) fn poke(path: &Path, at: usize, word: u64) {
        let f = OpenOptions::new().write(true).open(path).unwrap();
        f.write_all_at(&word.to_ne_bytes(), at as u64).unwrap();
    }
}
