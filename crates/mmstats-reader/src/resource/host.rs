//! The machine's resources, under `host.`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use mmstats_format::FieldMeta;
use procfs::{
    CpuTime, Current, FromBufRead, FromBufReadSI, KernelStats, LoadAverage, Meminfo, MountEntry,
    Uptime,
};

use super::{Fields, HOST_WRITER, Reason, percent, reason};
use crate::clock::unix_seconds;
use crate::snapshot::Snapshot;
use crate::writer::{FileInfo, FormatVersion};

/// Bytes in a sector of `/proc/diskstats`, whatever the device's own sector size.
const SECTOR: u64 = 512;

/// Reads the machine's resources from `/proc` into [`Snapshot`]s (labels under `host.`).
///
/// Each [`sample`](HostSource::sample) reads everything afresh; the source keeps only the
/// previous CPU times, for the `percent` gauges (see the [module docs](super)).
#[derive(Debug)]
pub struct HostSource {
    /// CPU times of the previous sample: the total, then one per core.
    previous: Option<(Ticks, Vec<Ticks>)>,
    boot_id: Option<[u8; 16]>,
    ticks_per_second: f64,
    /// Filesystem types by name, and whether they store data (not `nodev` in
    /// `/proc/filesystems`): read again only when a mount has a type not listed yet.
    fs_types: HashMap<String, bool>,
    /// `/proc/mounts` as last read, and the mount points of filesystems that store data.
    mounts: Option<(Vec<u8>, Vec<String>)>,
    /// The metadata of the previous sample's fields, in their order.
    metas: Vec<Arc<FieldMeta>>,
}

/// One CPU's (or all CPUs') times, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
struct Ticks {
    /// Every state except guest time, which the kernel already counts in user and nice.
    total: u64,
    /// Neither idle nor waiting for I/O.
    busy: u64,
}

impl Ticks {
    fn of(t: &CpuTime) -> Ticks {
        let idle = t.idle + t.iowait.unwrap_or(0);
        let total = t.user
            + t.nice
            + t.system
            + idle
            + t.irq.unwrap_or(0)
            + t.softirq.unwrap_or(0)
            + t.steal.unwrap_or(0);
        Ticks {
            total,
            busy: total.saturating_sub(idle),
        }
    }

    /// Busy percent of one CPU's worth of time between `before` and `self`.
    fn percent_since(self, before: Ticks) -> f64 {
        let total = self.total.saturating_sub(before.total);
        let busy = self.busy.saturating_sub(before.busy);
        percent(busy as f64, total as f64)
    }
}

impl Default for HostSource {
    fn default() -> Self {
        HostSource::new()
    }
}

impl HostSource {
    /// A source with no previous sample.
    pub fn new() -> HostSource {
        HostSource {
            previous: None,
            boot_id: crate::process::current_boot_id(),
            ticks_per_second: procfs::ticks_per_second().max(1) as f64,
            fs_types: HashMap::new(),
            mounts: None,
            metas: Vec::new(),
        }
    }

    /// Reads every host metric now. Never fails: a metric that cannot be read carries the
    /// reason instead of a value.
    pub fn sample(&mut self) -> Snapshot {
        let taken = SystemTime::now();
        let mut f = Fields::after(std::mem::take(&mut self.metas));
        self.cpu(&mut f);
        load(&mut f);
        memory(&mut f);
        network(&mut f);
        disks(&mut f);
        self.filesystems(&mut f);
        let mut info = FileInfo::new(FormatVersion::V2, (0, 0));
        info.writer = HOST_WRITER.to_string();
        info.boot_id = self.boot_id;
        self.metas = f.out.iter().map(|v| Arc::clone(&v.meta)).collect();
        Snapshot {
            path: PathBuf::from("/proc"),
            info: Arc::new(info),
            taken,
            listed: None,
            appeared: None,
            fold_seq: None,
            fields: f.out.into(),
            settled: true,
            liveness: None,
        }
    }

