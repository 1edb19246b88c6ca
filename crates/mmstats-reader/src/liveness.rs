//! Whether a file's writer is still alive (FORMAT.md §6.3).

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::file::StatsFile;
use crate::process::{current_boot_id, process_start_time};
use crate::writer::{FileInfo, FormatVersion, Liveness};

/// Decides whether a file's writer is alive. Takes and releases the file's lock.
///
/// A version-2 file is alive while some process holds its `flock`. Otherwise it is dead only
/// when its recorded identity provably names no running process: the machine booted since
/// (`boot_id` differs), no process has the pid (`kill(pid, 0)` fails with `ESRCH`; `EPERM`
/// means the process exists), or the process with that pid started at another time
/// (`/proc/<pid>/stat` field 22 differs from `start_time`). When in doubt it is alive.
///
/// A version-1 file has no lock and no start time: it is alive while a process has its
/// `sys.pid`, and alive when it records no pid at all.
pub fn liveness(file: &StatsFile) -> Liveness {
    let info = file.info();
    if matches!(info.version, FormatVersion::V2 | FormatVersion::Hsperf) && file.lock_held() {
        return Liveness::Alive;
    }
    by_identity(info)
}

/// Whether a writer's recorded identity names a running process (FORMAT.md §6.3, part 2),
/// without asking about the file's lock: what a reader checks once per process and sample.
/// When in doubt it is alive.
pub fn by_identity(info: &FileInfo) -> Liveness {
    if info.version == FormatVersion::Hsperf {
        return crate::hsperf::liveness(info);
    }
    if info.resource_kind().is_some() {
        // the machine's own resources, or a process's read from /proc just now (a process's
        // are read only while it runs)
        return Liveness::Alive;
    }
    if let (Some(recorded), Some(current)) = (info.boot_id, current_boot_id())
        && recorded != [0; 16]
        && recorded != current
    {
        return Liveness::Dead("written before the machine last booted".into());
    }
    let pid = match info.pid {
        Some(pid) => pid,
        None if info.version == FormatVersion::V1 => return Liveness::Alive,
        None => return Liveness::Dead("no writer pid recorded".into()),
    };
    // kill(0, ...) and negative pids address process groups: never ask about those.
    let Some(raw) = i32::try_from(pid).ok().filter(|p| *p > 0) else {
        return Liveness::Dead(format!("{pid} is not a valid process id").into());
    };
    // EPERM: the process exists but belongs to someone else; it counts as running.
    if let Err(Errno::ESRCH) = kill(Pid::from_raw(raw), None) {
        return Liveness::Dead(format!("no process {pid}").into());
    }
    if let Some(recorded) = info.start_time.filter(|t| *t != 0)
        && let Some(now) = process_start_time(pid)
        && now != recorded
    {
        return Liveness::Dead(
            format!("pid {pid} now belongs to a process started at tick {now}, not {recorded}")
                .into(),
        );
    }
    Liveness::Alive
}
