//! Host and per-process resources, read from `/proc` by the reader's resource sources
//! ([`mmstats_reader::resource`], `format-spec/RESOURCES.md`): the machine's CPU, memory,
//! swap, disks, network and filesystems (source `host`), and each process of the tree's
//! memory, CPU, threads, context switches, descriptors and I/O (source `process`, stored
//! under the same `comm:pid` as the process's mmstats series).
//!
//! Each source has its own interval engine, so its counters (CPU seconds, bytes, packets,
//! context switches) are stored as the tools show them: the total and its rate
//! (`host.cpu.user.rate` in seconds/s, `host.net.eth0.rx.bytes.rate` in bytes/s); gauges
//! (`host.mem.available`, `proc.mem.rss`, the `percent` gauges) as their values. A metric
//! that cannot be read (`/proc/<pid>/io` of another user's process, a kernel without a file)
//! is never stored: the host's are listed as unavailable in the run, a process's are told
//! once as a problem.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mmstats_reader::resource::{HostSource, ProcessSource};
use mmstats_reader::{Intervals, Snapshot, ValueError};

use crate::derive::{Names, series_samples};
use crate::source::{Sample, Source, Unavailable};
use crate::tree::Tree;

/// The name the host's series are stored under, as their process.
pub const HOST_PROCESS: &str = "host";

/// The machine's resources (source `host`).
#[derive(Debug)]
pub struct HostResources {
    /// Whether the first tick (which records nothing) is past.
    primed: bool,
    source: HostSource,
    engine: Intervals,
    unavailable: Vec<Unavailable>,
    /// [`HOST_PROCESS`], shared by the samples.
    process: Arc<str>,
    names: Names,
}

impl HostResources {
    /// A source that has read the host once, so that what this machine does not offer is
    /// known from the start. Its samples start at the second tick, and its rates and CPU
    /// percents each cover one interval, as every source's rates do: the first tick reads the
    /// host again and records nothing, since what it could say of CPU time and throughput
    /// would cover only the moments since this read, runstats' own setup.
    pub fn new() -> HostResources {
        let mut source = HostSource::new();
        let first = source.sample();
        let unavailable = unreadable(&first)
            .map(|(what, reason)| Unavailable {
                source: "host".into(),
                what,
                reason,
            })
            .collect();
        // The host is alive: the engine need not look its identity up in `/proc`.
        let engine = Intervals::new().assume_alive();
        HostResources {
            primed: false,
            source,
            engine,
            unavailable,
            process: Arc::from(HOST_PROCESS),
            names: Names::new(),
        }
    }
}

impl Default for HostResources {
    fn default() -> Self {
        HostResources::new()
    }
}

impl Source for HostResources {
    fn name(&self) -> &'static str {
        "host"
    }

    fn sample(&mut self, _tree: &Tree, _now_ms: i64, out: &mut Vec<Sample>) {
        let snap = self.source.sample();
        let sample = self.engine.update(std::slice::from_ref(&snap));
        if !std::mem::replace(&mut self.primed, true) {
            return;
        }
        for p in &sample.processes {
            for series in &p.series {
                series_samples(
                    "host",
                    &self.process,
                    series,
                    p.seconds,
                    &mut self.names,
                    out,
                );
            }
        }
        self.names.tick();
    }

    fn unavailable(&self) -> Vec<Unavailable> {
        self.unavailable.clone()
    }
}

/// The resources of each process of the tree (source `process`).
#[derive(Debug)]
pub struct ProcessResources {
    source: ProcessSource,
    engine: Intervals,
    problems: Vec<String>,
    reported: HashSet<(String, String)>,
    names: Names,
    /// The name each process of the tree is stored under (`comm:pid`), by pid, with the
    /// start time and command name it was made for: made again only when they change.
    processes: HashMap<u32, (u64, String, Arc<str>)>,
}

impl ProcessResources {
    /// A source that has read no process yet.
    pub fn new() -> ProcessResources {
        ProcessResources {
            source: ProcessSource::default(),
            // A process is read only while it is in the tree, and no series depends on its
            // liveness: the engine need not read its `/proc/<pid>/stat` once more.
            engine: Intervals::new().assume_alive(),
            problems: Vec::new(),
            reported: HashSet::new(),
            names: Names::new(),
            processes: HashMap::new(),
        }
    }
}

impl Default for ProcessResources {
    fn default() -> Self {
        ProcessResources::new()
    }
}