    fn cpu(&mut self, f: &mut Fields) {
        // One read of /proc/stat (which the kernel makes up afresh for each, going over every
        // CPU and interrupt) for procfs' fields and the interrupts.
        let text = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"));
        let stat = text.as_ref().map_err(Clone::clone).and_then(|t| {
            KernelStats::from_buf_read(t.as_bytes(), procfs::current_system_info()).map_err(reason)
        });
        let tps = self.ticks_per_second;
        let secs = |t: u64| t as f64 / tps;
        match &stat {
            Ok(stat) => {
                let cores = stat.cpu_time.len().max(1);
                f.gauge(
                    "host.cpu.count".into(),
                    "",
                    "CPUs the kernel reports",
                    Ok(cores as u64),
                );
                cpu_states(f, "host.cpu.", &stat.total, secs);
                let now_total = Ticks::of(&stat.total);
                let now_cores: Vec<Ticks> = stat.cpu_time.iter().map(Ticks::of).collect();
                let (before_total, before_cores) = match &self.previous {
                    Some((t, c)) if c.len() == now_cores.len() => (*t, c.clone()),
                    _ => (Ticks::default(), vec![Ticks::default(); now_cores.len()]),
                };
                // The total's percent is in CPUs' worth: up to 100 × cores.
                f.gauge_f(
                    "host.cpu.percent".into(),
                    "percent",
                    "busy CPU time since the previous sample, up to 100 × cores",
                    Ok(now_total.percent_since(before_total) * cores as f64),
                );
                for (i, t) in stat.cpu_time.iter().enumerate() {
                    cpu_states(f, &format!("host.cpu.{i}."), t, secs);
                    f.gauge_f(
                        format!("host.cpu.{i}.percent"),
                        "percent",
                        "busy time of this CPU since the previous sample",
                        Ok(now_cores[i].percent_since(before_cores[i])),
                    );
                }
                self.previous = Some((now_total, now_cores));
                f.counter(
                    "host.ctxt".into(),
                    "",
                    "context switches since boot",
                    Ok(stat.ctxt),
                );
                f.counter(
                    "host.forks".into(),
                    "",
                    "processes and threads created since boot",
                    Ok(stat.processes),
                );
                let opt = |v: Option<u32>, what: &str| {
                    v.map(u64::from)
                        .ok_or_else(|| format!("/proc/stat has no {what} line"))
                };
                f.gauge(
                    "host.procs.running".into(),
                    "",
                    "runnable threads",
                    opt(stat.procs_running, "procs_running"),
                );
                f.gauge(
                    "host.procs.blocked".into(),
                    "",
                    "threads blocked on I/O",
                    opt(stat.procs_blocked, "procs_blocked"),
                );
                f.timestamp(
                    "host.boot_time".into(),
                    "when the machine booted",
                    crate::process::boot_time()
                        .map(unix_seconds)
                        .ok_or_else(|| "/proc/stat has no btime line".to_string()),
                );
            }
            Err(e) => {
                for label in ["host.cpu", "host.ctxt", "host.forks", "host.boot_time"] {
                    f.gauge(label.into(), "", "", Err(e.clone()));
                }
            }
        }
        f.counter(
            "host.intr".into(),
            "",
            "interrupts serviced since boot",
            text.and_then(|t| interrupts(&t)),
        );
        let up = Uptime::current().map_err(reason);
        f.gauge_f(
            "host.uptime".into(),
            "seconds",
            "time since boot",
            up.map(|u| u.uptime),
        );
    }
}

/// The CPU-state counters of one CPU (or all) under `prefix`.
fn cpu_states(f: &mut Fields, prefix: &str, t: &CpuTime, secs: impl Fn(u64) -> f64) {
    let missing = |what: &str| -> Reason { format!("/proc/stat has no {what} column") };
    let states: [(&str, Option<u64>, &str); 10] = [
        ("user", Some(t.user), "time running user code"),
        ("nice", Some(t.nice), "time running niced user code"),
        ("system", Some(t.system), "time running the kernel"),
        ("idle", Some(t.idle), "idle time"),
        ("iowait", t.iowait, "idle time waiting for I/O"),
        ("irq", t.irq, "time servicing interrupts"),
        ("softirq", t.softirq, "time servicing soft interrupts"),
        ("steal", t.steal, "time taken by other virtual machines"),
        (
            "guest",
            t.guest,
            "time running guests (also counted in user)",
        ),
        (
            "guest_nice",
            t.guest_nice,
            "time running niced guests (also counted in nice)",
        ),
    ];
    for (state, ticks, help) in states {
        f.counter_f(
            format!("{prefix}{state}"),
            "seconds",
            help,
            ticks.map(&secs).ok_or_else(|| missing(state)),
        );
    }
}

/// The first number of `/proc/stat`'s `intr` line (`procfs` does not parse that line).
fn interrupts(text: &str) -> Result<u64, Reason> {
    text.lines()
        .find_map(|l| l.strip_prefix("intr "))
        .and_then(|rest| rest.split_ascii_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| "/proc/stat has no intr line".to_string())
}

