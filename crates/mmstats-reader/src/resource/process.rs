//! One process's resources, under `proc.`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use mmstats_format::{FieldMeta, Kind, Num, StatLine, Value, ValueType};
use procfs::ProcError;
use procfs::process::Process;

use super::{Fields, PROCESS_WRITER, Reason, meta, percent, resource_kind};
use crate::clock::unix_seconds;
use crate::error::{ErrorKind, ReadError};
use crate::snapshot::Snapshot;
use crate::writer::{FileInfo, FormatVersion};

/// A process's command line and owner are read again after this many samples from the
/// cache (and at once when its command name changes: it executed another program).
const REFRESH: u32 = 10;

/// The most processes whose `/proc` files stay open between samples (four descriptors each),
/// however high the descriptor limit.
const KEEP_OPEN_UP_TO: usize = 256;

/// How many processes may keep their `/proc` files open under a soft descriptor limit of
/// `limit`: their four descriptors each take at most a quarter of it, and never more than
/// [`KEEP_OPEN_UP_TO`] processes do. The rest of the limit is left to the program's own files
/// (a recorder's stats files, its store, its perf counters).
fn keep_open_under(limit: u64) -> usize {
    usize::try_from(limit / 16).map_or(KEEP_OPEN_UP_TO, |n| n.min(KEEP_OPEN_UP_TO))
}

/// Reads processes' resources from `/proc/<pid>` into [`Snapshot`]s (labels under `proc.`).
///
/// Each sample reads only what changes: `stat`, `status`, `io` and the count of open
/// descriptors (one `stat` of `fd/` on Linux 6.2 and later, a walk of the directory before).
/// What is fixed for a process, keyed by its pid and start time, is kept: its command line and
/// owner (user and group; read again every few samples, and when its command name changes
/// because it executed another program), its identity, and the fields' metadata. A reused pid
/// (another start time) is another process: everything kept of the old one is dropped. The
/// previous CPU time is kept the same way, for `proc.cpu.percent` (see the
/// [module docs](super)).
///
/// The files read at each sample stay open between samples: four descriptors a process (its
/// `/proc` directory, `stat`, `status`, `io`), closed when [`ProcessSource::sample_many`] no
/// longer asks for it or it exits. That holds while the source knows at most 256 processes,
/// and fewer under a low descriptor limit (their descriptors take at most a quarter of the
/// soft limit when the source is made: 64 processes under 1,024); past that, each sample
/// opens and closes them, so that a large process tree never takes the descriptors the stats
/// files need. They stay bound to the process they were opened for, so a newcomer with its
/// pid is never read through them.
#[derive(Debug)]
pub struct ProcessSource {
    /// What is kept of each process, by pid.
    known: HashMap<u32, Known>,
    boot_id: Option<[u8; 16]>,
    ticks_per_second: f64,
    page_size: u64,
    /// `MemTotal` read once for all the processes of one [`ProcessSource::sample_many`].
    mem_total: Option<Result<u64, Reason>>,
    /// `/proc/meminfo`, kept open.
    meminfo: Option<std::fs::File>,
    metas: Metas,
    /// The buffer every `/proc` file is read into.
    buf: Buf,
    /// Counts the calls of [`ProcessSource::sample_many`], to forget processes no longer asked for.
    round: u64,
    /// How many processes keep their `/proc` files open between samples
    /// ([`keep_open_under`] the soft descriptor limit when the source was made).
    keep_open: usize,
}

/// What is kept of one process (a pid and a start time) between its samples.
#[derive(Debug)]
struct Known {
    start_time: u64,
    /// The command name when the command line was read.
    comm: String,
    cmdline: Result<String, Reason>,
    /// Samples left before the command line and owner are read again.
    fresh_for: u32,
    started: Option<SystemTime>,
    info: Arc<FileInfo>,
    path: PathBuf,
    /// CPU ticks and when they were read, at the previous sample.
    previous: Option<(u64, Instant)>,
    /// Its open files, between samples.
    files: Option<Files>,
    /// The [`ProcessSource::round`] that last read it.
    round: u64,
}

/// The files of one process that are read at each sample, opened once.
#[derive(Debug)]
struct Files {
    /// Its directory in `/proc`.
    dir: Process,
    stat: Option<std::fs::File>,
    status: Option<std::fs::File>,
    io: Option<std::fs::File>,
}

