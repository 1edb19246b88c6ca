//! Host and process resources ([`mmstats_reader::resource`]) as Prometheus families, under the names
//! node_exporter and the Prometheus client libraries' process collectors use, so that
//! dashboards and alerts written for those work unchanged.
//!
//! | resource labels | family | labels |
//! |---|---|---|
//! | `host.cpu.<n>.<mode>` | `node_cpu_seconds_total` (guest modes: `node_cpu_guest_seconds_total`) | `cpu`, `mode` |
//! | `host.load.1`, `.5`, `.15` | `node_load1`, `node_load5`, `node_load15` | |
//! | `host.procs.running`, `.blocked` | `node_procs_running`, `node_procs_blocked` | |
//! | `host.ctxt`, `host.intr`, `host.forks` | `node_context_switches_total`, `node_intr_total`, `node_forks_total` | |
//! | `host.boot_time` | `node_boot_time_seconds` | |
//! | `host.mem.total`, `.available`, `.free`, `.buffers`, `.dirty` | `node_memory_MemTotal_bytes`, `..._MemAvailable_bytes`, `..._MemFree_bytes`, `..._Buffers_bytes`, `..._Dirty_bytes` | |
//! | `host.swap.total`, `.free` | `node_memory_SwapTotal_bytes`, `node_memory_SwapFree_bytes` | |
//! | `host.net.<dev>.rx.bytes`, `.packets`, `.errors`, `.drops` (and `tx`) | `node_network_receive_bytes_total`, `..._packets_total`, `..._errs_total`, `..._drop_total` (`transmit`) | `device` |
//! | `host.disk.<dev>.reads`, `.writes`, `.read.bytes`, `.write.bytes`, `.read.time`, `.write.time`, `.io.time`, `.in_flight` | `node_disk_reads_completed_total`, `..._writes_completed_total`, `..._read_bytes_total`, `..._written_bytes_total`, `..._read_time_seconds_total`, `..._write_time_seconds_total`, `..._io_time_seconds_total`, `node_disk_io_now` | `device` |
//! | `host.fs.<mount>.total`, `.free`, `.avail` | `node_filesystem_size_bytes`, `..._free_bytes`, `..._avail_bytes` | `mountpoint` |
//! | `proc.cpu.user` + `proc.cpu.system` | `process_cpu_seconds_total` | `pid`, `cmd` |
//! | `proc.mem.rss`, `proc.mem.vms` | `process_resident_memory_bytes`, `process_virtual_memory_bytes` | `pid`, `cmd` |
//! | `proc.fds`, `proc.threads`, `proc.start_time` | `process_open_fds`, `process_threads`, `process_start_time_seconds` | `pid`, `cmd` |
//! | `proc.ctxt.voluntary`, `.involuntary` | `process_context_switches_total` | `pid`, `cmd`, `type` |
//! | `proc.io.read.bytes`, `.write.bytes` | `process_io_read_bytes_total`, `process_io_write_bytes_total` | `pid`, `cmd` |
//!
//! With [`PromOptions::aggregate`] the processes' samples carry no labels and add up (total
//! CPU seconds, total resident memory of the processes with stats files).
//!
//! Percentages, CPU totals over all cores, used memory and the like are left out: Prometheus
//! computes them from the families above. A process's `cmd` is the one its stats files get,
//! so its resources and its own stats join on `pid` and `cmd`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::prometheus::{PromOptions, escape_help, escape_label_value, float};
use mmstats_reader::command_name;
use mmstats_reader::resource::{ResourceKind, resource_kind};
use mmstats_reader::{Snapshot, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Counter,
    Gauge,
}

/// One family: its name without `_total`, its type and help, and its samples.
struct Family {
    base: &'static str,
    ty: Type,
    help: &'static str,
    samples: Vec<(String, f64)>,
}

