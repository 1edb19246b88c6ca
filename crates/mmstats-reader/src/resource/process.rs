//! One process's resources, under `proc.`.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use procfs::process::Process;
use procfs::{Current, Meminfo, ProcError};

use super::{Fields, PROCESS_WRITER, percent, reason, resource_kind};
use crate::clock::unix_seconds;
use crate::error::{ErrorKind, ReadError};
use crate::snapshot::Snapshot;
use crate::writer::{FileInfo, FormatVersion};

/// Reads processes' resources from `/proc/<pid>` into [`Snapshot`]s (labels under `proc.`).
///
/// The source keeps each process's CPU time of the previous sample, keyed by pid and start
/// time so that a reused pid starts afresh, for `proc.cpu.percent` (see the
/// [module docs](super)).
#[derive(Debug)]
pub struct ProcessSource {
    /// (pid, start time) → (CPU ticks, when read).
    previous: HashMap<(u32, u64), (u64, Instant)>,
    boot_id: Option<[u8; 16]>,
    ticks_per_second: f64,
    page_size: u64,
    /// `MemTotal` read once for all the processes of one [`ProcessSource::sample_many`].
    mem_total: Option<Result<u64, super::Reason>>,
}

impl Default for ProcessSource {
    fn default() -> Self {
        ProcessSource::new()
    }
}

/// The distinct pids of the stats files among `snaps` (resource snapshots left out), in order.
pub fn pids_of(snaps: &[Snapshot]) -> Vec<u32> {
    let set: BTreeSet<u32> = snaps
        .iter()
        .filter(|s| resource_kind(s).is_none())
        .filter_map(|s| s.info.pid)
        .filter(|p| *p > 0)
        .collect();
    set.into_iter().collect()
}

impl ProcessSource {
    /// A source with no previous samples.
    pub fn new() -> ProcessSource {
        ProcessSource {
            previous: HashMap::new(),
            boot_id: crate::process::current_boot_id(),
            ticks_per_second: procfs::ticks_per_second().max(1) as f64,
            page_size: procfs::page_size().max(1),
            mem_total: None,
        }
    }

    /// Reads process `pid` now.
    ///
    /// Fails only when the process cannot be identified: it does not exist, exited (a zombie
    /// that its parent has not reaped yet included) or gave its pid to another process while
    /// being read (an I/O error of kind `NotFound`, "no such
    /// process"; see [`is_gone`](super::is_gone)), or its `/proc/<pid>/stat` is unreadable. Any
    /// other metric that cannot be read (`/proc/<pid>/io` and `fd/` of another user's process)
    /// carries the reason instead of a value.
    pub fn sample(&mut self, pid: u32) -> Result<Snapshot, ReadError> {
        let path = PathBuf::from(format!("/proc/{pid}"));
        let fail = |e: ProcError| ReadError::new(&path, error_kind(e));
        let raw = i32::try_from(pid)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| ReadError::new(&path, no_process()))?;
        let taken = SystemTime::now();
        let now = Instant::now();
        let p = Process::new(raw).map_err(fail)?;
        let stat = p.stat().map_err(fail)?;
        // A process that exited and waits to be reaped has no memory and no threads left.
        if matches!(stat.state, 'Z' | 'X' | 'x') {
            return Err(ReadError::new(&path, no_process()));
        }
        let tps = self.ticks_per_second;
        let mut f = Fields::default();

        let rss = stat.rss.saturating_mul(self.page_size);
        f.gauge("proc.mem.rss".into(), "bytes", "resident memory", Ok(rss));
        f.gauge(
            "proc.mem.vms".into(),
            "bytes",
            "virtual memory",
            Ok(stat.vsize),
        );
        let total = match &self.mem_total {
            Some(t) => t.clone(),
            None => Meminfo::current().map(|m| m.mem_total).map_err(reason),
        };
        f.gauge_f(
            "proc.mem.percent".into(),
            "percent",
            "resident memory / physical memory",
            total.map(|t| percent(rss as f64, t as f64)),
        );