/// Which of [`Files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Stat,
    Status,
    Io,
}

impl Files {
    fn open(pid: i32) -> Result<Files, ProcError> {
        Ok(Files {
            dir: Process::new(pid)?,
            stat: None,
            status: None,
            io: None,
        })
    }

    /// Reads `which` into `buf`, opening it the first time. An error that says the process
    /// is gone is [`Unread::Gone`] only if it really is gone: a file this kernel does not have
    /// (`io` without I/O accounting) is an error of its own.
    fn read(&mut self, which: File, buf: &mut Buf) -> Result<(), Unread> {
        let Files {
            dir,
            stat,
            status,
            io,
        } = self;
        let (slot, name) = match which {
            File::Stat => (stat, "stat"),
            File::Status => (status, "status"),
            File::Io => (io, "io"),
        };
        let result = match slot {
            Some(f) => read_from_start(f, buf).map_err(unread_io),
            None => match dir.open_relative(name) {
                Ok(f) => read_from_start(slot.insert(f), buf).map_err(unread_io),
                Err(e) => Err(unread(e)),
            },
        };
        match result {
            Err(Unread::Gone) if which != File::Stat && dir.is_alive() => {
                Err(Unread::Other(io::Error::from(io::ErrorKind::NotFound)))
            }
            other => other,
        }
    }

    /// Reads file `name` of the process into `buf`, without keeping it open.
    fn read_once(&self, name: &str, buf: &mut Buf) -> Result<(), Unread> {
        let f = self.dir.open_relative(name).map_err(unread)?;
        read_from_start(&f, buf).map_err(unread_io)
    }
}

/// The buffer `/proc` files are read into: zeroed once as it grows, never again, so that a
/// read costs no clearing of room it does not fill.
#[derive(Debug, Default)]
struct Buf {
    /// Always initialised up to its length, which only grows.
    bytes: Vec<u8>,
    /// How many bytes the last read gave.
    len: usize,
}

