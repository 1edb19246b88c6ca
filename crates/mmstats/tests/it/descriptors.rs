//! A writer's descriptors: one per stats file (the directory's is shared by every stats
//! object in it), so 1,000 threads with stats files fit under the common limit of 1,024 open
//! files, and past a limit creation fails with the system's reason, never a panic.

use std::sync::{Arc, Barrier};

use mmstats::{Counter, Options, Stats};
use nix::sys::resource::{Resource, setrlimit};

/// Starts `threads` threads that each create a stats file with one counter and wait until
/// all have tried (so every thread is alive at once and has a thread id of its own); returns
/// the stats created, held, and each failure's message.
fn threads_with_files(threads: usize) -> (Vec<(Stats, Counter)>, Vec<String>) {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let made = Stats::create(Options::new().name("t")).and_then(|s| {
                        let c: Counter = s.counter("work").register()?;
                        c.incr(1);
                        Ok((s, c))
                    });
                    barrier.wait();
                    made.map_err(|e| e.to_string())
                })
                .unwrap()
        })
        .collect();
    let mut made = Vec::new();
    let mut failed = Vec::new();
    for h in handles {
        match h.join().expect("no thread panics") {
            Ok(s) => made.push(s),
            Err(e) => failed.push(e),
        }
    }
    (made, failed)
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".mmstats"))
        })
        .count()
}

#[test]
fn a_thousand_threads_fit_under_a_limit_of_1024() {
    const NAME: &str = "descriptors::a_thousand_threads_fit_under_a_limit_of_1024";
    let Some((_dir, out)) = crate::run_in_child(NAME, || {
        setrlimit(Resource::RLIMIT_NOFILE, 1024, 1024).unwrap();
        let (made, failed) = threads_with_files(1000);
        assert!(
            failed.is_empty(),
            "{} failed: {:?}",
            failed.len(),
            failed[0]
        );
        let dir = std::env::var_os("MMSTATS_PATH").unwrap();
        assert_eq!(files_in(dir.as_ref()), 1000);
        println!("created {} files under a limit of 1024", made.len());
    }) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("created 1000 files under a limit of 1024"),
        "{text}"
    );
}

#[test]
fn past_the_limit_creation_fails_with_the_reason() {
    const NAME: &str = "descriptors::past_the_limit_creation_fails_with_the_reason";
    let Some((_dir, out)) = crate::run_in_child(NAME, || {
        setrlimit(Resource::RLIMIT_NOFILE, 64, 64).unwrap();
        let (mut made, failed) = threads_with_files(100);
        assert_eq!(made.len() + failed.len(), 100);
        assert!(made.len() >= 40, "only {} created", made.len());
        assert!(
            !failed.is_empty(),
            "100 files cannot fit under 64 descriptors"
        );
        for e in &failed {
            assert!(e.contains("Too many open files"), "{e}");
        }
        // (one file closed, so that listing the directory has a descriptor)
        made.pop();
        let dir = std::env::var_os("MMSTATS_PATH").unwrap();
        assert_eq!(
            files_in(dir.as_ref()),
            made.len(),
            "a failed file leaves nothing"
        );
        println!(
            "created {}, refused {}: {}",
            made.len(),
            failed.len(),
            failed[0]
        );
    }) else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused"), "{text}");
}
