//! Read mmstats files: open and validate them, take consistent snapshots of their values,
//! discover them, combine one label across files, and follow their processes. It reads and
//! nothing else: every output format lives in `mmstats-render`.
//!
//! A [`StatsFile`] is one open file. Opening validates everything FORMAT.md §2.4 lists and
//! parses the field table once; [`StatsFile::snapshot`] then reads every value without tearing
//! (single words with one atomic load, multi-word values under their sequence counter) and
//! re-parses the table only when the writer appended fields. A [`Scanner`] keeps thousands of
//! files open across polls; [`Intervals`] turns samples into rates and per-interval values
//! by process (FORMAT.md §12); [`liveness`] tells a live writer from a dead one. [`resource`]
//! reads the machine's and processes' own resources from `/proc` into the same
//! [`Snapshot`]s.
//!
//! Every error names its file ([`ReadError`]); a value that cannot be read is an error for that
//! field alone ([`ValueError`]). Nothing here panics on a corrupt, truncated, foreign or
//! changing file.
//!
//! ```
//! use mmstats_format::{FieldMeta, Identity, Kind, Plan, Reserve, ValueType};
//! use mmstats_reader::{StatsFile, Value, Num};
//!
//! // Lay out a file with one counter, as a writer would, and give it a name.
//! let counter = FieldMeta::new("requests", Kind::Counter, ValueType::U64);
//! let mut plan = Plan::new(std::slice::from_ref(&counter), Reserve::default())?;
//! let mut image = vec![0u8; plan.geometry().file_length as usize];
//! plan.place(&counter)?.apply_to_image(&mut image);
//! image[..256].copy_from_slice(&plan.header(Identity { pid: 42, ..Identity::default() }).encode());
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("web-42-42.mmstats");
//! std::fs::write(&path, &image)?;
//!
//! // Read it.
//! let mut file = StatsFile::open(&path)?;
//! assert_eq!(file.info().pid, Some(42));
//! let snap = file.snapshot()?;
//! for f in snap.fields.iter() {
//!     println!("{} = {:?}", f.meta.label, f.value);
//! }
//! assert_eq!(snap.fields[0].meta.label, "requests");
//! assert_eq!(snap.fields[0].value, Ok(Value::Number(Num::U(0))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! All `unsafe` code lives in one private module, `region`, which reads the mapped words with
//! atomic loads and never forms a reference to shared memory; the rest of the crate is safe.
#![deny(unsafe_code)]

pub use discover::{
    check_dir, default_dir, default_glob, discover, jvm_glob, trust_dirs, watched_dirs, with_jvms,
};
pub use error::{ErrorKind, ReadError, ValueError};
pub use file::StatsFile;
pub use interval::{FileSample, Interval, Intervals, ProcessSample, Sample, Series, Shared};
pub use liveness::{by_identity, liveness};
pub use mmstats_format::labels;
pub use mmstats_format::merge;
pub use mmstats_format::{
    Combine, FieldMeta, FormatError, HistogramValue, Kind, Num, QUANTILES, Value, ValueType,
    WindowSummary, WindowedValue, bucket_bounds, unix_seconds,
};
pub use process::{ProcessId, boot_time, command_name, process_start};
pub use scan::{Scan, Scanner};
pub use snapshot::{FieldValue, Snapshot};
pub use writer::{FileInfo, FormatVersion, Liveness};

mod clock;
mod discover;
mod error;
mod fault;
mod file;
mod hsperf;
mod interval;
mod liveness;
mod process;
mod region;
pub mod resource;
mod scan;
mod seqlock;
mod snapshot;
mod v1;
mod wide;
mod writer;