impl Buf {
    /// What the last read gave.
    fn get(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Reads `f` from its start into `buf`, with as few reads as it takes: a `/proc` file gives
/// all it holds to a read with room enough.
fn read_from_start(f: &std::fs::File, buf: &mut Buf) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    buf.len = 0;
    loop {
        if buf.bytes.len() - buf.len < 1024 {
            buf.bytes.resize(buf.bytes.len() + 4096, 0);
        }
        let room = buf.bytes.len() - buf.len;
        match f.read_at(&mut buf.bytes[buf.len..], buf.len as u64) {
            Ok(n) => {
                buf.len += n;
                if n < room {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The metadata of every field, made once.
#[derive(Debug)]
struct Metas {
    rss: Arc<FieldMeta>,
    vms: Arc<FieldMeta>,
    mem_percent: Arc<FieldMeta>,
    user: Arc<FieldMeta>,
    system: Arc<FieldMeta>,
    cpu_percent: Arc<FieldMeta>,
    voluntary: Arc<FieldMeta>,
    involuntary: Arc<FieldMeta>,
    threads: Arc<FieldMeta>,
    priority: Arc<FieldMeta>,
    nice: Arc<FieldMeta>,
    fds: Arc<FieldMeta>,
    read_bytes: Arc<FieldMeta>,
    write_bytes: Arc<FieldMeta>,
    start_time: Arc<FieldMeta>,
    cmdline: Arc<FieldMeta>,
}

impl Metas {
    fn new() -> Metas {
        use Kind::{Counter, Gauge, Text, Timestamp};
        use ValueType::{F64, I64, U64};
        Metas {
            rss: meta("proc.mem.rss", Gauge, U64, "bytes", "resident memory"),
            vms: meta("proc.mem.vms", Gauge, U64, "bytes", "virtual memory"),
            mem_percent: meta(
                "proc.mem.percent",
                Gauge,
                F64,
                "percent",
                "resident memory / physical memory",
            ),
            user: meta(
                "proc.cpu.user",
                Counter,
                F64,
                "seconds",
                "CPU time in user code",
            ),
            system: meta(
                "proc.cpu.system",
                Counter,
                F64,
                "seconds",
                "CPU time in the kernel",
            ),
            cpu_percent: meta(
                "proc.cpu.percent",
                Gauge,
                F64,
                "percent",
                "CPU time since the previous sample, up to 100 × cores",
            ),
            voluntary: meta(
                "proc.ctxt.voluntary",
                Counter,
                U64,
                "",
                "voluntary context switches (waits)",
            ),
            involuntary: meta(
                "proc.ctxt.involuntary",
                Counter,
                U64,
                "",
                "involuntary context switches (preemptions)",
            ),
            threads: meta("proc.threads", Gauge, U64, "", "threads"),
            priority: meta(
                "proc.priority",
                Gauge,
                I64,
                "",
                "scheduling priority (as /proc/<pid>/stat gives it)",
            ),
            nice: meta("proc.nice", Gauge, I64, "", "nice value"),
            fds: meta("proc.fds", Gauge, U64, "", "open file descriptors"),
            read_bytes: meta(
                "proc.io.read.bytes",
                Counter,
                U64,
                "bytes",
                "bytes read from storage",
            ),
            write_bytes: meta(
                "proc.io.write.bytes",
                Counter,
                U64,
                "bytes",
                "bytes written to storage",
            ),
            start_time: meta(
                "proc.start_time",
                Timestamp,
                F64,
                "seconds",
                "when the process started",
            ),
            cmdline: meta("proc.cmdline", Text, ValueType::Text, "", "command line"),
        }
    }
}

/// The numbers of `/proc/<pid>/stat` that are recorded.
#[derive(Debug, Clone, Copy)]
struct Stat {
    state: char,
    /// The kernel's flags of the task (`PF_*`).
    flags: u64,
    utime: u64,
    stime: u64,
    priority: i64,
    nice: i64,
    threads: i64,
    start_time: u64,
    vsize: u64,
    /// Resident pages.
    rss: u64,
}

impl Stat {
    /// The recorded fields of a parsed line (numbered as proc(5) numbers them).
    fn of(line: &StatLine) -> Option<Stat> {
        Some(Stat {
            state: line.field(3)?.chars().next()?,
            flags: line.number(9)?,
            utime: line.number(14)?,
            stime: line.number(15)?,
            priority: line.number(18)?,
            nice: line.number(19)?,
            threads: line.number(20)?,
            start_time: line.number(22)?,
            vsize: line.number(23)?,
            rss: line.number(24)?,
        })
    }

    /// True for a process that has exited or is exiting: a zombie waiting to be reaped, or
    /// one whose memory is already released on its way out (no address space, and not a
    /// kernel thread). Either has no memory, threads or CPU left to show, only zeros.
    fn gone(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x') || (self.vsize == 0 && self.flags & PF_KTHREAD == 0)
    }
}

/// `PF_KTHREAD` of the kernel's task flags: a kernel thread, which never has memory of its
/// own.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The recorded numbers of a `stat` file's bytes.
fn stat_of(bytes: &[u8]) -> Option<Stat> {
    Stat::of(&StatLine::parse_to(&text(bytes), 24)?)
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

/// Why a file of a process could not be read.
enum Unread {
    /// The process exited (or never was).
    Gone,
    /// Another error (permission denied, a file this kernel does not have, ...).
    Other(io::Error),
}

impl ProcessSource {
    /// A source with no previous samples.
    pub fn new() -> ProcessSource {
        ProcessSource {
            known: HashMap::new(),
            boot_id: crate::process::current_boot_id(),
            ticks_per_second: procfs::ticks_per_second().max(1) as f64,
            page_size: procfs::page_size().max(1),
            mem_total: None,
            meminfo: None,
            metas: Metas::new(),
            buf: Buf::default(),
            round: 0,
            keep_open: nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map_or(0, |(soft, _)| keep_open_under(soft)),
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
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.read(pid, &mut buf);
        self.buf = buf;
        result
    }

    fn read(&mut self, pid: u32, buf: &mut Buf) -> Result<Snapshot, ReadError> {
        let gone = || ReadError::new(format!("/proc/{pid}"), no_process());
        let raw = i32::try_from(pid)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(gone)?;
        let taken = SystemTime::now();
        let now = Instant::now();
        // The files of a process seen before are still open: read again from their start.
        // They stay bound to the process they were opened for: once it exits, they read
        // nothing more (no such process), even when a newcomer has its pid. Its directory is
        // kept open too, and every file of a process opened through it, so whatever is read
        // belongs to the process whose `stat` gave the start time.
        let open =
            || Files::open(raw).map_err(|e| ReadError::new(format!("/proc/{pid}"), error_kind(e)));
        let kept = self.known.get_mut(&pid).and_then(|k| k.files.take());
        let was_kept = kept.is_some();
        let mut files = match kept {
            Some(f) => f,
            None => open()?,
        };
        let mut first = files.read(File::Stat, buf).map(|()| stat_of(buf.get()));
        if was_kept {
            let stale = match &first {
                Err(Unread::Gone) => true,
                Ok(stat) => self
                    .known
                    .get(&pid)
                    .is_some_and(|k| Some(k.start_time) != stat.map(|s| s.start_time)),
                Err(Unread::Other(_)) => false,
            };
            if stale {
                // The process they were opened for is gone; its pid may name a newcomer now.
                self.known.remove(&pid);
                files = open()?;
                first = files.read(File::Stat, buf).map(|()| stat_of(buf.get()));
            }
        }
        let (stat, comm) = match first {
            Ok(stat) => {
                let stat = stat.ok_or_else(|| {
                    let e = io::Error::new(io::ErrorKind::InvalidData, "unexpected format");
                    ReadError::new(format!("/proc/{pid}/stat"), ErrorKind::Io(e))
                })?;
                // The command name only when it is news: a new process, or another program.
                let text = text(buf.get());
                let comm = StatLine::comm_of(&text).unwrap_or_default();
                let news = match self.known.get(&pid) {
                    Some(k) if k.start_time == stat.start_time && k.comm == comm => None,
                    _ => Some(comm.to_string()),
                };
                (stat, news)
            }
            Err(Unread::Gone) => return Err(gone()),
            Err(Unread::Other(e)) => {
                return Err(ReadError::new(
                    format!("/proc/{pid}/stat"),
                    ErrorKind::Io(e),
                ));
            }
        };
        // A process that exited, or is exiting, has no memory and no threads left.
        if stat.gone() {
            self.known.remove(&pid);
            return Err(gone());
        }
        // A reused pid is another process: nothing of the old one is kept.
        if self
            .known
            .get(&pid)
            .is_some_and(|k| k.start_time != stat.start_time)
        {
            self.known.remove(&pid);
        }
        let tps = self.ticks_per_second;
        let ticks = stat.utime.saturating_add(stat.stime);
        let stale = match self.known.get_mut(&pid) {
            Some(k) if comm.is_none() && k.fresh_for > 0 => {
                k.fresh_for -= 1;
                false
            }
            _ => true,
        };
        if stale {
            // New, another program, or time to look again: the command line and owner.
            let cmdline = match files.read_once("cmdline", buf) {
                Ok(()) => Ok(command_line(buf.get())),
                Err(Unread::Gone) => return Err(gone()),
                Err(Unread::Other(e)) => Err(format!("/proc/{pid}/cmdline: {e}")),
            };
            // An empty one (a program being executed, whose arguments are not in place yet) is
            // read again at the next sample.
            let fresh_for = match &cmdline {
                Ok(c) if c.is_empty() => 0,
                _ => REFRESH,
            };
            let uid = files.dir.uid().ok();
            if let Some(k) = self.known.get_mut(&pid) {
                if let Some(c) = comm {
                    k.comm = c;
                }
                k.cmdline = cmdline;
                k.fresh_for = fresh_for;
                if k.info.uid != uid {
                    Arc::make_mut(&mut k.info).uid = uid;
                }
            } else {
                let started = crate::process::process_start(stat.start_time);
                let mut info = FileInfo::new(FormatVersion::V2, (0, stat.start_time));
                info.writer = PROCESS_WRITER.to_string();
                info.pid = Some(pid);
                info.uid = uid;
                info.start_time = Some(stat.start_time);
                info.boot_id = self.boot_id;
                info.created = started;
                let known = Known {
                    start_time: stat.start_time,
                    comm: comm.unwrap_or_default(),
                    cmdline,
                    fresh_for,
                    started,
                    info: Arc::new(info),
                    path: PathBuf::from(format!("/proc/{pid}")),
                    previous: None,
                    files: None,
                    round: 0,
                };
                self.known.insert(pid, known);
            }
        }
        let total = match &self.mem_total {
            Some(t) => t.clone(),
            None => self.read_mem_total(),
        };
        let Some(known) = self.known.get_mut(&pid) else {
            return Err(gone());
        };
        known.round = self.round;

        let m = &self.metas;
        let mut f = Fields {
            out: Vec::with_capacity(16),
            ..Fields::default()
        };
        let u = |n: u64| Ok(Value::Number(Num::U(n)));
        let i = |n: i64| Ok(Value::Number(Num::I(n)));
        let fl = |n: f64| Ok(Value::Number(Num::F(n)));
        let rss = stat.rss.saturating_mul(self.page_size);
        f.push_meta(&m.rss, u(rss));
        f.push_meta(&m.vms, u(stat.vsize));
        f.push_meta(
            &m.mem_percent,
            total.and_then(|t| fl(percent(rss as f64, t as f64))),
        );
        f.push_meta(&m.user, fl(stat.utime as f64 / tps));
        f.push_meta(&m.system, fl(stat.stime as f64 / tps));
        let cpu_percent = match known.previous {
            Some((before, at)) => {
                let secs = now.saturating_duration_since(at).as_secs_f64();
                fl(percent(ticks.saturating_sub(before) as f64 / tps, secs))
            }
            // The first percent covers the time since the process started, as `ps` shows.
            None => known
                .started
                .and_then(|start| taken.duration_since(start).ok())
                .map(|age| percent(ticks as f64 / tps, age.as_secs_f64()))
                .ok_or_else(|| "no boot time in /proc/stat".to_string())
                .and_then(fl),
        };
        known.previous = Some((ticks, now));
        f.push_meta(&m.cpu_percent, cpu_percent);

        let (voluntary, involuntary) = match files.read(File::Status, buf) {
            Ok(()) => {
                let text = text(buf.get());
                // The owner's group with its user, every few samples.
                if stale {
                    let gid = keyed(&text, "Gid:")
                        .and_then(|v| v.split_whitespace().nth(1)?.parse().ok());
                    if known.info.gid != gid {
                        Arc::make_mut(&mut known.info).gid = gid;
                    }
                }
                let number = |key: &str| {
                    keyed(&text, key)
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| {
                            format!("/proc/{pid}/status has no {}", &key[..key.len() - 1])
                        })
                };
                (
                    number("voluntary_ctxt_switches:"),
                    number("nonvoluntary_ctxt_switches:"),
                )
            }
            Err(Unread::Gone) => return Err(gone()),
            Err(Unread::Other(e)) => {
                let r = format!("/proc/{pid}/status: {e}");
                (Err(r.clone()), Err(r))
            }
        };
        f.push_meta(&m.voluntary, voluntary.and_then(u));
        f.push_meta(&m.involuntary, involuntary.and_then(u));
        f.push_meta(&m.threads, u(stat.threads.max(0) as u64));
        f.push_meta(&m.priority, i(stat.priority));
        f.push_meta(&m.nice, i(stat.nice));
        let fds = match files.dir.fd_count() {
            Ok(n) => u(n as u64),
            Err(e) => match unread(e) {
                Unread::Gone => return Err(gone()),
                Unread::Other(e) => Err(format!("/proc/{pid}/fd: {e}")),
            },
        };
        f.push_meta(&m.fds, fds);
        let (read_bytes, write_bytes) = match files.read(File::Io, buf) {
            Ok(()) => {
                let text = text(buf.get());
                let number = |key: &str| {
                    keyed(&text, key)
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| format!("/proc/{pid}/io has no {}", &key[..key.len() - 1]))
                };
                (number("read_bytes:"), number("write_bytes:"))
            }
            Err(Unread::Gone) => return Err(gone()),
            Err(Unread::Other(e)) => {
                let r = format!("/proc/{pid}/io: {e}");
                (Err(r.clone()), Err(r))
            }
        };
        f.push_meta(&m.read_bytes, read_bytes.and_then(u));
        f.push_meta(&m.write_bytes, write_bytes.and_then(u));
        f.push_meta(
            &m.start_time,
            known
                .started
                .map(unix_seconds)
                .ok_or_else(|| "no boot time in /proc/stat".to_string())
                .and_then(fl),
        );
        f.push_meta(
            &m.cmdline,
            known.cmdline.clone().map(|c| Value::Text(c.into())),
        );

        // Past a few hundred processes (fewer under a low descriptor limit), four descriptors
        // each would crowd out the stats files: their `/proc` files are opened afresh at each
        // sample instead.
        let few = self.known.len() <= self.keep_open;
        let Some(known) = self.known.get_mut(&pid) else {
            return Err(gone());
        };
        if few {
            known.files = Some(files);
        }
        Ok(Snapshot {
            path: known.path.clone(),
            info: Arc::clone(&known.info),
            taken,
            listed: None,
            appeared: None,
            fold_seq: None,
            fields: f.out.into(),
            settled: true,
            liveness: None,
        })
    }

    /// `MemTotal` of `/proc/meminfo` in bytes, read through a descriptor kept open.
    fn read_mem_total(&mut self) -> Result<u64, Reason> {
        const PATH: &str = "/proc/meminfo";
        let file = match &self.meminfo {
            Some(f) => f,
            None => self
                .meminfo
                .insert(std::fs::File::open(PATH).map_err(|e| format!("{PATH}: {e}"))?),
        };
        let mut buf = std::mem::take(&mut self.buf);
        let read = read_from_start(file, &mut buf).map_err(|e| format!("{PATH}: {e}"));
        let total = read.and_then(|()| {
            let text = text(buf.get());
            // "MemTotal:       16384000 kB", the first line
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok());
            kib.map(|k| k * 1024)
                .ok_or_else(|| format!("{PATH} has no MemTotal in kB"))
        });
        self.buf = buf;
        total
    }

    /// Reads each of `pids`, and forgets what it kept of processes not among them.
    pub fn sample_many(&mut self, pids: &[u32]) -> (Vec<Snapshot>, Vec<ReadError>) {
        let mut snaps = Vec::with_capacity(pids.len());
        let mut errors = Vec::new();
        self.round = self.round.wrapping_add(1);
        self.mem_total = Some(self.read_mem_total());
        for &pid in pids {
            match self.sample(pid) {
                Ok(s) => snaps.push(s),
                Err(e) => errors.push(e),
            }
        }
        self.mem_total = None;
        let round = self.round;
        self.known.retain(|_, k| k.round == round);
        (snaps, errors)
    }
}

/// A `/proc` file's bytes as text: as they are when they are UTF-8 (checked a word at a time,
/// as `/proc` files are ASCII but for command names), else with replacement characters.
fn text(buf: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(buf) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(buf),
    }
}

/// A command line as one text: its arguments separated by spaces.
fn command_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    String::from_utf8_lossy(raw).replace('\0', " ")
}

/// The value of the line of a `/proc` "key: value" file (`status`, `io`) that starts with
/// `key` (colon included), trimmed. Lines are searched from the end, where `status` keeps the
/// context switches.
fn keyed<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.rsplit('\n')
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

/// A `procfs` error as [`Unread`].
fn unread(e: ProcError) -> Unread {
    match e {
        ProcError::NotFound(_) => Unread::Gone,
        ProcError::PermissionDenied(_) => {
            Unread::Other(io::Error::from(io::ErrorKind::PermissionDenied))
        }
        ProcError::Io(e, _) => unread_io(e),
        other => Unread::Other(io::Error::other(other.to_string())),
    }
}

/// An I/O error as [`Unread`]: "no such process" (`ESRCH`) and "not found" say it is gone.
fn unread_io(e: io::Error) -> Unread {
    if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ESRCH) {
        Unread::Gone
    } else {
        Unread::Other(e)
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
        // the share of the machine's memory, against procfs' own reading of MemTotal
        use procfs::Current;
        let total = procfs::Meminfo::current().unwrap().mem_total as f64;
        let share = num(&s, "proc.mem.rss") / total * 100.0;
        let pct = num(&s, "proc.mem.percent");
        assert!(
            (pct - share).abs() <= share * 0.2 + 1e-6,
            "{pct} vs {share}"
        );
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
    fn a_process_whose_memory_is_released_is_gone_unless_a_kernel_thread() {
        // (pid (comm) state ppid pgrp session tty tpgid flags ... vsize rss)
        let line = |state: char, flags: u64, vsize: u64| {
            format!("42 (app) {state} 1 42 42 0 -1 {flags} 0 0 0 0 5 6 0 0 20 0 3 0 100 {vsize} 7")
        };
        let stat = |state, flags, vsize| stat_of(line(state, flags, vsize).as_bytes()).unwrap();
        assert!(!stat('S', 0x40_0000, 1 << 20).gone(), "a live process");
        assert_eq!(stat('S', 0x40_0000, 1 << 20).rss, 7);
        assert!(stat('Z', 0x40_0000, 0).gone(), "a zombie");
        assert!(
            stat('R', 0x40_0004, 0).gone(),
            "exiting, its memory released"
        );
        assert!(
            !stat('S', PF_KTHREAD, 0).gone(),
            "a kernel thread has no memory of its own"
        );
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

    fn text(s: &Snapshot, label: &str) -> String {
        match &s.field(label).unwrap_or_else(|| panic!("no {label}")).value {
            Ok(Value::Text(t)) => t.to_string(),
            other => panic!("{label}: {other:?}"),
        }
    }

    /// A child that sleeps, and the source's entry for it after a first sample.
    fn sampled_child() -> (std::process::Child, ProcessSource) {
        let mut src = ProcessSource::new();
        (sleeper("30", &mut src), src)
    }

    /// A child running `sleep secs`, sampled once by `src`.
    fn sleeper(secs: &str, src: &mut ProcessSource) -> std::process::Child {
        let child = std::process::Command::new("sleep")
            .arg(secs)
            .spawn()
            .unwrap();
        // until it runs `sleep` (right after the fork it is still this program)
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let want = format!("sleep\0{secs}\0");
        for _ in 0..500 {
            if std::fs::read(&cmdline).unwrap() == want.as_bytes() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let s = src.sample(child.id()).unwrap();
        assert_eq!(text(&s, "proc.cmdline"), format!("sleep {secs}"));
        child
    }

    #[test]
    fn past_a_few_hundred_processes_no_files_stay_open() {
        // Threads have `/proc/<tid>` directories of their own: enough of them stand for a
        // large process tree without forking.
        // Only these threads' ids: the harness's other threads may end at any time.
        let mut src = ProcessSource::new();
        assert!(src.keep_open >= 10, "{}", src.keep_open);
        let stop = Arc::new(std::sync::Barrier::new(src.keep_open + 45));
        let (tell, told) = std::sync::mpsc::channel();
        let threads: Vec<_> = (0..src.keep_open + 44)
            .map(|_| {
                let (stop, tell) = (Arc::clone(&stop), tell.clone());
                std::thread::spawn(move || {
                    tell.send(nix::unistd::gettid().as_raw() as u32).unwrap();
                    stop.wait();
                })
            })
            .collect();
        let tids: Vec<u32> = told.iter().take(threads.len()).collect();
        assert_eq!(tids.len(), src.keep_open + 44);
        let kept = |src: &ProcessSource| src.known.values().filter(|k| k.files.is_some()).count();
        for &tid in &tids[..10] {
            src.sample(tid).unwrap();
        }
        assert_eq!(kept(&src), 10, "a few processes keep their files open");
        for _ in 0..2 {
            for &tid in &tids {
                src.sample(tid).unwrap();
            }
        }
        assert_eq!(src.known.len(), tids.len());
        assert_eq!(kept(&src), 0, "past the limit every sample opens afresh");
        stop.wait();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn kept_descriptors_take_at_most_a_quarter_of_the_limit() {
        assert_eq!(keep_open_under(1024), 64, "256 of 1,024 descriptors");
        assert_eq!(keep_open_under(256), 16);
        assert_eq!(keep_open_under(15), 0, "none under a tiny limit");
        assert_eq!(keep_open_under(1 << 20), KEEP_OPEN_UP_TO);
        assert_eq!(keep_open_under(u64::MAX), KEEP_OPEN_UP_TO, "unlimited");
    }

    #[test]
    fn files_kept_open_for_a_process_that_exited_are_never_read_for_a_newcomer() {
        let (mut old, mut src) = sampled_child();
        let stale = src.known.get_mut(&old.id()).unwrap().files.take();
        assert!(stale.is_some());
        old.kill().unwrap();
        old.wait().unwrap();
        // As if a newcomer had the old one's pid: its entry holds the old one's open files.
        let mut new = sleeper("31", &mut src);
        let pid = new.id();
        let k = src.known.get_mut(&pid).unwrap();
        k.files = stale;
        k.cmdline = Ok("sleep 30".into());
        let s = src.sample(pid).unwrap();
        assert_eq!(text(&s, "proc.cmdline"), "sleep 31");
        assert_eq!(s.info.start_time, crate::process::process_start_time(pid));
        // and its own files are kept from now on
        let again = src.sample(pid).unwrap();
        assert_eq!(text(&again, "proc.cmdline"), "sleep 31");
        assert!(num(&again, "proc.ctxt.voluntary") >= num(&s, "proc.ctxt.voluntary"));
        new.kill().unwrap();
        new.wait().unwrap();
    }

    #[test]
    fn the_command_line_is_kept_while_the_process_stays_the_same() {
        let (mut child, mut src) = sampled_child();
        let pid = child.id();
        // What is kept is shown: the file is not read again on the next samples.
        src.known.get_mut(&pid).unwrap().cmdline = Ok("kept".into());
        for _ in 0..REFRESH {
            assert_eq!(text(&src.sample(pid).unwrap(), "proc.cmdline"), "kept");
        }
        // ...but only for so many samples.
        assert_eq!(text(&src.sample(pid).unwrap(), "proc.cmdline"), "sleep 30");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_reused_pid_shows_the_new_process_and_nothing_kept_of_the_old() {
        let (mut child, mut src) = sampled_child();
        let pid = child.id();
        // As if an earlier process with this pid had been sampled: another start time, its
        // own command line, owner and CPU time.
        let old = src.known.get_mut(&pid).unwrap();
        old.start_time += 1;
        old.cmdline = Ok("an earlier process".into());
        old.previous = Some((1_000_000, Instant::now()));
        Arc::make_mut(&mut old.info).uid = Some(12345);
        let s = src.sample(pid).unwrap();
        assert_eq!(text(&s, "proc.cmdline"), "sleep 30");
        assert_eq!(s.info.start_time, crate::process::process_start_time(pid));
        assert_eq!(s.info.uid, Some(nix::unistd::geteuid().as_raw()));
        // its percent covers its own life, not the time since the old one's sample
        let p = num(&s, "proc.cpu.percent");
        assert!((0.0..=100.0).contains(&p), "{p}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn another_program_in_the_same_process_shows_its_own_command_line() {
        let (mut child, mut src) = sampled_child();
        let pid = child.id();
        // As if the process had run another program since: same start time, another name.
        let k = src.known.get_mut(&pid).unwrap();
        k.comm = "sh".into();
        k.cmdline = Ok("sh -c sleep 30".into());
        assert_eq!(text(&src.sample(pid).unwrap(), "proc.cmdline"), "sleep 30");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn processes_that_exit_are_forgotten() {
        let (mut child, mut src) = sampled_child();
        let pid = child.id();
        let me = std::process::id();
        let (snaps, errors) = src.sample_many(&[me, pid]);
        assert_eq!((snaps.len(), errors.len()), (2, 0));
        child.kill().unwrap();
        child.wait().unwrap();
        let (snaps, errors) = src.sample_many(&[me, pid]);
        assert_eq!(snaps.len(), 1);
        assert!(errors.iter().all(is_gone), "{errors:?}");
        assert!(!src.known.contains_key(&pid));
        // a process no longer asked for is forgotten too
        src.sample_many(&[]);
        assert!(src.known.is_empty());
    }

    #[test]
    fn command_lines_and_keyed_values_parse() {
        assert_eq!(command_line(b"sleep\x0030\x00"), "sleep 30");
        assert_eq!(command_line(b"a\0\0b\0"), "a  b");
        assert_eq!(command_line(b"title without nul"), "title without nul");
        assert_eq!(command_line(b""), "");
        let status = "Name:\tx\nGid:\t1\t2\t3\t4\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t9\n";
        assert_eq!(keyed(status, "voluntary_ctxt_switches:"), Some("7"));
        assert_eq!(keyed(status, "nonvoluntary_ctxt_switches:"), Some("9"));
        assert_eq!(keyed(status, "Gid:"), Some("1\t2\t3\t4"));
        assert_eq!(keyed(status, "Uid:"), None);
        assert_eq!(keyed("a: 1\nb: 2", "b:"), Some("2"));
        assert_eq!(keyed("xb: 1\n", "b:"), None);
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
