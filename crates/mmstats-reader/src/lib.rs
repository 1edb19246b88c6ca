//! Read mmstats files: open and validate them, take consistent snapshots of their values,
//! discover them, combine one label across files, and render them for people and tools.
//!
//! API SKELETON: signatures are the contract the tools build on; bodies are being written.
//!
//! ```no_run
//! use mmstats_reader::StatsFile;
//!
//! let mut file = StatsFile::open("/dev/shm/mmstats-1000/web-1-1.mmstats")?;
//! let snap = file.snapshot()?;
//! for f in &snap.fields {
//!     println!("{} = {:?}", f.meta.label, f.value);
//! }
//! # Ok::<(), mmstats_reader::ReadError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

pub mod render;

pub use mmstats_format::{
    Combine, FieldMeta, FormatError, Histogram, Kind, Num, QUANTILES, Value, ValueType, Windowed,
};

/// An error reading one file: which file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong reading a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O error (permission denied, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a valid mmstats file.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// The file disappeared while being read.
    #[error("file vanished while being read")]
    Vanished,
    /// Not a regular file (directory, device, fifo, symlink when not following).
    #[error("not a regular file")]
    NotRegular,
    /// A glob pattern is invalid.
    #[error("bad pattern: {0}")]
    Pattern(String),
}

/// Why a multi-word value could not be read consistently (FORMAT.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The sequence counter stayed odd and the writer holds the file's lock.
    #[error("being written")]
    BeingWritten,
    /// The sequence counter stayed odd and nobody holds the file's lock.
    #[error("writer died mid-update")]
    WriterDied,
    /// The slot holds an impossible value.
    #[error("corrupt value: {0}")]
    Corrupt(String),
}

/// Which format a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FormatVersion {
    /// The original Python mmstats format.
    V1,
    /// Format version 2.
    V2,
}

/// Identity and state of a file's writer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileInfo {
    /// The format.
    pub version: FormatVersion,
    /// Writer pid (v1: from `sys.pid`).
    pub pid: Option<u32>,
    /// Writer thread id; `Some(0)` for a per-process totals file.
    pub tid: Option<u32>,
    /// Writer uid.
    pub uid: Option<u32>,
    /// Writer gid.
    pub gid: Option<u32>,
    /// Process start time in clock ticks after boot.
    pub start_time: Option<u64>,
    /// Boot id bytes.
    pub boot_id: Option<[u8; 16]>,
    /// Creation time.
    pub created: Option<SystemTime>,
    /// Writing library and version.
    pub writer: String,
    /// The writer set `CLOSED`.
    pub closed: bool,
    /// The file holds a process's totals folded from ended threads.
    pub process_totals: bool,
    /// Device and inode, to notice a file replaced under the same name.
    pub dev_ino: (u64, u64),
}

/// One open stats file, with its parsed metadata cached until the generation changes.
#[derive(Debug)]
pub struct StatsFile {
    path: PathBuf,
}

/// Every value of one file at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The file.
    pub path: PathBuf,
    /// Its writer.
    pub info: Arc<FileInfo>,
    /// When the values were read.
    pub taken: SystemTime,
    /// One entry per field, in table order.
    pub fields: Vec<FieldValue>,
}

/// One field's metadata and value in a snapshot.
#[derive(Debug, Clone)]
pub struct FieldValue {
    /// Metadata, shared with the file's cache.
    pub meta: Arc<FieldMeta>,
    /// The value, or why it could not be read.
    pub value: Result<Value, ValueError>,
}

impl StatsFile {
    /// Opens and validates a file of either format, following symlinks.
    pub fn open(path: impl AsRef<Path>) -> Result<StatsFile, ReadError> {
        let _ = path;
        todo!()
    }

    /// Like [`StatsFile::open`] but refuses a symlink at the path's last component
    /// (`O_NOFOLLOW`), for tools that delete files.
    pub fn open_nofollow(path: impl AsRef<Path>) -> Result<StatsFile, ReadError> {
        let _ = path;
        todo!()
    }

    /// The path it was opened as.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Identity and state of its writer.
    pub fn info(&self) -> &FileInfo {
        todo!()
    }

    /// Field metadata as of the last refresh.
    pub fn fields(&self) -> &[Arc<FieldMeta>] {
        todo!()
    }

    /// Re-reads the metadata if the generation changed; `true` if it did.
    pub fn refresh(&mut self) -> Result<bool, ReadError> {
        todo!()
    }

    /// Refreshes, then reads every value consistently.
    pub fn snapshot(&mut self) -> Result<Snapshot, ReadError> {
        todo!()
    }

    /// True if the path now names a different file, or nothing.
    pub fn is_replaced(&self) -> bool {
        todo!()
    }

    /// True if some process holds the file's `flock` (its writer is alive).
    pub fn lock_held(&self) -> bool {
        todo!()
    }
}

impl FieldValue {
    /// The derived values this field exposes, as (`label.suffix`, value): e.g.
    /// `latency.p99` for a timer. Empty for scalars and text.
    pub fn exposed(&self, now: SystemTime, created: Option<SystemTime>) -> Vec<(String, f64)> {
        let _ = (now, created);
        todo!()
    }
}

/// The stats directory readers look in by default (FORMAT.md §6.1).
pub fn default_dir() -> PathBuf {
    todo!()
}

/// The default glob: `$MMSTATS_GLOB`, else `<default_dir>/*.mmstats`.
pub fn default_glob() -> String {
    todo!()
}

/// Expands paths and globs (an existing path is taken as it is; an empty list means the default
/// glob) into sorted, deduplicated file paths, skipping names that start with `.`.
pub fn discover<S: AsRef<str>>(patterns: &[S]) -> (Vec<PathBuf>, Vec<ReadError>) {
    let _ = patterns;
    todo!()
}

/// Keeps many files open across polls: new files are opened, vanished ones dropped, replaced
/// ones re-opened, and metadata re-parsed only when a generation changes.
#[derive(Debug)]
pub struct Scanner {
    patterns: Vec<String>,
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// A snapshot of every readable file, sorted by path.
    pub snapshots: Vec<Snapshot>,
    /// One error per file that could not be read.
    pub errors: Vec<ReadError>,
}

impl Scanner {
    /// A scanner over these paths and globs (empty: the default glob).
    pub fn new(patterns: Vec<String>) -> Scanner {
        Scanner { patterns }
    }

    /// Re-discovers the files and snapshots each.
    pub fn scan(&mut self) -> Scan {
        let _ = &self.patterns;
        todo!()
    }
}

/// Whether a file's writer is alive (FORMAT.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The writer holds the lock, or its identity names a running process.
    Alive,
    /// Nobody holds the lock and the identity names no running process; the reason says why.
    Dead(String),
}

/// Decides whether a file's writer is alive. Takes and releases the file's lock.
pub fn liveness(file: &StatsFile) -> Liveness {
    let _ = file;
    todo!()
}

/// One label combined over many files.
#[derive(Debug, Clone)]
pub struct Combined {
    /// Metadata of the first file that had the label.
    pub meta: Arc<FieldMeta>,
    /// The combined value (histograms merged, counters summed, ...).
    pub value: Value,
    /// How many files contributed.
    pub files: usize,
}

/// Combines every label across snapshots by each field's rule, or by `rule` when given.
pub fn combine(snapshots: &[Snapshot], rule: Option<Combine>) -> Vec<Combined> {
    let _ = (snapshots, rule);
    todo!()
}
