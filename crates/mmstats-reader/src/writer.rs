//! Who wrote a file and in which format: the identity and state a reader learns from the file
//! (FORMAT.md §2, §6), and whether its writer is alive (§6.3).

use std::sync::Arc;
use std::time::SystemTime;

/// Which format a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum FormatVersion {
    /// The original Python mmstats format.
    V1,
    /// Format version 2.
    V2,
    /// A HotSpot JVM's performance data file (`format-spec/HSPERFDATA.md`).
    Hsperf,
}

/// The `writer` of a host snapshot's [`FileInfo`] (made by
/// [`HostSource`](crate::resource::HostSource)).
pub const HOST_WRITER: &str = "mmstats-reader host";
/// The `writer` of a process snapshot's [`FileInfo`] (made by
/// [`ProcessSource`](crate::resource::ProcessSource)).
pub const PROCESS_WRITER: &str = "mmstats-reader process";

/// Which source a snapshot came from, when it did not come from a stats file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The machine's own resources ([`HostSource`](crate::resource::HostSource)).
    Host,
    /// A process's resources read from `/proc` ([`ProcessSource`](crate::resource::ProcessSource)).
    Process,
}

/// Identity and state of a file's writer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// The thread's values were folded into its process file (FORMAT.md §6.4): they are
    /// counted there, not here.
    pub folded: bool,
    /// Device and inode, to notice a file replaced under the same name.
    pub dev_ino: (u64, u64),
    /// The writer's command name when the file records one (a JVM's main class or jar, from
    /// `sun.rt.javaCommand`).
    pub command: Option<String>,
}

impl FileInfo {
    /// Which resource source made a snapshot with this identity; `None` for a stats file's
    /// (a resource snapshot has no file: its device and inode are zero).
    pub fn resource_kind(&self) -> Option<ResourceKind> {
        match self.writer.as_str() {
            HOST_WRITER if self.dev_ino.0 == 0 => Some(ResourceKind::Host),
            PROCESS_WRITER if self.dev_ino.0 == 0 => Some(ResourceKind::Process),
            _ => None,
        }
    }

    /// A file of `version` (device and inode `dev_ino`) whose writer is not known yet: no
    /// identity, no writer name, neither closed nor a process's totals.
    pub fn new(version: FormatVersion, dev_ino: (u64, u64)) -> FileInfo {
        FileInfo {
            version,
            pid: None,
            tid: None,
            uid: None,
            gid: None,
            start_time: None,
            boot_id: None,
            created: None,
            writer: String::new(),
            closed: false,
            process_totals: false,
            folded: false,
            dev_ino,
            command: None,
        }
    }
}

/// Whether a file's writer is alive (FORMAT.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The writer holds the lock, or its identity names a running process.
    Alive,
    /// Nobody holds the lock and the identity names no running process; the reason says why
    /// (shared: samples of a dead process hand the same reason on without copying it).
    Dead(Arc<str>),
}
