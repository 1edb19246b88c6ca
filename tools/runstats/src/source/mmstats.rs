//! The mmstats files of the processes in the tree, found as they appear, and the JVM
//! performance data files (hsperfdata) of the tree's JVMs: one interval engine per recording
//! turns each tick's snapshots into per-process series ([`crate::derive`]).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mmstats_format::hsperf::HsperfError;
use mmstats_reader::{ErrorKind, FormatError, Intervals, Scanner, Snapshot, default_glob};

use crate::derive::{Names, series_samples};
use crate::source::{Sample, Source, Unavailable};
use crate::tree::Tree;

/// Records the mmstats files of the tree.
#[derive(Debug)]
pub struct MmstatsSource {
    scanner: Scanner,
    /// Where this user's JVMs keep their performance data files, if the user has a name.
    jvm_dir: Option<PathBuf>,
    engine: Intervals,
    /// The processes of the tree whose files were recorded, by pid: their start time and
    /// name, so that the final listing of an exited process's files still counts.
    members: HashMap<u32, (u64, Arc<str>)>,
    /// The labels and units of the samples.
    names: Names,
    problems: Vec<String>,
    reported: HashSet<String>,
}

impl MmstatsSource {
    /// A source over these paths and globs (empty: the default glob), and this user's JVM
    /// files (`hsperfdata_<user>` in the temporary directory: the JVMs of the tree run as
    /// the user; the temporary directory itself, writable by all, is no stats directory).
    pub fn new(patterns: Vec<String>) -> MmstatsSource {
        MmstatsSource::with_jvms(patterns, true)
    }

    /// The same, with the JVM files only if `jvms`.
    pub fn with_jvms(patterns: Vec<String>, jvms: bool) -> MmstatsSource {
        let mut patterns = if patterns.is_empty() {
            vec![default_glob()]
        } else {
            patterns
        };
        let jvm_dir = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .filter(|_| jvms)
            .map(|u| std::env::temp_dir().join(format!("hsperfdata_{}", u.name)));
        if let Some(d) = &jvm_dir {
            patterns.push(d.to_string_lossy().into_owned());
        }
        MmstatsSource {
            scanner: Scanner::new(patterns),
            jvm_dir,
            // Which processes are alive is the tree's to say (a snapshot is kept only for a
            // process of the tree, or for the final listing of one that exited), and no
            // series depends on it: the engine need not ask `/proc` again for each.
            engine: Intervals::new().assume_alive(),
            members: HashMap::new(),
            names: Names::new(),
            problems: Vec::new(),
            reported: HashSet::new(),
        }
    }

    /// Whether a snapshot belongs to the tree: its pid is in the tree and its recorded start
    /// time (if any) is that process's (else the pid was reused), or it is the final listing
    /// of a member that exited since.
    fn belongs(&mut self, tree: &Tree, s: &Snapshot) -> bool {
        let Some(pid) = s.info.pid else { return false };
        let recorded = s.info.start_time.filter(|t| *t != 0);
        if let Some(p) = tree.procs.get(&pid)
            && recorded.is_none_or(|t| t == p.start_time)
        {
            // The name as stored, made again only when the process changed its name.
            let known = self.members.get(&pid).is_some_and(|(start, name)| {
                *start == p.start_time
                    && name
                        .strip_prefix(p.comm.as_str())
                        .and_then(|rest| rest.strip_prefix(':'))
                        .is_some_and(|n| n.parse() == Ok(pid))
            });
            if !known {
                self.members
                    .insert(pid, (p.start_time, tree.process_name(pid).into()));
            }
            return true;
        }
        self.members
            .get(&pid)
            .is_some_and(|(start, _)| recorded.is_none_or(|t| t == *start))
    }
}

/// The pid a JVM's performance data file is named by (`hsperfdata_<user>/<pid>`).
fn jvm_pid(path: &Path) -> Option<u32> {
    let dir = path.parent()?.file_name()?.to_str()?;
    if !dir.starts_with("hsperfdata_") {
        return None;
    }
    path.file_name()?.to_str()?.parse().ok()
}

impl Source for MmstatsSource {
    fn name(&self) -> &'static str {
        "mmstats"
    }

    fn sample(&mut self, tree: &Tree, _now_ms: i64, out: &mut Vec<Sample>) {
        let scan = self.scanner.scan();
        for e in scan.errors {
            // Other JVMs of the user are none of the recording's business, the JVMs'
            // directory appears with the first JVM, and a starting JVM's file is read at the
            // next tick.
            let no_jvms_yet = matches!(e.kind, ErrorKind::NoDir)
                && self.jvm_dir.as_deref() == Some(e.path.as_path());
            let starting = matches!(
                e.kind,
                ErrorKind::Format(FormatError::Hsperf(HsperfError::NotAccessible))
            );
            let other_jvm = jvm_pid(&e.path).is_some_and(|pid| !tree.procs.contains_key(&pid));
            if no_jvms_yet || starting || other_jvm {
                continue;
            }
            let msg = e.to_string();
            if self.reported.insert(msg.clone()) {
                self.problems.push(msg);
            }
        }
        let mut snaps = scan.snapshots;
        snaps.retain(|s| self.belongs(tree, s));
        let sample = self.engine.update(&snaps);
        for p in &sample.processes {
            let Some(pid) = p.pid() else { continue };
            let name = match self.members.get(&pid) {
                Some((_, name)) => Arc::clone(name),
                None => format!("{}:{pid}", p.cmd).into(),
            };
            for series in &p.series {
                series_samples("mmstats", &name, series, p.seconds, &mut self.names, out);
            }
        }
        self.names.tick();
        // Forget the members gone from the tree and from the files.
        let listed: HashSet<u32> = snaps.iter().filter_map(|s| s.info.pid).collect();
        self.members
            .retain(|pid, _| tree.procs.contains_key(pid) || listed.contains(pid));
    }

    fn unavailable(&self) -> Vec<Unavailable> {
        Vec::new()
    }

    fn problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }
}