/// Where one resource label goes: family, type, help and extra labels.
type Target = (
    &'static str,
    Type,
    &'static str,
    Vec<(&'static str, String)>,
);

const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

fn host_target(label: &str) -> Option<Target> {
    use Type::{Counter as C, Gauge as G};
    let rest = label.strip_prefix("host.")?;
    let simple: Option<(&'static str, Type, &'static str)> = match rest {
        "load.1" => Some(("node_load1", G, "1m load average.")),
        "load.5" => Some(("node_load5", G, "5m load average.")),
        "load.15" => Some(("node_load15", G, "15m load average.")),
        "procs.running" => Some((
            "node_procs_running",
            G,
            "Number of processes in runnable state.",
        )),
        "procs.blocked" => Some((
            "node_procs_blocked",
            G,
            "Number of processes blocked waiting for I/O to complete.",
        )),
        "ctxt" => Some((
            "node_context_switches",
            C,
            "Total number of context switches.",
        )),
        "intr" => Some(("node_intr", C, "Total number of interrupts serviced.")),
        "forks" => Some(("node_forks", C, "Total number of forks.")),
        "boot_time" => Some(("node_boot_time_seconds", G, "Node boot time, in unixtime.")),
        "mem.total" => Some((
            "node_memory_MemTotal_bytes",
            G,
            "Memory information field MemTotal_bytes.",
        )),
        "mem.available" => Some((
            "node_memory_MemAvailable_bytes",
            G,
            "Memory information field MemAvailable_bytes.",
        )),
        "mem.free" => Some((
            "node_memory_MemFree_bytes",
            G,
            "Memory information field MemFree_bytes.",
        )),
        "mem.buffers" => Some((
            "node_memory_Buffers_bytes",
            G,
            "Memory information field Buffers_bytes.",
        )),
        "mem.dirty" => Some((
            "node_memory_Dirty_bytes",
            G,
            "Memory information field Dirty_bytes.",
        )),
        "swap.total" => Some((
            "node_memory_SwapTotal_bytes",
            G,
            "Memory information field SwapTotal_bytes.",
        )),
        "swap.free" => Some((
            "node_memory_SwapFree_bytes",
            G,
            "Memory information field SwapFree_bytes.",
        )),
        _ => None,
    };
    if let Some((name, ty, help)) = simple {
        return Some((name, ty, help, Vec::new()));
    }
    if let Some(cpu) = rest.strip_prefix("cpu.") {
        let (n, mode) = cpu.split_once('.')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let labels = |m: &str| vec![("cpu", n.to_string()), ("mode", m.to_string())];
        if CPU_MODES.contains(&mode) {
            return Some((
                "node_cpu_seconds",
                C,
                "Seconds the CPUs spent in each mode.",
                labels(mode),
            ));
        }
        let guest = match mode {
            "guest" => "user",
            "guest_nice" => "nice",
            _ => return None,
        };
        return Some((
            "node_cpu_guest_seconds",
            C,
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            labels(guest),
        ));
    }
    if let Some(net) = rest.strip_prefix("net.") {
        const NET: [(&str, &str, &str); 8] = [
            (
                ".rx.bytes",
                "node_network_receive_bytes",
                "Network device statistic receive_bytes.",
            ),
            (
                ".rx.packets",
                "node_network_receive_packets",
                "Network device statistic receive_packets.",
            ),
            (
                ".rx.errors",
                "node_network_receive_errs",
                "Network device statistic receive_errs.",
            ),
            (
                ".rx.drops",
                "node_network_receive_drop",
                "Network device statistic receive_drop.",
            ),
            (
                ".tx.bytes",
                "node_network_transmit_bytes",
                "Network device statistic transmit_bytes.",
            ),
            (
                ".tx.packets",
                "node_network_transmit_packets",
                "Network device statistic transmit_packets.",
            ),
            (
                ".tx.errors",
                "node_network_transmit_errs",
                "Network device statistic transmit_errs.",
            ),
            (
                ".tx.drops",
                "node_network_transmit_drop",
                "Network device statistic transmit_drop.",
            ),
        ];
        return suffixed(net, &NET, C, "device");
    }
    if let Some(disk) = rest.strip_prefix("disk.") {
        const DISK: [(&str, &str, &str); 7] = [
            (
                ".read.bytes",
                "node_disk_read_bytes",
                "The total number of bytes read successfully.",
            ),
            (
                ".write.bytes",
                "node_disk_written_bytes",
                "The total number of bytes written successfully.",
            ),
            (
                ".read.time",
                "node_disk_read_time_seconds",
                "The total number of seconds spent by all reads.",
            ),
            (
                ".write.time",
                "node_disk_write_time_seconds",
                "This is the total number of seconds spent by all writes.",
            ),
            (
                ".io.time",
                "node_disk_io_time_seconds",
                "Total seconds spent doing I/Os.",
            ),
            (
                ".reads",
                "node_disk_reads_completed",
                "The total number of reads completed successfully.",
            ),
            (
                ".writes",
                "node_disk_writes_completed",
                "The total number of writes completed successfully.",
            ),
        ];
        if let Some(dev) = disk.strip_suffix(".in_flight") {
            return Some((
                "node_disk_io_now",
                G,
                "The number of I/Os currently in progress.",
                vec![("device", dev.to_string())],
            ));
        }
        return suffixed(disk, &DISK, C, "device");
    }
    if let Some(fs) = rest.strip_prefix("fs.") {
        const FS: [(&str, &str, &str); 3] = [
            (
                ".total",
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
            ),
            (
                ".free",
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
            ),
            (
                ".avail",
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
            ),
        ];
        return suffixed(fs, &FS, G, "mountpoint");
    }
    None
}

/// `<name><suffix>` for one of `table`'s suffixes: the family, with `key="<name>"`.
fn suffixed(
    rest: &str,
    table: &[(&str, &'static str, &'static str)],
    ty: Type,
    key: &'static str,
) -> Option<Target> {
    table.iter().find_map(|(suffix, family, help)| {
        let name = rest.strip_suffix(suffix).filter(|n| !n.is_empty())?;
        Some((*family, ty, *help, vec![(key, name.to_string())]))
    })
}

fn process_target(label: &str) -> Option<Target> {
    use Type::{Counter as C, Gauge as G};
    Some(match label {
        "proc.mem.rss" => (
            "process_resident_memory_bytes",
            G,
            "Resident memory size in bytes.",
            vec![],
        ),
        "proc.mem.vms" => (
            "process_virtual_memory_bytes",
            G,
            "Virtual memory size in bytes.",
            vec![],
        ),
        "proc.fds" => (
            "process_open_fds",
            G,
            "Number of open file descriptors.",
            vec![],
        ),
        "proc.threads" => (
            "process_threads",
            G,
            "Number of OS threads in the process.",
            vec![],
        ),
        "proc.start_time" => (
            "process_start_time_seconds",
            G,
            "Start time of the process since unix epoch in seconds.",
            vec![],
        ),
        "proc.ctxt.voluntary" => (
            "process_context_switches",
            C,
            "Context switches of the process.",
            vec![("type", "voluntary".into())],
        ),
        "proc.ctxt.involuntary" => (
            "process_context_switches",
            C,
            "Context switches of the process.",
            vec![("type", "involuntary".into())],
        ),
        "proc.io.read.bytes" => (
            "process_io_read_bytes",
            C,
            "Bytes the process read from storage.",
            vec![],
        ),
        "proc.io.write.bytes" => (
            "process_io_write_bytes",
            C,
            "Bytes the process wrote to storage.",
            vec![],
        ),
        _ => return None,
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(n.as_f64()),
        _ => None,
    }
}

/// One resource snapshot's numbers, with the labels its samples carry (`pid` and `cmd` for a
/// process).
struct Part<'a> {
    kind: ResourceKind,
    own: String,
    values: Vec<(&'a str, Option<f64>)>,
}

/// `pid="…",cmd="…"`.
fn process_labels(pid: u32, cmd: &str) -> String {
    let mut l = format!("pid=\"{pid}\",cmd=\"");
    escape_label_value(cmd, &mut l);
    l.push('"');
    l
}

/// Writes the families of `resources`; `files` give processes their `cmd`. Names already in
/// `used` are left out, and the names written are added to it.
pub(super) fn render(
    resources: &[&Snapshot],
    files: &[&Snapshot],
    opts: &PromOptions,
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let mut cmds: HashMap<u32, String> = HashMap::new();
    for f in files {
        if let Some(pid) = f.info.pid {
            cmds.entry(pid).or_insert_with(|| command_name(f));
        }
    }
    let parts = resources.iter().filter_map(|snap| {
        let kind = resource_kind(snap)?;
        let own = match (kind, snap.info.pid) {
            (ResourceKind::Process, Some(pid)) if !opts.aggregate => {
                let cmd = cmds
                    .get(&pid)
                    .cloned()
                    .unwrap_or_else(|| command_name(snap));
                process_labels(pid, &cmd)
            }
            _ => String::new(),
        };
        let values = snap
            .fields
            .iter()
            .map(|f| {
                let v = f.value.as_ref().ok().and_then(number);
                (f.meta.label.as_str(), v)
            })
            .collect();
        Some(Part { kind, own, values })
    });
    write_parts(parts, opts, &[], used, out);
}

/// Writes the families of the resources in an interval engine's `sample`: the host, and each
/// process's resource file labelled with the process's `pid` and `cmd` (the `cmd` its stats
/// series carry). With [`PromOptions::aggregate`], the processes' resources summed over every
/// process, the final counters of exited ones included (as the stats series are), and no
/// labels. Only the families `names` select are written (`match[]` names, as
/// [`super::prometheus::Selection`] reads them; empty: every one). Names already in `used`
/// are left out, and the names written are added to it.
pub fn render_sample(
    sample: &mmstats_reader::Sample,
    opts: &PromOptions,
    names: &[String],
    used: &mut HashSet<String>,
    out: &mut String,
) {
    if opts.aggregate {
        let value = |s: &mmstats_reader::Series| s.value.as_ref().and_then(number);
        let labels = mmstats_reader::resource::resource_labels(sample);
        let totals = sample.totals_with_exited();
        let mut host = Vec::new();
        let mut procs = Vec::new();
        for s in totals.iter().filter(|s| labels.contains(&s.meta.label)) {
            let label = s.meta.label.as_str();
            if label.starts_with("host.") {
                host.push((label, value(s)));
            } else {
                procs.push((label, value(s)));
            }
        }
        let parts = [(ResourceKind::Host, host), (ResourceKind::Process, procs)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(kind, values)| Part {
                kind,
                own: String::new(),
                values,
            });
        write_parts(parts, opts, names, used, out);
        return;
    }
    render_processes(sample.processes.iter(), opts, names, used, out);
}

/// Writes the families of the resources of `processes` (not combined: each process's
/// resource file labelled with its `pid` and `cmd`), those `names` select (`match[]`; empty:
/// every one), as [`render_sample`] does.
pub(super) fn render_processes<'a>(
    processes: impl Iterator<Item = &'a mmstats_reader::ProcessSample>,
    opts: &PromOptions,
    names: &[String],
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let value = |s: &mmstats_reader::Series| s.value.as_ref().and_then(number);
    let parts = processes.flat_map(|p| {
        mmstats_reader::resource::resource_files(p).map(move |(kind, f)| {
            let own = match (kind, p.pid()) {
                (ResourceKind::Process, Some(pid)) => process_labels(pid, &p.cmd),
                _ => String::new(),
            };
            let values = f
                .series
                .iter()
                .map(|s| (s.meta.label.as_str(), value(s)))
                .collect();
            Part { kind, own, values }
        })
    });
    write_parts(parts, opts, names, used, out);
}

/// Writes the families of `parts`.
fn write_parts<'a>(
    parts: impl Iterator<Item = Part<'a>>,
    opts: &PromOptions,
    names: &[String],
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut families: Vec<Family> = Vec::new();
    let mut add = |(base, ty, help, extra): Target, own: &str, v: f64| {
        let i = *index.entry(base).or_insert_with(|| {
            families.push(Family {
                base,
                ty,
                help,
                samples: Vec::new(),
            });
            families.len() - 1
        });
        let mut labels = own.to_string();
        for (k, val) in extra {
            if !labels.is_empty() {
                labels.push(',');
            }
            let _ = write!(labels, "{k}=\"");
            escape_label_value(&val, &mut labels);
            labels.push('"');
        }
        families[i].samples.push((labels, v));
    };
    for part in parts {
        let process = part.kind == ResourceKind::Process;
        let mut cpu = Some(0.0);
        for (label, value) in part.values {
            if process && matches!(label, "proc.cpu.user" | "proc.cpu.system") {
                cpu = cpu.zip(value).map(|(a, b)| a + b);
                continue;
            }
            let Some(v) = value else { continue };
            let target = match part.kind {
                ResourceKind::Host => host_target(label),
                ResourceKind::Process => process_target(label),
            };
            if let Some(t) = target {
                add(t, &part.own, v);
            }
        }
        if process && let Some(cpu) = cpu {
            let t = (
                "process_cpu_seconds",
                Type::Counter,
                "Total user and system CPU time spent in seconds.",
                Vec::new(),
            );
            add(t, &part.own, cpu);
        }
    }
    for fam in &families {
        write_family(fam, opts, names, used, out);
    }
}

