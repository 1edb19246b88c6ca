//! The host panel and the per-process CPU and RSS columns of the full-screen view, from the
//! resource snapshots in the interval engine's sample ([`mmstats_reader::resource`]): rates
//! are the engine's.

use mmstats_reader::resource::{ResourceKind, is_host, resource_files};
use mmstats_reader::{ProcessSample, Sample, Series, Value};
use mmstats_render::units::compact;

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
    /// Lines about the host (empty when the sample had no host snapshot).
    pub host: Vec<String>,
    /// Processes with stats files, by pid.
    pub procs: Vec<ProcUsage>,
}

/// A series' value now (a counter's total).
fn value(s: &Series) -> Option<f64> {
    match s.value.as_ref()? {
        Value::Number(n) => Some(n.as_f64()),
        _ => None,
    }
}

fn num(p: &ProcessSample, label: &str) -> Option<f64> {
    p.series(label).and_then(value)
}

/// Sum of the rates of every label starting with `prefix` and ending with `suffix`; `None`
/// before the engine has an interval.
fn rate_sum(p: &ProcessSample, prefix: &str, suffix: &str, skip: &[&str]) -> Option<f64> {
    let rates: Vec<Option<f64>> = p
        .series
        .iter()
        .filter(|s| {
            let l = s.meta.label.as_str();
            l.starts_with(prefix) && l.ends_with(suffix) && !skip.iter().any(|k| l.contains(k))
        })
        .map(|s| s.number(None))
        .collect();
    rates.iter().copied().sum()
}

/// A process's CPU percent over the engine's last interval: the rate of its user and system
/// CPU seconds × 100; on its first sample the source's own `proc.cpu.percent` (since start).
fn cpu_percent(p: &ProcessSample) -> Option<f64> {
    let rate = |l: &str| p.series(l).and_then(|s| s.number(None));
    match (rate("proc.cpu.user"), rate("proc.cpu.system")) {
        (Some(u), Some(s)) => Some((u + s) * 100.0),
        _ => num(p, "proc.cpu.percent"),
    }
}

impl ResourceView {
    /// Takes the resources of an interval engine's `sample` (counters' rates from the engine).
    pub fn update(&mut self, sample: &Sample) {
        self.procs = sample
            .processes
            .iter()
            .filter(|p| resource_files(p).any(|(k, _)| k == ResourceKind::Process))
            .filter_map(|p| {
                Some(ProcUsage {
                    pid: p.pid()?,
                    cmd: p.cmd.to_string(),
                    cpu: cpu_percent(p),
                    rss: num(p, "proc.mem.rss"),
                    threads: num(p, "proc.threads"),
                })
            })
            .collect();
        self.procs.sort_by_key(|p| p.pid);
        let Some(h) = sample.processes.iter().find(|p| is_host(p)) else {
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
        let rate = |prefix: &str, suffix: &str, skip: &[&str]| -> String {
            rate_sum(h, prefix, suffix, skip)
                .map_or("-".into(), |r| format!("{}/s", compact(r, "bytes")))
        };
        lines.push(format!(
            "net   in {} · out {}",
            rate("host.net.", ".rx.bytes", &["host.net.lo."]),
            rate("host.net.", ".tx.bytes", &["host.net.lo."]),
        ));
        lines.push(format!(
            "disk  read {} · write {}",
            rate("host.disk.", ".read.bytes", &[]),
            rate("host.disk.", ".write.bytes", &[]),
        ));
        self.host = lines;
    }
}
