//! A name that is replaced while cleanstats examines the stale file it named must never be
//! unlinked (FORMAT.md §6.4): the replacement belongs to a live writer.

use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Barrier};

use cleanstats::removal::{Outcome, examine};

use crate::fixture::{FileBuilder, dead_pid, start_time};

#[test]
fn a_name_replaced_during_removal_is_never_unlinked() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("w.mmstats");
    let me = std::process::id();
    let stale = FileBuilder::new(dead_pid(), 1).counter("x", "", 1).image();
    let mut live = FileBuilder::new(me, me);
    live.identity.start_time = start_time(me);
    let live = live.counter("x", "", 2).image();
    let live_tmp = dir.path().join(".live.tmp");

    let rounds = 3000;
    let (mut removed, mut kept, mut lost) = (0, 0, 0);
    for round in 0..rounds {
        std::fs::write(&name, &stale).unwrap();
        std::fs::write(&live_tmp, &live).unwrap();
        let live_ino = std::fs::metadata(&live_tmp).unwrap().ino();
        let start = Arc::new(Barrier::new(2));
        let go = Arc::clone(&start);
        let (from, to) = (live_tmp.clone(), name.clone());
        // The replacer waits a varying moment, then renames the live file over the name.
        let replacer = std::thread::spawn(move || {
            go.wait();
            for _ in 0..(round % 300) * 20 {
                std::hint::spin_loop();
            }
            std::fs::rename(&from, &to).unwrap();
        });
        start.wait();
        let outcome = examine(&name, false).unwrap();
        replacer.join().unwrap();
        match std::fs::metadata(&name) {
            Ok(md) if md.ino() == live_ino => kept += 1,
            Ok(_) => panic!("round {round}: the stale file is still there after {outcome:?}"),
            Err(_) => lost += 1,
        }
        if outcome == Outcome::Removed {
            removed += 1;
        }
        // No private names are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".clean"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
        std::fs::remove_file(&name).ok();
    }
    assert_eq!(
        lost, 0,
        "the live file was unlinked in {lost} of {rounds} rounds"
    );
    assert_eq!(kept, rounds);
    assert!(removed > 0, "some rounds removed the stale file first");
}