impl Source for ProcessResources {
    fn name(&self) -> &'static str {
        "process"
    }

    fn sample(&mut self, tree: &Tree, _now_ms: i64, out: &mut Vec<Sample>) {
        let pids: Vec<u32> = tree.procs.keys().copied().collect();
        // A process that exited since the tree was read is simply not in this tick.
        let (mut snaps, _gone) = self.source.sample_many(&pids);
        // Its pid reused by a newcomer since the tree was read: not the tree's process.
        snaps.retain(|s| {
            s.info
                .pid
                .and_then(|pid| tree.procs.get(&pid))
                .is_some_and(|p| s.info.start_time == Some(p.start_time))
        });
        for s in &snaps {
            for (what, reason) in unreadable(s) {
                let key = (what.clone(), reason.clone());
                if self.reported.insert(key) {
                    let name = s
                        .info
                        .pid
                        .map_or_else(String::new, |p| tree.process_name(p));
                    self.problems
                        .push(format!("process {name}: {what} is unavailable: {reason}"));
                }
            }
        }
        let sample = self.engine.update(&snaps);
        for p in &sample.processes {
            let Some(pid) = p.pid() else { continue };
            let Some(proc) = tree.procs.get(&pid) else {
                continue;
            };
            let name = match self.processes.get(&pid) {
                Some((start, comm, name)) if *start == proc.start_time && *comm == proc.comm => {
                    Arc::clone(name)
                }
                _ => {
                    let name: Arc<str> = tree.process_name(pid).into();
                    let kept = (proc.start_time, proc.comm.clone(), Arc::clone(&name));
                    self.processes.insert(pid, kept);
                    name
                }
            };
            for series in &p.series {
                series_samples("process", &name, series, p.seconds, &mut self.names, out);
            }
        }
        self.processes.retain(|pid, _| tree.procs.contains_key(pid));
        self.names.tick();
    }

    fn unavailable(&self) -> Vec<Unavailable> {
        Vec::new()
    }

    fn problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }
}

/// The labels of `snap` that could not be read, with the reason.
fn unreadable(snap: &Snapshot) -> impl Iterator<Item = (String, String)> + '_ {
    snap.fields.iter().filter_map(|f| match &f.value {
        Err(ValueError::Unavailable(r)) => Some((f.meta.label.clone(), r.clone())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(out: &'a [Sample], label: &str) -> Option<&'a Sample> {
        out.iter().find(|s| &*s.label == label)
    }

    #[test]
    fn the_host_gives_levels_at_once_and_rates_from_the_second_tick() {
        let mut host = HostResources::new();
        let tree = Tree::default();
        let mut out = Vec::new();
        // the first tick records nothing: its CPU percent and rates would cover only the
        // moments since the source was made
        host.sample(&tree, 0, &mut out);
        assert!(out.is_empty(), "{out:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        host.sample(&tree, 50, &mut out);
        let total = get(&out, "host.mem.total").expect("host.mem.total");
        assert_eq!((total.kind, &*total.unit), ("gauge", "bytes"));
        assert!(total.value > 0.0);
        assert_eq!(&*total.process, HOST_PROCESS);
        let user = get(&out, "host.cpu.user.rate").expect("host.cpu.user.rate");
        assert_eq!((user.kind, &*user.unit), ("rate", "seconds/s"));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let busy = get(&out, "host.cpu.percent")
            .expect("host.cpu.percent")
            .value;
        assert!((0.0..=100.0 * cpus + 1.0).contains(&busy), "{busy}");
    }

    #[test]
    fn each_process_of_the_tree_is_read_under_its_name() {
        let me = std::process::id();
        let tree = Tree::read(me, None);
        let mut procs = ProcessResources::new();
        let mut out = Vec::new();
        procs.sample(&tree, 0, &mut out);
        let rss = get(&out, "proc.mem.rss").expect("proc.mem.rss");
        assert_eq!(*rss.process, tree.process_name(me));
        assert_eq!(rss.source, "process");
        assert!(rss.value > 0.0);
        // no rate before the process's second tick
        assert!(get(&out, "proc.cpu.user.rate").is_none());
        out.clear();
        procs.sample(&tree, 0, &mut out);
        let cpu = get(&out, "proc.cpu.user.rate").expect("proc.cpu.user.rate");
        assert_eq!(&*cpu.unit, "seconds/s");
        // a process not in the tree is not read
        let mut none = Vec::new();
        procs.sample(&Tree::default(), 0, &mut none);
        assert!(none.is_empty(), "{none:?}");
    }
}