fn load(f: &mut Fields) {
    let l = LoadAverage::current().map_err(reason);
    let get = |pick: fn(&LoadAverage) -> f32| {
        l.as_ref().map(|l| f64::from(pick(l))).map_err(Clone::clone)
    };
    f.gauge_f(
        "host.load.1".into(),
        "",
        "load average over 1 minute",
        get(|l| l.one),
    );
    f.gauge_f(
        "host.load.5".into(),
        "",
        "load average over 5 minutes",
        get(|l| l.five),
    );
    f.gauge_f(
        "host.load.15".into(),
        "",
        "load average over 15 minutes",
        get(|l| l.fifteen),
    );
}

/// Memory and swap, computed as psutil computes them.
fn memory(f: &mut Fields) {
    let m = Meminfo::current().map_err(reason);
    let get = |pick: &dyn Fn(&Meminfo) -> Result<u64, Reason>| match &m {
        Ok(m) => pick(m),
        Err(e) => Err(e.clone()),
    };
    // psutil: cached includes reclaimable slab; used = total - free - cached - buffers.
    let cached = |m: &Meminfo| m.cached + m.s_reclaimable.unwrap_or(0);
    let available = |m: &Meminfo| {
        m.mem_available
            .ok_or_else(|| "/proc/meminfo has no MemAvailable (kernel before 3.14)".to_string())
    };
    let used = |m: &Meminfo| {
        let u = m
            .mem_total
            .checked_sub(m.mem_free + cached(m) + m.buffers)
            .unwrap_or(m.mem_total.saturating_sub(m.mem_free));
        Ok(u)
    };
    f.gauge(
        "host.mem.total".into(),
        "bytes",
        "physical memory",
        get(&|m| Ok(m.mem_total)),
    );
    f.gauge(
        "host.mem.available".into(),
        "bytes",
        "memory available to new programs without swapping",
        get(&available),
    );
    f.gauge(
        "host.mem.free".into(),
        "bytes",
        "memory not used at all",
        get(&|m| Ok(m.mem_free)),
    );
    f.gauge(
        "host.mem.used".into(),
        "bytes",
        "total - free - cached - buffers",
        get(&used),
    );
    f.gauge_f(
        "host.mem.percent".into(),
        "percent",
        "(total - available) / total",
        m.as_ref().map_err(Clone::clone).and_then(|m| {
            available(m).map(|a| percent(m.mem_total.saturating_sub(a) as f64, m.mem_total as f64))
        }),
    );
    f.gauge(
        "host.mem.cached".into(),
        "bytes",
        "page cache and reclaimable slab",
        get(&|m| Ok(cached(m))),
    );
    f.gauge(
        "host.mem.buffers".into(),
        "bytes",
        "block device buffers",
        get(&|m| Ok(m.buffers)),
    );
    f.gauge(
        "host.mem.dirty".into(),
        "bytes",
        "memory waiting to be written back",
        get(&|m| Ok(m.dirty)),
    );
    f.gauge(
        "host.swap.total".into(),
        "bytes",
        "swap space",
        get(&|m| Ok(m.swap_total)),
    );
    f.gauge(
        "host.swap.free".into(),
        "bytes",
        "unused swap space",
        get(&|m| Ok(m.swap_free)),
    );
    f.gauge(
        "host.swap.used".into(),
        "bytes",
        "used swap space",
        get(&|m| Ok(m.swap_total.saturating_sub(m.swap_free))),
    );
    f.gauge_f(
        "host.swap.percent".into(),
        "percent",
        "used / total swap space",
        m.as_ref().map_err(Clone::clone).map(|m| {
            percent(
                m.swap_total.saturating_sub(m.swap_free) as f64,
                m.swap_total as f64,
            )
        }),
    );
    // psutil counts swapped pages as 4 KiB, whatever the page size.
    let vm = std::fs::read_to_string("/proc/vmstat").map_err(|e| format!("/proc/vmstat: {e}"));
    let pages = |key: &str| -> Result<u64, Reason> {
        let vm = vm.as_ref().map_err(Clone::clone)?;
        vm.lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|n| n * 4096)
            .ok_or_else(|| format!("/proc/vmstat has no {key}"))
    };
    f.counter(
        "host.swap.in".into(),
        "bytes",
        "bytes swapped in from disk since boot",
        pages("pswpin"),
    );
    f.counter(
        "host.swap.out".into(),
        "bytes",
        "bytes swapped out to disk since boot",
        pages("pswpout"),
    );
}

