//! Host and process resources beside the stats files: a host snapshot when a field under
//! `host.` is asked for, and one snapshot per process with stats files when a field under
//! `proc.` is, each from `/proc` ([`mmstats_reader::resource`]).

use mmstats_reader::Scan;
use mmstats_reader::resource::{HostSource, ProcessSource, pids_of};

/// Adds resource snapshots to scans. The sources keep their previous samples, so their
/// `percent` gauges cover one polling interval.
#[derive(Debug)]
pub struct Resources {
    host: Option<HostSource>,
    procs: Option<ProcessSource>,
}

impl Resources {
    /// Sources for the labels asked for: `host` when one starts with `host.`, processes when
    /// one starts with `proc.`; `all` (the full-screen view) wants both.
    pub fn new(labels: &[String], all: bool) -> Resources {
        let wants = |p: &str| all || labels.iter().any(|l| l.starts_with(p));
        Resources {
            host: wants("host.").then(HostSource::new),
            procs: wants("proc.").then(ProcessSource::new),
        }
    }

    /// Appends the host's snapshot and those of the scan's processes to `scan`. A process
    /// that cannot be read (it exited) is left out; its stats files tell the rest.
    pub fn add_to(&mut self, scan: &mut Scan) {
        if let Some(procs) = &mut self.procs {
            let pids = pids_of(&scan.snapshots);
            let (snaps, _gone) = procs.sample_many(&pids);
            scan.snapshots.extend(snaps);
        }
        if let Some(host) = &mut self.host {
            scan.snapshots.push(host.sample());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sources_asked_for_are_read() {
        let mut none = Resources::new(&["web.requests".into()], false);
        let mut scan = Scan::default();
        none.add_to(&mut scan);
        assert!(scan.snapshots.is_empty());
        let mut host = Resources::new(&["host.cpu.user".into()], false);
        host.add_to(&mut scan);
        assert_eq!(scan.snapshots.len(), 1);
        assert!(scan.snapshots[0].field("host.cpu.user").is_some());
    }
}
