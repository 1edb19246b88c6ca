//! The host panel and the per-process CPU and RSS columns of the full-screen view, from the
//! resource snapshots a scan carries ([`crate::resources`]).

use mmstats_reader::render::prometheus::command_name;
use mmstats_reader::render::text::{compact, unix_seconds};
use mmstats_reader::resource::{ResourceKind, resource_kind};
use mmstats_reader::{Scan, Snapshot, Value};

/// One process's resources, for the process columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcUsage {
    /// The pid.
    pub pid: u32,
    /// The program name.
    pub cmd: String,
    /// CPU percent over the last interval (100 = one core).
    pub cpu: Option<f64>,
    /// Resident memory, bytes.
    pub rss: Option<f64>,
    /// Threads.
    pub threads: Option<f64>,
}

/// What the host panel shows, updated once a sample.
#[derive(Debug, Default)]
pub struct ResourceView {
    /// Lines about the host (empty when the scan had no host snapshot).
    pub host: Vec<String>,
    /// Processes with stats files, by pid.
    pub procs: Vec<ProcUsage>,
    /// (time, network rx, tx, disk read, write bytes) of the previous sample.
    previous: Option<[f64; 5]>,
}

fn num(s: &Snapshot, label: &str) -> Option<f64> {
    match &s.field(label)?.value {
        Ok(Value::Number(n)) => Some(n.as_f64()),
        _ => None,
    }
}

/// Sum of the numbers of every label starting with `prefix` and ending with `suffix`.
fn sum(s: &Snapshot, prefix: &str, suffix: &str, skip: &[&str]) -> f64 {
    s.fields
        .iter()
        .filter(|f| {
            let l = f.meta.label.as_str();
            l.starts_with(prefix) && l.ends_with(suffix) && !skip.iter().any(|k| l.contains(k))
        })
        .filter_map(|f| match &f.value {
            Ok(Value::Number(n)) => Some(n.as_f64()),
            _ => None,
        })
        .sum()
}

impl ResourceView {
    /// Takes the resource snapshots of `scan`.
    pub fn update(&mut self, scan: &Scan) {
        let files: Vec<&Snapshot> = scan
            .snapshots
            .iter()
            .filter(|s| resource_kind(s).is_none())
            .collect();
        self.procs = scan
            .snapshots
            .iter()
            .filter(|s| resource_kind(s) == Some(ResourceKind::Process))
            .filter_map(|s| {
                let pid = s.info.pid?;
                let cmd = files
                    .iter()
                    .find(|f| f.info.pid == Some(pid))
                    .map_or_else(|| command_name(s), |f| command_name(f));
                Some(ProcUsage {
                    pid,
                    cmd,
                    cpu: num(s, "proc.cpu.percent"),
                    rss: num(s, "proc.mem.rss"),
                    threads: num(s, "proc.threads"),
                })
            })
            .collect();
        self.procs.sort_by_key(|p| p.pid);
        let Some(h) = scan
            .snapshots
            .iter()
            .find(|s| resource_kind(s) == Some(ResourceKind::Host))
        else {
            self.host.clear();
            return;
        };
        let pct = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.0}%"));
        let bytes = |x: Option<f64>| x.map_or("-".into(), |x| compact(x, "bytes"));
        let cores = num(h, "host.cpu.count").unwrap_or(1.0);
        let mut lines = vec![format!(
            "cpu   {} of {} cores · load {} {} {}",
            pct(num(h, "host.cpu.percent")),
            cores,
            num(h, "host.load.1").map_or("-".into(), |x| format!("{x:.2}")),
            num(h, "host.load.5").map_or("-".into(), |x| format!("{x:.2}")),
            num(h, "host.load.15").map_or("-".into(), |x| format!("{x:.2}")),
        )];
        lines.push(format!(
            "mem   {} used of {} ({}) · {} available",
            bytes(num(h, "host.mem.used")),
            bytes(num(h, "host.mem.total")),
            pct(num(h, "host.mem.percent")),
            bytes(num(h, "host.mem.available")),
        ));
        lines.push(format!(
            "swap  {} used of {} ({})",
            bytes(num(h, "host.swap.used")),
            bytes(num(h, "host.swap.total")),
            pct(num(h, "host.swap.percent")),
        ));
        let now = [
            unix_seconds(h.taken),
            sum(h, "host.net.", ".rx.bytes", &["host.net.lo."]),
            sum(h, "host.net.", ".tx.bytes", &["host.net.lo."]),
            sum(h, "host.disk.", ".read.bytes", &[]),
            sum(h, "host.disk.", ".write.bytes", &[]),
        ];
        let rate = |i: usize| -> String {
            match self.previous {
                Some(p) if now[0] > p[0] && now[i] >= p[i] => {
                    format!("{}/s", compact((now[i] - p[i]) / (now[0] - p[0]), "bytes"))
                }
                _ => "-".into(),
            }
        };
        lines.push(format!("net   in {} · out {}", rate(1), rate(2)));
        lines.push(format!("disk  read {} · write {}", rate(3), rate(4)));
        self.previous = Some(now);
        self.host = lines;
    }
}