fn network(f: &mut Fields) {
    let devs = match procfs::net::dev_status() {
        Ok(d) => d,
        Err(e) => {
            f.counter("host.net".into(), "", "", Err(reason(e)));
            return;
        }
    };
    let mut names: Vec<&String> = devs.keys().collect();
    names.sort();
    for name in names {
        let d = &devs[name];
        let p = format!("host.net.{name}.");
        for (dir, bytes, packets, errors, drops) in [
            ("rx", d.recv_bytes, d.recv_packets, d.recv_errs, d.recv_drop),
            ("tx", d.sent_bytes, d.sent_packets, d.sent_errs, d.sent_drop),
        ] {
            let what = if dir == "rx" { "received" } else { "sent" };
            f.counter(
                format!("{p}{dir}.bytes"),
                "bytes",
                &format!("bytes {what}"),
                Ok(bytes),
            );
            f.counter(
                format!("{p}{dir}.packets"),
                "",
                &format!("packets {what}"),
                Ok(packets),
            );
            f.counter(
                format!("{p}{dir}.errors"),
                "",
                &format!("errors while packets were {what}"),
                Ok(errors),
            );
            f.counter(
                format!("{p}{dir}.drops"),
                "",
                &format!("packets dropped that would have been {what}"),
                Ok(drops),
            );
        }
    }
}

fn disks(f: &mut Fields) {
    let stats = match procfs::diskstats() {
        Ok(d) => d,
        Err(e) => {
            f.counter("host.disk".into(), "", "", Err(reason(e)));
            return;
        }
    };
    for d in stats {
        // Devices never used (dozens of idle loop and ram devices) would only add noise.
        if d.reads == 0 && d.writes == 0 && d.in_progress == 0 {
            continue;
        }
        let p = format!("host.disk.{}.", d.name);
        let ms = |v: u64| Ok(v as f64 / 1000.0);
        f.counter(format!("{p}reads"), "", "reads completed", Ok(d.reads));
        f.counter(format!("{p}writes"), "", "writes completed", Ok(d.writes));
        f.counter(
            format!("{p}read.bytes"),
            "bytes",
            "bytes read",
            Ok(d.sectors_read.saturating_mul(SECTOR)),
        );
        f.counter(
            format!("{p}write.bytes"),
            "bytes",
            "bytes written",
            Ok(d.sectors_written.saturating_mul(SECTOR)),
        );
        f.counter_f(
            format!("{p}read.time"),
            "seconds",
            "time spent reading (summed over requests)",
            ms(d.time_reading),
        );
        f.counter_f(
            format!("{p}write.time"),
            "seconds",
            "time spent writing (summed over requests)",
            ms(d.time_writing),
        );
        f.counter_f(
            format!("{p}io.time"),
            "seconds",
            "time the device had I/O in flight",
            ms(d.time_in_progress),
        );
        f.gauge(
            format!("{p}in_flight"),
            "",
            "requests in flight",
            Ok(d.in_progress),
        );
    }
}

impl HostSource {
    /// Usage of mounted filesystems that store data (those `/proc/filesystems` does not mark
    /// `nodev`, as psutil's `disk_partitions()` chooses), each mount point once.
    fn filesystems(&mut self, f: &mut Fields) {
        let text = match std::fs::read("/proc/mounts") {
            Ok(t) => t,
            Err(e) => {
                f.gauge("host.fs".into(), "", "", Err(format!("/proc/mounts: {e}")));
                return;
            }
        };
        // The mounts change rarely: their list is made again only when the file changed.
        if self
            .mounts
            .as_ref()
            .is_none_or(|(before, _)| *before != text)
        {
            let mounts = match Vec::<MountEntry>::from_buf_read(text.as_slice()) {
                Ok(m) => m,
                Err(e) => {
                    f.gauge("host.fs".into(), "", "", Err(reason(e)));
                    return;
                }
            };
            if mounts
                .iter()
                .any(|m| !self.fs_types.contains_key(&m.fs_vfstype))
            {
                self.fs_types = std::fs::read_to_string("/proc/filesystems")
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| {
                        let (flag, name) = l.split_once('\t')?;
                        Some((name.trim().to_string(), flag.trim() != "nodev"))
                    })
                    .collect();
            }
            let mut seen = HashSet::new();
            let mut points = Vec::new();
            for m in mounts {
                let real = self.fs_types.get(&m.fs_vfstype).copied().unwrap_or(false);
                if !(real || m.fs_vfstype == "zfs") || !seen.insert(m.fs_file.clone()) {
                    continue;
                }
                points.push(m.fs_file);
            }
            self.mounts = Some((text, points));
        }
        if let Some((_, points)) = &self.mounts {
            for mount in points {
                filesystem(f, mount);
            }
        }
    }
}

