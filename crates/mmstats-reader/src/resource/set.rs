//! Resources beside a scan of stats files: what polling tools add to each scan.

use std::sync::Arc;

use super::{HostSource, ProcessSource, pids_of, resource_kind};
use crate::process::ProcessId;
use crate::scan::Scan;
use crate::snapshot::Snapshot;

/// Adds resource snapshots to scans: the host's, and one per process that has stats files.
/// The sources keep their previous samples, so their `percent` gauges cover one polling
/// interval.
#[derive(Debug)]
pub struct Resources {
    host: Option<HostSource>,
    procs: Option<ProcessSource>,
}

impl Resources {
    /// Sources for the host (`host`) and for the scanned files' processes (`procs`).
    pub fn new(host: bool, procs: bool) -> Resources {
        Resources {
            host: host.then(HostSource::new),
            procs: procs.then(ProcessSource::new),
        }
    }

    /// The sources a list of labels needs: the host when one starts with `host.`, processes
    /// when one starts with `proc.`.
    pub fn for_labels(labels: &[String]) -> Resources {
        let wants = |p: &str| labels.iter().any(|l| l.starts_with(p));
        Resources::new(wants("host."), wants("proc."))
    }

    /// Adds the host's snapshot and those of the scan's processes to `scan`, which stays
    /// sorted by path. A process that cannot be read (it exited meanwhile) is left out: its
    /// stats files tell the rest.
    ///
    /// A process snapshot joins its stats files' process in the interval engine by their
    /// common identity (pid, start time, boot id). When the files of its pid record no start
    /// time (version 1), it takes their identity so that it still joins them; when they name
    /// another process (their writer exited and its pid went to a newcomer), it is left out.
    pub fn add_to(&mut self, scan: &mut Scan) {
        let before = scan.snapshots.len();
        if let Some(procs) = &mut self.procs {
            let pids = pids_of(&scan.snapshots);
            let (snaps, _gone) = procs.sample_many(&pids);
            let joined: Vec<Snapshot> = snaps
                .into_iter()
                .filter_map(|s| join(s, &scan.snapshots))
                .collect();
            scan.snapshots.extend(joined);
        }
        if let Some(host) = &mut self.host {
            scan.snapshots.push(host.sample());
        }
        if scan.snapshots.len() > before {
            scan.snapshots.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
}

/// `snap` (a process's resources) with the identity of the stats files of its pid among
/// `files`, or `None` when they are another process's.
fn join(snap: Snapshot, files: &[Snapshot]) -> Option<Snapshot> {
    let mine = ProcessId::of(&snap.info, &snap.path);
    let mut theirs = files
        .iter()
        .filter(|f| resource_kind(f).is_none() && f.info.pid == snap.info.pid)
        .map(|f| (f.info.start_time.filter(|t| *t != 0), f.info.boot_id));
    if theirs.clone().any(|(start, boot)| {
        let id = ProcessId::Process {
            pid: snap.info.pid.unwrap_or(0),
            start_time: start.unwrap_or(0),
            boot_id: boot.unwrap_or([0; 16]),
        };
        id == mine
    }) {
        return Some(snap);
    }
    let (start, boot) = theirs.find(|(start, _)| start.is_none())?;
    let mut info = (*snap.info).clone();
    info.start_time = start;
    info.boot_id = boot;
    Some(Snapshot {
        info: Arc::new(info),
        ..snap
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sources_asked_for_are_read() {
        let mut none = Resources::for_labels(&["web.requests".into()]);
        let mut scan = Scan::default();
        none.add_to(&mut scan);
        assert!(scan.snapshots.is_empty());
        let mut host = Resources::for_labels(&["host.cpu.user".into()]);
        host.add_to(&mut scan);
        assert_eq!(scan.snapshots.len(), 1);
        assert!(scan.snapshots[0].field("host.cpu.user").is_some());
    }

    #[test]
    fn a_process_joins_its_files_and_never_a_newcomer_with_their_pid() {
        let me = ProcessSource::new().sample(std::process::id()).unwrap();
        let file = |start: Option<u64>| {
            let mut info = crate::FileInfo::new(crate::FormatVersion::V2, (5, 6));
            info.pid = me.info.pid;
            info.start_time = start;
            info.boot_id = start.and(me.info.boot_id);
            Snapshot {
                path: "/s/w-1-1.mmstats".into(),
                info: Arc::new(info),
                ..me.clone()
            }
        };
        let id = |s: &Snapshot| ProcessId::of(&s.info, &s.path);
        // the same process
        let same = file(me.info.start_time);
        assert_eq!(
            id(&join(me.clone(), std::slice::from_ref(&same)).unwrap()),
            id(&same)
        );
        // a file that records no start time: the resources take its identity
        let v1 = file(None);
        assert_eq!(
            id(&join(me.clone(), std::slice::from_ref(&v1)).unwrap()),
            id(&v1)
        );
        // a file of an earlier process with this pid: not this one's resources
        let earlier = file(me.info.start_time.map(|t| t.saturating_sub(1)));
        assert!(join(me.clone(), &[earlier]).is_none());
    }
}
