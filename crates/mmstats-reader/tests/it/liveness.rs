//! Liveness (FORMAT.md §6.3): the lock first, then the recorded identity.

use std::fs::File;

use mmstats_format::{Identity, Reserve};
use mmstats_reader::{Liveness, StatsFile, liveness};
use nix::fcntl::{Flock, FlockArg};

use crate::image::{Image, counter};

fn own_start_time() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    mmstats_format::parse_start_time(&stat).unwrap()
}

fn boot_id() -> [u8; 16] {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    mmstats_format::parse_boot_id(&text).unwrap()
}

/// A pid that no process has (a child that has been reaped).
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn file_of(dir: &std::path::Path, name: &str, identity: Identity) -> StatsFile {
    let image = Image::new(&[counter("a")], Reserve::default(), identity);
    StatsFile::open(image.write(dir, name)).unwrap()
}

fn me() -> Identity {
    Identity {
        pid: std::process::id(),
        start_time: own_start_time(),
        boot_id: boot_id(),
        ..Identity::default()
    }
}

#[test]
fn a_running_writer_is_alive_and_a_gone_one_dead() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        liveness(&file_of(dir.path(), "me.mmstats", me())),
        Liveness::Alive
    );

    let gone = Identity {
        pid: dead_pid(),
        ..me()
    };
    let file = file_of(dir.path(), "gone.mmstats", gone);
    assert!(matches!(liveness(&file), Liveness::Dead(r) if r.contains("no process")));

    // A lock held means alive, whatever the identity says.
    let lock = Flock::lock(
        File::open(file.path()).unwrap(),
        FlockArg::LockExclusiveNonblock,
    )
    .map_err(|(_, e)| e)
    .unwrap();
    assert_eq!(liveness(&file), Liveness::Alive);
    drop(lock);
    assert!(matches!(liveness(&file), Liveness::Dead(_)));
}

#[test]
fn a_reused_pid_or_another_boot_is_dead() {
    let dir = tempfile::tempdir().unwrap();
    let reused = Identity {
        start_time: own_start_time() + 12345,
        ..me()
    };
    let r = liveness(&file_of(dir.path(), "reused.mmstats", reused));
    assert!(
        matches!(&r, Liveness::Dead(why) if why.contains("started")),
        "{r:?}"
    );

    let mut other_boot = me();
    other_boot.boot_id[0] ^= 0xff;
    let r = liveness(&file_of(dir.path(), "boot.mmstats", other_boot));
    assert!(
        matches!(&r, Liveness::Dead(why) if why.contains("boot")),
        "{r:?}"
    );

    // Unknown start time and boot id: the pid alone decides.
    let unknown = Identity {
        pid: std::process::id(),
        ..Identity::default()
    };
    assert_eq!(
        liveness(&file_of(dir.path(), "u.mmstats", unknown)),
        Liveness::Alive
    );
}

#[test]
fn pid_one_exists_even_when_we_may_not_signal_it() {
    // kill(1, 0) succeeds as root and fails with EPERM otherwise: both mean "exists".
    let dir = tempfile::tempdir().unwrap();
    let init = Identity {
        pid: 1,
        ..Identity::default()
    };
    assert_eq!(
        liveness(&file_of(dir.path(), "init.mmstats", init)),
        Liveness::Alive
    );
}

#[test]
fn version_1_files_are_judged_by_sys_pid() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, pid: u32| {
        let path = dir.path().join(name);
        let bytes = mmstats_format::v1::encode(&[("sys.pid", "I", pid.to_ne_bytes().to_vec())]);
        std::fs::write(&path, bytes).unwrap();
        StatsFile::open(path).unwrap()
    };
    assert_eq!(
        liveness(&write("alive.mmstats", std::process::id())),
        Liveness::Alive
    );
    assert!(matches!(
        liveness(&write("dead.mmstats", dead_pid())),
        Liveness::Dead(_)
    ));
}
