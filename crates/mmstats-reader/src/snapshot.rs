//! Every value of one file at one moment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use mmstats_format::{FieldMeta, Value};

use crate::clock::unix_seconds;
use crate::error::ValueError;
use crate::writer::FileInfo;
use crate::writer::Liveness;

/// Every value of one file at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The file.
    pub path: PathBuf,
    /// Its writer.
    pub info: Arc<FileInfo>,
    /// When the values were read.
    pub taken: SystemTime,
    /// For a scan's snapshots ([`crate::Scanner::scan`]), when the scan settled which files it
    /// reads: it listed them, or found its earlier listing still held, after this moment, so
    /// every file created before it is among the scan's snapshots (unless it could not be
    /// read). A file created after it may be missing from the scan though created before
    /// `taken`: the interval engine counts such a file's values as done within its first
    /// interval. `None` for a snapshot read on its own.
    pub listed: Option<SystemTime>,
    /// For a scan's first snapshot of a file whose name the scan before did not list (nor
    /// fail to open): when that scan's listing began. The name was published after it, so
    /// everything the file counts happened since, whatever its creation time says (a writer
    /// stamps that before it publishes the name). `None` otherwise.
    pub appeared: Option<SystemTime>,
    /// A process file's `fold_seq` as of this snapshot (FORMAT.md §6.4); `None` for others.
    pub fold_seq: Option<u64>,
    /// One entry per field, in table order. Shared with the previous snapshot of the same file
    /// while no value changed: [`Snapshot::same_values`] tells the two cases apart at no cost.
    /// A snapshot's values never change: a reader writes a change into the storage of the
    /// values it handed out last only once no snapshot holds them.
    pub fields: Arc<[FieldValue]>,
    /// False if a fold into the process's file kept overlapping the read of its process
    /// (FORMAT.md §6.5): values summed over this process may count a thread twice, and the
    /// interval engine skips the process for this sample.
    pub settled: bool,
    /// Whether the file's writer is alive, for tools that asked ([`crate::liveness`]; FORMAT.md
    /// §6.3); `None` when nobody asked (a scan does not, to stay cheap: the interval engine
    /// asks once per process).
    pub liveness: Option<Liveness>,
}

/// One field's metadata and value in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    /// Metadata, shared with the file's cache.
    pub meta: Arc<FieldMeta>,
    /// The value, or why it could not be read.
    pub value: Result<Value, ValueError>,
}

impl Snapshot {
    /// The field with this label, if the file has one.
    pub fn field(&self, label: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|f| f.meta.label == label)
    }

    /// True when `self` and `earlier` share their values: the scanner saw no change in the file
    /// between the two. False does not prove a change (a value may have been written back to
    /// what it was).
    pub fn same_values(&self, earlier: &Snapshot) -> bool {
        Arc::ptr_eq(&self.fields, &earlier.fields)
    }
}

impl FieldValue {
    /// The derived values this field exposes, as (`label.suffix`, value): e.g.
    /// `latency.p99` for a timer (`latency.p99{method="GET"}` for a labelled one, FORMAT.md
    /// §3.5). Empty for scalars and text, and for a value that could not be
    /// read. `created` (the writer's creation time) keeps a young writer's windowed rate from
    /// being diluted by time before it existed.
    pub fn derived_values(
        &self,
        now: SystemTime,
        created: Option<SystemTime>,
    ) -> Vec<(String, f64)> {
        let Ok(value) = &self.value else {
            return Vec::new();
        };
        let now = unix_seconds(now);
        let created = created.map_or(0.0, unix_seconds);
        value
            .derived_values(self.meta.kind, now, created)
            .into_iter()
            .map(|(suffix, v)| (self.meta.derived_key(suffix), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_format::{HistogramValue, Kind, Num, ValueType};

    fn field(meta: FieldMeta, value: Result<Value, ValueError>) -> FieldValue {
        FieldValue {
            meta: Arc::new(meta),
            value,
        }
    }

    /// A scan reads and writes a value per field of every changed file: a value stays small
    /// (the payloads of moving averages and windowed values are boxed).
    #[test]
    fn a_field_value_takes_forty_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<FieldValue>(), 40);
    }

    #[test]
    fn derived_values_carry_the_label() {
        let mut meta = FieldMeta::new("latency", Kind::Timer, ValueType::U64);
        meta.param = 5;
        meta.capacity = 64;
        let mut h = HistogramValue::empty(5, 64);
        h.record(10);
        h.record(20);
        let f = field(meta, Ok(Value::Histogram(h.into())));
        let derived = f.derived_values(SystemTime::now(), None);
        let get = |name: &str| derived.iter().find(|(l, _)| l == name).map(|(_, v)| *v);
        assert_eq!(get("latency.count"), Some(2.0));
        assert_eq!(get("latency.mean"), Some(15.0));
        assert!(get("latency.p99").is_some());
        let scalar = field(
            FieldMeta::new("n", Kind::Counter, ValueType::U64),
            Ok(Value::Number(Num::U(1))),
        );
        assert!(scalar.derived_values(SystemTime::now(), None).is_empty());
        let broken = field(
            FieldMeta::new("a", Kind::Average, ValueType::F64),
            Err(ValueError::WriterDied),
        );
        assert!(broken.derived_values(SystemTime::now(), None).is_empty());
    }
}