        let ticks = stat.utime + stat.stime;
        f.counter_f(
            "proc.cpu.user".into(),
            "seconds",
            "CPU time in user code",
            Ok(stat.utime as f64 / tps),
        );
        f.counter_f(
            "proc.cpu.system".into(),
            "seconds",
            "CPU time in the kernel",
            Ok(stat.stime as f64 / tps),
        );
        let key = (pid, stat.starttime);
        let cpu_percent = match self.previous.get(&key) {
            Some((before, at)) => {
                let secs = now.duration_since(*at).as_secs_f64();
                Ok(percent(ticks.saturating_sub(*before) as f64 / tps, secs))
            }
            None => crate::process::process_start(stat.starttime)
                .and_then(|start| taken.duration_since(start).ok())
                .map(|age| percent(ticks as f64 / tps, age.as_secs_f64()))
                .ok_or_else(|| "no boot time in /proc/stat".to_string()),
        };
        self.previous.insert(key, (ticks, now));
        f.gauge_f(
            "proc.cpu.percent".into(),
            "percent",
            "CPU time since the previous sample, up to 100 × cores",
            cpu_percent,
        );

        let status = p.status().map_err(reason);
        let from_status = |pick: fn(&procfs::process::Status) -> Option<u64>, what: &str| {
            status
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|s| pick(s).ok_or_else(|| format!("/proc/{pid}/status has no {what}")))
        };
        f.counter(
            "proc.ctxt.voluntary".into(),
            "",
            "voluntary context switches (waits)",
            from_status(|s| s.voluntary_ctxt_switches, "voluntary_ctxt_switches"),
        );
        f.counter(
            "proc.ctxt.involuntary".into(),
            "",
            "involuntary context switches (preemptions)",
            from_status(
                |s| s.nonvoluntary_ctxt_switches,
                "nonvoluntary_ctxt_switches",
            ),
        );
        f.gauge(
            "proc.threads".into(),
            "",
            "threads",
            Ok(stat.num_threads.max(0) as u64),
        );
        f.gauge_i(
            "proc.priority".into(),
            "",
            "scheduling priority (as /proc/<pid>/stat gives it)",
            Ok(stat.priority),
        );
        f.gauge_i("proc.nice".into(), "", "nice value", Ok(stat.nice));
        f.gauge(
            "proc.fds".into(),
            "",
            "open file descriptors",
            p.fd_count().map(|n| n as u64).map_err(reason),
        );
        let io = p.io().map_err(reason);
        f.counter(
            "proc.io.read.bytes".into(),
            "bytes",
            "bytes read from storage",
            io.as_ref().map(|i| i.read_bytes).map_err(Clone::clone),
        );
        f.counter(
            "proc.io.write.bytes".into(),
            "bytes",
            "bytes written to storage",
            io.map(|i| i.write_bytes),
        );
        let started = crate::process::process_start(stat.starttime);
        f.timestamp(
            "proc.start_time".into(),
            "when the process started",
            started
                .map(unix_seconds)
                .ok_or_else(|| "no boot time in /proc/stat".to_string()),
        );
        f.text(
            "proc.cmdline".into(),
            "command line",
            p.cmdline().map(|a| a.join(" ")).map_err(reason),
        );

        // A pid reused while we read would mix two processes: check it still names this one.
        match p.stat() {
            Ok(again) if again.starttime == stat.starttime => {}
            _ => return Err(ReadError::new(&path, no_process())),
        }

        let mut info = FileInfo::new(FormatVersion::V2, (0, stat.starttime));
        info.writer = PROCESS_WRITER.to_string();
        info.pid = Some(pid);
        info.uid = p.uid().ok();
        info.gid = status.as_ref().ok().map(|s| s.egid);
        info.start_time = Some(stat.starttime);
        info.boot_id = self.boot_id;
        info.created = started;
        Ok(Snapshot {
            path,
            info: Arc::new(info),
            taken,
            fold_seq: None,
            fields: f.out.into(),
            settled: true,
            liveness: None,
        })
    }

    /// Reads each of `pids`, and forgets the previous samples of processes not among them.
    pub fn sample_many(&mut self, pids: &[u32]) -> (Vec<Snapshot>, Vec<ReadError>) {
        let mut snaps = Vec::new();
        let mut errors = Vec::new();
        self.mem_total = Some(Meminfo::current().map(|m| m.mem_total).map_err(reason));
        for &pid in pids {
            match self.sample(pid) {
                Ok(s) => snaps.push(s),
                Err(e) => errors.push(e),
            }
        }
        self.mem_total = None;
        self.previous.retain(|(pid, _), _| pids.contains(pid));
        (snaps, errors)
    }
}

/// The error of a process that does not exist (or no longer).
fn no_process() -> ErrorKind {
    ErrorKind::Io(io::Error::new(io::ErrorKind::NotFound, "no such process"))
}

