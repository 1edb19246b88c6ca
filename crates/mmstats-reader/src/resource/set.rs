//! Resources beside a scan of stats files: what polling tools add to each scan.

use super::{HostSource, ProcessSource, pids_of};
use crate::scan::Scan;

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
    pub fn add_to(&mut self, scan: &mut Scan) {
        let before = scan.snapshots.len();
        if let Some(procs) = &mut self.procs {
            let pids = pids_of(&scan.snapshots);
            let (snaps, _gone) = procs.sample_many(&pids);
            scan.snapshots.extend(snaps);
        }
        if let Some(host) = &mut self.host {
            scan.snapshots.push(host.sample());
        }
        if scan.snapshots.len() > before {
            scan.snapshots.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
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
}
