//! Resources within an interval engine's [`Sample`]: which processes, files and series are
//! the host's and the processes' resources rather than stats files'.
//!
//! A process snapshot carries its process's identity, so [`Intervals`](crate::Intervals)
//! groups it with that process's stats files: one resource file per process, whose counters
//! (`proc.cpu.user`, ...) get their rates and continuous totals from the engine like any
//! counter, and whose gauges come from that one file. The host snapshot has no pid, so it is
//! a process of its own (`ProcessId::File("/proc")`).

use std::collections::HashSet;

use super::{ResourceKind, resource_kind_of};
use crate::interval::{FileSample, ProcessSample, Sample, Series};

/// True for the host's resources: a process whose only file is the host snapshot.
pub fn is_host(p: &ProcessSample) -> bool {
    !p.files.is_empty()
        && p.files
            .iter()
            .all(|f| resource_kind_of(&f.info) == Some(ResourceKind::Host))
}

/// True if every file of `p` is a resource snapshot (the host, or a process's resources
/// alone).
fn resources_alone(p: &ProcessSample) -> bool {
    !p.files.is_empty() && p.files.iter().all(|f| resource_kind_of(&f.info).is_some())
}

/// The resource files of `p` with their kind: the host's, or the process's own resources.
pub fn resource_files(p: &ProcessSample) -> impl Iterator<Item = (ResourceKind, &FileSample)> {
    p.files
        .iter()
        .filter_map(|f| Some((resource_kind_of(&f.info)?, f)))
}

/// The labels of the stats files' series of `p`, and those of its resource files.
fn labels_of(p: &ProcessSample) -> (HashSet<&str>, HashSet<&str>) {
    let mut stats = HashSet::new();
    let mut resources = HashSet::new();
    for f in &p.files {
        let set = if resource_kind_of(&f.info).is_some() {
            &mut resources
        } else {
            &mut stats
        };
        set.extend(f.series.iter().map(|s| s.meta.label.as_str()));
    }
    (stats, resources)
}

/// Labels that only resource files have in `sample`, and the labels under `host.` and
/// `proc.` of exited processes that no stats file of `sample` has (the final totals of the
/// resources of processes that exited).
pub fn resource_labels(sample: &Sample) -> HashSet<String> {
    let mut stats: HashSet<&str> = HashSet::new();
    let mut resources: HashSet<&str> = HashSet::new();
    for p in &sample.processes {
        let (s, r) = labels_of(p);
        stats.extend(s);
        resources.extend(r);
    }
    let exited = sample
        .exited
        .iter()
        .map(|s| s.meta.label.as_str())
        .filter(|l| l.starts_with("host.") || l.starts_with("proc."));
    resources
        .into_iter()
        .chain(exited)
        .filter(|l| !stats.contains(l))
        .map(str::to_string)
        .collect()
}

/// Which series of a process its stats files have, as [`stats_series`] finds them.
#[derive(Debug)]
pub struct StatsSeries<'a>(Option<HashSet<&'a str>>);

impl StatsSeries<'_> {
    /// True if `s` is one of the stats files' series (not only a resource file's).
    pub fn keeps(&self, s: &Series) -> bool {
        self.0
            .as_ref()
            .is_none_or(|stats| stats.contains(s.meta.label.as_str()))
    }
}

/// Which of `p`'s series [`stats_only`] keeps: `None` if `p` is resources alone (the host, or
/// a process's resources without a stats file), else a filter of its series (every one when
/// `p` has no resource file), without copying `p`.
pub fn stats_series(p: &ProcessSample) -> Option<StatsSeries<'_>> {
    if resources_alone(p) {
        return None;
    }
    if p.files.iter().all(|f| resource_kind_of(&f.info).is_none()) {
        return Some(StatsSeries(None));
    }
    Some(StatsSeries(Some(labels_of(p).0)))
}

/// `sample` without its resources: no host, no process's resource file, and no series that
/// only resource files had (a process's `proc.*`), in its processes and its exited totals.
/// What the stats files alone say, for views that show resources apart.
pub fn stats_only(sample: &Sample) -> Sample {
    let gone = resource_labels(sample);
    let keep = |s: &Series| !gone.contains(&s.meta.label);
    let processes = sample
        .processes
        .iter()
        .filter_map(|p| Some((p, stats_series(p)?)))
        .map(|(p, stats)| ProcessSample {
            series: p
                .series
                .iter()
                .filter(|s| stats.keeps(s))
                .cloned()
                .collect(),
            files: p
                .files
                .iter()
                .filter(|f| resource_kind_of(&f.info).is_none())
                .cloned()
                .collect(),
            ..p.clone()
        })
        .collect();
    Sample {
        processes,
        exited: sample.exited.iter().filter(|s| keep(s)).cloned().collect(),
    }
}
