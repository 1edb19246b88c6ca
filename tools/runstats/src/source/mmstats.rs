//! The mmstats files of the processes in the tree, found as they appear: every field combined
//! over a process's files (its threads) by the field's rule, with counters also as rates and
//! histograms as interval statistics ([`crate::derive`]).

use std::collections::{BTreeMap, HashSet};

use mmstats_reader::{Scanner, Snapshot, combine};

use crate::derive::Deriver;
use crate::source::{Sample, Source, Unavailable};
use crate::tree::Tree;

/// Records the mmstats files of the tree.
#[derive(Debug)]
pub struct MmstatsSource {
    scanner: Scanner,
    deriver: Deriver,
    problems: Vec<String>,
    reported: HashSet<String>,
}

impl MmstatsSource {
    /// A source over these paths and globs (empty: the default glob).
    pub fn new(patterns: Vec<String>) -> MmstatsSource {
        MmstatsSource {
            scanner: Scanner::new(patterns),
            deriver: Deriver::new(),
            problems: Vec::new(),
            reported: HashSet::new(),
        }
    }
}

impl Source for MmstatsSource {
    fn name(&self) -> &'static str {
        "mmstats"
    }

    fn sample(&mut self, tree: &Tree, now_ms: i64, out: &mut Vec<Sample>) {
        let scan = self.scanner.scan();
        for e in scan.errors {
            let msg = e.to_string();
            if self.reported.insert(msg.clone()) {
                self.problems.push(msg);
            }
        }
        // Snapshots of the tree's processes, by pid; a file whose recorded start time names
        // another process with the same pid (pid reused) is left out.
        let mut by_pid: BTreeMap<u32, Vec<Snapshot>> = BTreeMap::new();
        for s in scan.snapshots {
            let Some(pid) = s.info.pid else { continue };
            let Some(p) = tree.procs.get(&pid) else {
                continue;
            };
            if s.info
                .start_time
                .is_some_and(|t| t != 0 && t != p.start_time)
            {
                continue;
            }
            by_pid.entry(pid).or_default().push(s);
        }
        for (pid, snaps) in by_pid {
            let fields = combine(&snaps, None);
            let start = tree.procs.get(&pid).map_or(0, |p| p.start_time);
            self.deriver.process(
                "mmstats",
                &tree.process_name(pid),
                &format!("{pid}:{start}"),
                &fields,
                now_ms,
                out,
            );
        }
        self.deriver.end_tick();
    }

    fn unavailable(&self) -> Vec<Unavailable> {
        Vec::new()
    }

    fn problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }
}