/// The usage of the filesystem mounted at `mount`.
fn filesystem(f: &mut Fields, mount: &str) {
    let p = format!("host.fs.{mount}.");
    let st = nix::sys::statvfs::statvfs(mount).map_err(|e| format!("statvfs {mount}: {e}"));
    let part = |pick: fn(&nix::sys::statvfs::Statvfs) -> u64| {
        st.as_ref()
            .map(|s| pick(s).saturating_mul(s.fragment_size()))
            .map_err(Clone::clone)
    };
    let total = part(|s| s.blocks());
    let free = part(|s| s.blocks_free());
    let avail = part(|s| s.blocks_available());
    let used = total
        .clone()
        .and_then(|t| free.clone().map(|fr| t.saturating_sub(fr)));
    let pct = used
        .clone()
        .and_then(|u| avail.clone().map(|a| percent(u as f64, (u + a) as f64)));
    f.gauge(
        format!("{p}total"),
        "bytes",
        "size of the filesystem",
        total,
    );
    f.gauge(format!("{p}used"), "bytes", "bytes in use", used.clone());
    f.gauge(
        format!("{p}free"),
        "bytes",
        "free bytes, including those reserved for root",
        free,
    );
    f.gauge(
        format!("{p}avail"),
        "bytes",
        "free bytes available to unprivileged users",
        avail,
    );
    f.gauge_f(
        format!("{p}percent"),
        "percent",
        "used / (used + avail), as df shows",
        pct,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Num, Value};

    fn num(s: &Snapshot, label: &str) -> f64 {
        match &s.field(label).unwrap_or_else(|| panic!("no {label}")).value {
            Ok(Value::Number(n)) => n.as_f64(),
            other => panic!("{label}: {other:?}"),
        }
    }

    #[test]
    fn a_sample_has_the_main_metrics_with_sane_values() {
        let mut h = HostSource::new();
        let s = h.sample();
        assert!(num(&s, "host.mem.total") > 0.0);
        assert!(num(&s, "host.mem.available") <= num(&s, "host.mem.total"));
        assert!(num(&s, "host.cpu.count") >= 1.0);
        assert!(num(&s, "host.cpu.0.user") > 0.0);
        assert!(num(&s, "host.uptime") > 0.0);
        assert!(num(&s, "host.boot_time") > 1e9);
        assert!(s.field("host.net.lo.rx.bytes").is_some());
        let meta = &s.field("host.cpu.user").unwrap().meta;
        assert_eq!(
            (meta.kind, meta.unit.as_str()),
            (crate::Kind::Counter, "seconds")
        );
        // a second sample's percent covers only the time since the first
        let s2 = h.sample();
        let p = num(&s2, "host.cpu.percent");
        assert!(
            (0.0..=100.0 * num(&s2, "host.cpu.count")).contains(&p),
            "{p}"
        );
        assert!(matches!(
            s2.field("host.ctxt").unwrap().value,
            Ok(Value::Number(Num::U(_)))
        ));
        // the fields keep their metadata from sample to sample, as a stats file's do
        for label in ["host.mem.total", "host.cpu.0.user", "host.swap.in"] {
            let (a, b) = (
                &s.field(label).unwrap().meta,
                &s2.field(label).unwrap().meta,
            );
            assert!(Arc::ptr_eq(a, b), "{label}");
        }
        // the swap counters are read from /proc/vmstat as pages of 4 KiB
        let vmstat = std::fs::read_to_string("/proc/vmstat").unwrap();
        let pswpin: f64 = vmstat
            .lines()
            .find_map(|l| l.strip_prefix("pswpin "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(num(&s2, "host.swap.in") >= pswpin * 4096.0);
        // and the filesystems of the mounts, read again only when they change, are there
        // each time
        let fs = |s: &Snapshot| {
            s.fields
                .iter()
                .filter(|f| f.meta.label.starts_with("host.fs."))
                .count()
        };
        assert_eq!(fs(&s), fs(&s2));
    }

    #[test]
    fn percent_between_samples_is_busy_over_total() {
        let a = Ticks {
            total: 100,
            busy: 20,
        };
        let b = Ticks {
            total: 300,
            busy: 170,
        };
        assert_eq!(b.percent_since(a), 75.0);
        assert_eq!(a.percent_since(a), 0.0);
        // a counter that went backwards (a CPU brought back online) gives 0, not garbage
        assert_eq!(a.percent_since(b), 0.0);
    }
}
