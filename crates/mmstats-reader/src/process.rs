//! Processes: the files of one writer process, told apart by (boot id, pid, start time)
//! (FORMAT.md §6.5), and the clock facts needed to place a process in time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::parse_boot_id;

use crate::snapshot::Snapshot;
use crate::writer::FileInfo;

/// Who wrote a file: one process, or, when a file records no pid, that file alone.
///
/// A pid reused by a later process has another start time, so it is another process; a file
/// that does not record its start time or boot id (version 1) has zeros there, so its process
/// is known by its pid alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcessId {
    /// A process.
    Process {
        /// The pid.
        pid: u32,
        /// Its start time in clock ticks after boot (`/proc/<pid>/stat` field 22); 0 if unknown.
        start_time: u64,
        /// The boot id of the machine it ran on; all zero if unknown.
        boot_id: [u8; 16],
    },
    /// A file whose writer recorded no pid.
    File(PathBuf),
}

impl ProcessId {
    /// The process that wrote a file with this identity at `path`.
    pub fn of(info: &FileInfo, path: &Path) -> ProcessId {
        match info.pid {
            Some(pid) => ProcessId::Process {
                pid,
                start_time: info.start_time.unwrap_or(0),
                boot_id: info.boot_id.unwrap_or([0; 16]),
            },
            None => ProcessId::File(path.to_path_buf()),
        }
    }

    /// The pid, if known.
    pub fn pid(&self) -> Option<u32> {
        match self {
            ProcessId::Process { pid, .. } => Some(*pid),
            ProcessId::File(_) => None,
        }
    }
}

impl FileInfo {
    /// The earliest time the writer could have recorded anything now in this file: its
    /// creation for a thread's file, the process's start for a process file (which holds the
    /// values of threads older than itself). A windowed rate is divided by no more than the
    /// time since then (FORMAT.md §12).
    pub fn active_since(&self) -> Option<SystemTime> {
        if self.process_totals
            && let Some(start) = self.start_time.filter(|t| *t != 0).and_then(process_start)
        {
            return Some(start);
        }
        self.created
    }
}

/// The program name of a snapshot's writer: the command the file records (a JVM's main class
/// or jar), else the `{CMD}` part of a `{CMD}-{PID}-{TID}` file name, else `/proc/<pid>/comm`,
/// else empty.
pub fn command_name(snap: &Snapshot) -> String {
    if let Some(cmd) = &snap.info.command {
        return cmd.clone();
    }
    if let Some(cmd) = crate::discover::command_from_file_name(&snap.path) {
        return cmd;
    }
    snap.info
        .pid
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// The wall-clock time a process with this start time (clock ticks after boot) started, on
/// this machine's current boot.
pub fn process_start(ticks: u64) -> Option<SystemTime> {
    let boot = boot_time()?;
    let hz = clock_ticks_per_second()?;
    let after = Duration::from_secs_f64(ticks as f64 / hz as f64);
    boot.checked_add(after)
}

/// When the machine booted (`btime` in `/proc/stat`), read once.
pub fn boot_time() -> Option<SystemTime> {
    static BOOT: OnceLock<Option<SystemTime>> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let secs: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        UNIX_EPOCH.checked_add(Duration::from_secs(secs))
    })
}

/// The kernel's clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of start times.
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    static HZ: OnceLock<Option<u64>> = OnceLock::new();
    *HZ.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|v| u64::try_from(v).ok())
            .filter(|v| *v > 0)
    })
}

/// The current boot id, if the kernel tells it: read once (it is the running kernel's, and
/// the liveness of every process of every sample asks for it).
pub(crate) fn current_boot_id() -> Option<[u8; 16]> {
    static BOOT_ID: std::sync::OnceLock<Option<[u8; 16]>> = std::sync::OnceLock::new();
    *BOOT_ID.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        parse_boot_id(&text)
    })
}

/// Field 22 of `/proc/<pid>/stat`: the process's start time in clock ticks after boot.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    mmstats_format::parse_start_time(&stat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::FormatVersion;

    #[test]
    fn a_reused_pid_is_another_process() {
        let info = |start: u64| FileInfo {
            pid: Some(7),
            start_time: Some(start),
            boot_id: Some([1; 16]),
            ..FileInfo::new(FormatVersion::V2, (0, 0))
        };
        let p = Path::new("/s/a.mmstats");
        assert_eq!(ProcessId::of(&info(10), p), ProcessId::of(&info(10), p));
        assert_ne!(ProcessId::of(&info(10), p), ProcessId::of(&info(11), p));
        let anon = FileInfo::new(FormatVersion::V1, (0, 0));
        assert_eq!(
            ProcessId::of(&anon, p),
            ProcessId::File(PathBuf::from("/s/a.mmstats"))
        );
        assert_eq!(ProcessId::of(&info(10), p).pid(), Some(7));
    }

    #[test]
    fn our_own_start_is_in_the_past_and_after_boot() {
        let me = std::process::id();
        let ticks = process_start_time(me).expect("own start time");
        let start = process_start(ticks).expect("start");
        assert!(start <= SystemTime::now());
        assert!(start >= boot_time().expect("boot time"));
        // A process file's windows begin at the process's start; a thread file's at creation.
        let created = SystemTime::now();
        let mut info = FileInfo {
            start_time: Some(ticks),
            created: Some(created),
            ..FileInfo::new(FormatVersion::V2, (0, 0))
        };
        assert_eq!(info.active_since(), Some(created));
        info.process_totals = true;
        assert_eq!(info.active_since(), Some(start));
    }

    #[test]
    fn our_own_start_time_is_readable() {
        let me = std::process::id();
        let t = process_start_time(me).expect("/proc/self/stat");
        assert!(t > 0);
        assert_eq!(process_start_time(me), Some(t));
    }
}