/// True if `e` says the process does not exist (or exited while being read).
pub fn is_gone(e: &ReadError) -> bool {
    matches!(&e.kind, ErrorKind::Io(io) if io.kind() == io::ErrorKind::NotFound)
}

/// A `procfs` error as a reader's error kind.
fn error_kind(e: ProcError) -> ErrorKind {
    match e {
        ProcError::NotFound(_) => no_process(),
        ProcError::PermissionDenied(_) => {
            ErrorKind::Io(io::Error::from(io::ErrorKind::PermissionDenied))
        }
        ProcError::Io(e, _) => ErrorKind::Io(e),
        other => ErrorKind::Io(io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Value};

    fn num(s: &Snapshot, label: &str) -> f64 {
        match &s.field(label).unwrap_or_else(|| panic!("no {label}")).value {
            Ok(Value::Number(n)) => n.as_f64(),
            other => panic!("{label}: {other:?}"),
        }
    }

    #[test]
    fn our_own_process_is_described_and_identified() {
        let mut src = ProcessSource::new();
        let me = std::process::id();
        let s = src.sample(me).unwrap();
        assert_eq!(s.info.pid, Some(me));
        assert_eq!(s.info.start_time, crate::process::process_start_time(me));
        assert!(s.info.boot_id.is_some());
        assert!(num(&s, "proc.mem.rss") > 0.0);
        assert!(num(&s, "proc.mem.vms") >= num(&s, "proc.mem.rss"));
        assert!(num(&s, "proc.threads") >= 1.0);
        assert!(num(&s, "proc.fds") >= 1.0);
        let meta = &s.field("proc.cpu.user").unwrap().meta;
        assert_eq!((meta.kind, meta.unit.as_str()), (Kind::Counter, "seconds"));
        assert!(
            matches!(&s.field("proc.cmdline").unwrap().value, Ok(Value::Text(t)) if !t.is_empty())
        );
        assert_eq!(resource_kind(&s), Some(super::super::ResourceKind::Process));
    }

    #[test]
    fn a_missing_process_is_an_error_naming_it() {
        let mut src = ProcessSource::new();
        // pid_max is at most 2^22
        let e = src.sample(4_194_305).unwrap_err();
        assert!(is_gone(&e), "{e}");
        assert_eq!(e.to_string(), "/proc/4194305: no such process");
        let e = src.sample(0).unwrap_err();
        assert!(is_gone(&e));
    }

    #[test]
    fn a_process_that_exited_is_gone_before_it_is_reaped() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let path = format!("/proc/{}/stat", child.id());
        // wait until it is a zombie, without reaping it
        for _ in 0..500 {
            let stat = std::fs::read_to_string(&path).unwrap();
            if stat
                .rsplit(')')
                .next()
                .unwrap()
                .trim_start()
                .starts_with('Z')
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let e = ProcessSource::new().sample(child.id()).unwrap_err();
        assert!(is_gone(&e), "{e}");
        child.wait().unwrap();
    }

    #[test]
    fn unreadable_metrics_keep_their_place_with_the_reason() {
        // pid 1 is often closed to us (another user's, or guarded by ptrace rules even from
        // root): whichever it is here, the metric says the same as a plain read.
        let mut src = ProcessSource::new();
        let s = src.sample(1).unwrap();
        assert!(num(&s, "proc.mem.rss") >= 0.0);
        let io = &s.field("proc.io.read.bytes").unwrap().value;
        match std::fs::read_to_string("/proc/1/io") {
            Ok(_) => assert!(io.is_ok(), "{io:?}"),
            Err(e) => {
                assert!(
                    matches!(io, Err(crate::ValueError::Unavailable(r)) if !r.is_empty()),
                    "{e}: {io:?}"
                );
                let err = io.as_ref().unwrap_err().to_string();
                assert!(err.starts_with("unavailable: "), "{err}");
            }
        }
    }

    #[test]
    fn pids_of_lists_stats_files_only() {
        let mut src = ProcessSource::new();
        let me = src.sample(std::process::id()).unwrap();
        let mut file = me.clone();
        let mut info = FileInfo::new(FormatVersion::V2, (5, 6));
        info.pid = Some(77);
        file.info = Arc::new(info);
        assert_eq!(pids_of(&[me, file.clone(), file]), vec![77]);
    }
}
