//! Snapshots made in memory, for tests of what consumes them (outputs, the interval engine,
//! aggregation, histories): every test builds its [`Snapshot`] here, so a change to the
//! snapshot's shape is one edit.
//!
//! ```
//! use mmstats_reader::{FieldMeta, Kind, Num, Value, ValueType};
//! use mmstats_testkit::snapshot::SnapshotBuilder;
//!
//! let s = SnapshotBuilder::new("/run/x/web-1-2.mmstats")
//!     .taken_secs(1_010.0)
//!     .field(FieldMeta::new("requests", Kind::Counter, ValueType::U64), Value::Number(Num::U(3)))
//!     .build();
//! assert_eq!(s.fields.len(), 1);
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_reader::{
    FieldMeta, FieldValue, FileInfo, FormatVersion, Liveness, Snapshot, Value, ValueError,
};

/// A field of a snapshot: `meta` and its value (or why it could not be read).
pub fn field_value(meta: FieldMeta, value: Result<Value, ValueError>) -> FieldValue {
    FieldValue {
        meta: Arc::new(meta),
        value,
    }
}

/// Builds a [`Snapshot`]: by default of a version-2 file with no writer identity, taken at the
/// Unix epoch, settled, with no fold sequence and no liveness.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    path: PathBuf,
    info: Arc<FileInfo>,
    taken: SystemTime,
    fold_seq: Option<u64>,
    settled: bool,
    liveness: Option<Liveness>,
    fields: Vec<FieldValue>,
}

impl SnapshotBuilder {
    /// A snapshot of the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> SnapshotBuilder {
        SnapshotBuilder {
            path: path.into(),
            info: Arc::new(FileInfo::new(FormatVersion::V2, (0, 0))),
            taken: UNIX_EPOCH,
            fold_seq: None,
            settled: true,
            liveness: None,
            fields: Vec::new(),
        }
    }

    /// Its writer.
    pub fn info(mut self, info: impl Into<Arc<FileInfo>>) -> SnapshotBuilder {
        self.info = info.into();
        self
    }

    /// When its values were read.
    pub fn taken(mut self, taken: SystemTime) -> SnapshotBuilder {
        self.taken = taken;
        self
    }

    /// When its values were read, in Unix seconds.
    pub fn taken_secs(self, secs: f64) -> SnapshotBuilder {
        self.taken(UNIX_EPOCH + Duration::from_secs_f64(secs))
    }

    /// A process file's `fold_seq`.
    pub fn fold_seq(mut self, seq: u64) -> SnapshotBuilder {
        self.fold_seq = Some(seq);
        self
    }

    /// Whether a fold kept overlapping the read (default true).
    pub fn settled(mut self, settled: bool) -> SnapshotBuilder {
        self.settled = settled;
        self
    }

    /// Whether the writer is alive, as a tool that asked would know.
    pub fn liveness(mut self, liveness: Liveness) -> SnapshotBuilder {
        self.liveness = Some(liveness);
        self
    }

    /// A field and its value.
    pub fn field(self, meta: FieldMeta, value: Value) -> SnapshotBuilder {
        self.field_result(meta, Ok(value))
    }

    /// A field and its value, or why it could not be read.
    pub fn field_result(
        mut self,
        meta: FieldMeta,
        value: Result<Value, ValueError>,
    ) -> SnapshotBuilder {
        self.fields.push(field_value(meta, value));
        self
    }

    /// Fields made elsewhere (their metadata shared, as a file's cache shares it).
    pub fn field_values(mut self, fields: impl IntoIterator<Item = FieldValue>) -> SnapshotBuilder {
        self.fields.extend(fields);
        self
    }

    /// The snapshot.
    pub fn build(self) -> Snapshot {
        Snapshot {
            path: self.path,
            info: self.info,
            taken: self.taken,
            listed: None,
            appeared: None,
            fold_seq: self.fold_seq,
            fields: self.fields.into_iter().collect(),
            settled: self.settled,
            liveness: self.liveness,
        }
    }
}