fn write_family(
    fam: &Family,
    opts: &PromOptions,
    names: &[String],
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let base = super::prometheus::metric_name(&opts.prefix, fam.base);
    let total = format!("{base}_total");
    let family_names = match fam.ty {
        Type::Counter => vec![base.clone(), total.clone()],
        Type::Gauge => vec![base.clone()],
    };
    if family_names.iter().any(|n| used.contains(n)) {
        return;
    }
    let selected = super::prometheus::wanted(names, &family_names);
    used.extend(family_names);
    if !selected {
        return;
    }
    let (head, sample, ty) = match (fam.ty, opts.openmetrics) {
        (Type::Counter, false) => (&total, &total, "counter"),
        (Type::Counter, true) => (&base, &total, "counter"),
        (Type::Gauge, _) => (&base, &base, "gauge"),
    };
    let _ = writeln!(out, "# TYPE {head} {ty}");
    let _ = write!(out, "# HELP {head} ");
    escape_help(fam.help, opts.openmetrics, out);
    out.push('\n');
    // Combined over processes (`aggregate`), the processes' samples share one empty label set:
    // they add up. Otherwise a label set seen twice (two processes under one pid, restarted
    // between polls) keeps its first sample.
    let mut samples: Vec<(&str, f64)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (labels, v) in &fam.samples {
        match at.get(labels.as_str()) {
            Some(i) if opts.aggregate => samples[*i].1 += v,
            Some(_) => {}
            None => {
                at.insert(labels, samples.len());
                samples.push((labels, *v));
            }
        }
    }
    for (labels, v) in samples {
        out.push_str(sample);
        if !labels.is_empty() {
            out.push('{');
            out.push_str(labels);
            out.push('}');
        }
        out.push(' ');
        float(out, v);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::resource::{HostSource, ProcessSource};

    #[test]
    fn host_labels_map_to_node_exporter_names() {
        let t = |l: &str| host_target(l).map(|(n, _, _, x)| (n, x));
        assert_eq!(
            t("host.cpu.3.iowait"),
            Some((
                "node_cpu_seconds",
                vec![("cpu", "3".into()), ("mode", "iowait".into())]
            ))
        );
        assert_eq!(t("host.cpu.user"), None);
        assert_eq!(t("host.cpu.3.percent"), None);
        assert_eq!(
            t("host.net.eth0.100.rx.bytes"),
            Some((
                "node_network_receive_bytes",
                vec![("device", "eth0.100".into())]
            ))
        );
        assert_eq!(
            t("host.disk.sda.read.bytes"),
            Some(("node_disk_read_bytes", vec![("device", "sda".into())]))
        );
        assert_eq!(
            t("host.disk.sda.reads"),
            Some(("node_disk_reads_completed", vec![("device", "sda".into())]))
        );
        assert_eq!(
            t("host.fs./.avail"),
            Some((
                "node_filesystem_avail_bytes",
                vec![("mountpoint", "/".into())]
            ))
        );
        assert_eq!(
            t("host.mem.available").map(|x| x.0),
            Some("node_memory_MemAvailable_bytes")
        );
    }

    #[test]
    fn live_resources_render_with_process_labels_from_the_stats_files() {
        let host = HostSource::new().sample();
        let me = ProcessSource::new().sample(std::process::id()).unwrap();
        let mut out = String::new();
        let mut used = HashSet::new();
        render(
            &[&host, &me],
            &[],
            &PromOptions::default(),
            &mut used,
            &mut out,
        );
        assert!(
            out.contains("# TYPE node_cpu_seconds_total counter\n"),
            "{out}"
        );
        assert!(out.contains("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} "));
        assert!(out.contains("# TYPE node_memory_MemAvailable_bytes gauge\n"));
        let pid = std::process::id();
        assert!(out.contains(&format!("process_cpu_seconds_total{{pid=\"{pid}\",cmd=\"")));
        assert!(out.contains(&format!(
            "process_resident_memory_bytes{{pid=\"{pid}\",cmd=\""
        )));
        // combined over processes, they add up
        let other = ProcessSource::new().sample(1).unwrap();
        let mut agg = String::new();
        let opts = PromOptions {
            aggregate: true,
            ..PromOptions::default()
        };
        render(&[&me, &other], &[], &opts, &mut HashSet::new(), &mut agg);
        let rss = |s: &mmstats_reader::Snapshot| match &s.field("proc.mem.rss").unwrap().value {
            Ok(Value::Number(n)) => n.as_f64(),
            v => panic!("{v:?}"),
        };
        let want = format!("process_resident_memory_bytes {}\n", {
            let mut t = String::new();
            float(&mut t, rss(&me) + rss(&other));
            t
        });
        assert!(agg.contains(&want), "{want} in\n{agg}");
        // taken names are not written twice
        let mut again = String::new();
        render(
            &[&host],
            &[],
            &PromOptions::default(),
            &mut used,
            &mut again,
        );
        assert_eq!(again, "");
    }
}
