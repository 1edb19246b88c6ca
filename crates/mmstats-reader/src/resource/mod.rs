//! Host and process resources read from `/proc`, as ordinary [`Snapshot`]s.
//!
//! Two sources sit beside the stats files, read on the reader's side so that they cost the
//! programs nothing:
//!
//! - [`HostSource`]: the machine (labels under `host.`): CPU times per state and per core,
//!   CPU percent, load, context switches, interrupts, forks, memory and swap, network
//!   interfaces, disks, mounted filesystems, uptime and boot time.
//! - [`ProcessSource`]: one process (labels under `proc.`): memory, CPU times and percent,
//!   context switches, threads, priority and nice, open descriptors, I/O bytes, start time and
//!   command line. Its snapshots carry the process's pid, start time and boot id in
//!   [`FileInfo`], as a stats file of that process does.
//!
//! `format-spec/RESOURCES.md` lists every label with its kind and unit. Cumulative numbers are
//! counters (tools show their rates), levels are gauges; units are `bytes`, `seconds` and
//! `percent`.
//!
//! [`Resources`] adds both to each [`Scan`](crate::Scan) of a polling tool. In the
//! [`Intervals`](crate::Intervals) engine's sample a process's resource snapshot is one more
//! file of that process (they share its pid, start time and boot id), so its counters get
//! their rates from the engine; the host is a process of its own. [`stats_only`] takes them
//! out again for views that show resources apart.
//!
//! **Percent needs two samples.** Each source keeps its previous sample, and its `percent`
//! gauges cover the time since then; the first sample of a source covers the time since boot
//! (host) or since the process started, as `ps` shows. Tools that keep their own samples can
//! also take the rate of a CPU-seconds counter: ×100 it is the same percent over their own
//! interval.
//!
//! **Nothing here fails a whole sample for one unreadable entry.** A metric whose `/proc` file
//! cannot be read (another user's process, a process that exited meanwhile, a kernel without
//! that file) keeps its place in the snapshot with [`ValueError::Unavailable`] and the reason,
//! which every renderer shows (JSON as the field's `error`). A whole family that cannot be
//! listed (no `/proc/net/dev`, say) appears as one such field named after the family
//! (`host.net`).
//!
//! ```
//! use mmstats_reader::resource::{HostSource, ProcessSource, ResourceKind, resource_kind};
//!
//! let mut host = HostSource::new();
//! let snap = host.sample();
//! assert_eq!(resource_kind(&snap), Some(ResourceKind::Host));
//! assert!(snap.field("host.mem.total").is_some());
//!
//! let mut procs = ProcessSource::new();
//! let me = procs.sample(std::process::id())?;
//! assert_eq!(me.info.pid, Some(std::process::id()));
//! assert!(me.field("proc.mem.rss").is_some());
//! # Ok::<(), mmstats_reader::ReadError>(())
//! ```

use std::sync::Arc;

use mmstats_format::{FieldMeta, Kind, Num, Value, ValueType};

use crate::error::ValueError;
use crate::snapshot::{FieldValue, Snapshot};
use crate::writer::FileInfo;

pub use host::HostSource;
pub use process::{ProcessSource, is_gone, pids_of};
pub use sample::{StatsSeries, is_host, resource_files, resource_labels, stats_only, stats_series};
pub use set::Resources;

pub use crate::writer::{HOST_WRITER, PROCESS_WRITER, ResourceKind};

mod host;
mod process;
mod sample;
mod set;

/// Which resource source made `snap`; `None` for a stats file's snapshot.
pub fn resource_kind(snap: &Snapshot) -> Option<ResourceKind> {
    snap.info.resource_kind()
}

/// Which resource source a snapshot with this identity came from (as [`resource_kind`]): for
/// the files of an [`Intervals`](crate::Intervals) sample, which keep their identity only.
pub fn resource_kind_of(info: &FileInfo) -> Option<ResourceKind> {
    info.resource_kind()
}

/// Fields of one resource snapshot, in the order they are added.
#[derive(Debug, Default)]
struct Fields {
    out: Vec<FieldValue>,
    /// The metadata of the previous snapshot's fields, in their order: a field added with
    /// the same metadata at the same place takes it again, so that the fields of one source
    /// keep one metadata from sample to sample (as a stats file's do), and cost no new one.
    previous: Vec<Arc<FieldMeta>>,
}

/// Why a value is missing, for [`ValueError::Unavailable`].
type Reason = String;

impl Fields {
    fn push(
        &mut self,
        label: String,
        kind: Kind,
        value_type: ValueType,
        unit: &str,
        help: &str,
        value: Result<Value, Reason>,
    ) {
        let same = |m: &FieldMeta| {
            m.label == label
                && m.kind == kind
                && m.value_type == value_type
                && m.unit == unit
                && m.help == help
        };
        let meta = match self.previous.get(self.out.len()) {
            Some(m) if same(m) => Arc::clone(m),
            _ => meta(label, kind, value_type, unit, help),
        };
        self.push_meta(&meta, value);
    }

    /// Fields that take the metadata of `previous`'s where they are the same.
    fn after(previous: Vec<Arc<FieldMeta>>) -> Fields {
        Fields {
            out: Vec::with_capacity(previous.len()),
            previous,
        }
    }

    /// A value under metadata made once (with [`meta`]) and shared by every sample.
    fn push_meta(&mut self, meta: &Arc<FieldMeta>, value: Result<Value, Reason>) {
        self.out.push(FieldValue {
            meta: Arc::clone(meta),
            value: value.map_err(ValueError::Unavailable),
        });
    }

    /// A cumulative count (u64).
    fn counter(&mut self, label: String, unit: &str, help: &str, v: Result<u64, Reason>) {
        let v = v.map(|n| Value::Number(Num::U(n)));
        self.push(label, Kind::Counter, ValueType::U64, unit, help, v);
    }

    /// A cumulative amount (f64: seconds).
    fn counter_f(&mut self, label: String, unit: &str, help: &str, v: Result<f64, Reason>) {
        let v = v.map(|n| Value::Number(Num::F(n)));
        self.push(label, Kind::Counter, ValueType::F64, unit, help, v);
    }

    /// A level (u64).
    fn gauge(&mut self, label: String, unit: &str, help: &str, v: Result<u64, Reason>) {
        let v = v.map(|n| Value::Number(Num::U(n)));
        self.push(label, Kind::Gauge, ValueType::U64, unit, help, v);
    }

    /// A level (f64).
    fn gauge_f(&mut self, label: String, unit: &str, help: &str, v: Result<f64, Reason>) {
        let v = v.map(|n| Value::Number(Num::F(n)));
        self.push(label, Kind::Gauge, ValueType::F64, unit, help, v);
    }

    /// A point in time, in seconds since the Unix epoch.
    fn timestamp(&mut self, label: String, help: &str, v: Result<f64, Reason>) {
        let v = v.map(|n| Value::Number(Num::F(n)));
        self.push(label, Kind::Timestamp, ValueType::F64, "seconds", help, v);
    }
}

/// A resource field's metadata.
fn meta(
    label: impl Into<String>,
    kind: Kind,
    value_type: ValueType,
    unit: &str,
    help: &str,
) -> Arc<FieldMeta> {
    let mut meta = FieldMeta::new(label, kind, value_type);
    meta.unit = unit.to_string();
    meta.help = help.to_string();
    Arc::new(meta)
}

/// `part` of `whole` in percent, 0 when `whole` is 0.
fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

/// A `procfs` error as a reason.
fn reason(e: procfs::ProcError) -> Reason {
    e.to_string()
}
