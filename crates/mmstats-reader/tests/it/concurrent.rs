//! A real writer thread (the `mmstats` crate) updates a counter and a text field nonstop while
//! this thread takes snapshots: every text read must be whole and every counter read must be
//! at least the previous one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mmstats_reader::StatsFile;
use mmstats_testkit::torn::{read_while_written, step_text};

#[test]
fn concurrent_updates_never_tear() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let writer = {
        let (stop, dir) = (Arc::clone(&stop), dir.path().to_path_buf());
        std::thread::spawn(move || {
            let stats = mmstats::Stats::create(mmstats::Options::new().dir(&dir)).unwrap();
            let n = stats.counter("n").register().unwrap();
            let text = stats.text("text", 64).register().unwrap();
            text.set(&step_text(0));
            tx.send(stats.path().to_path_buf()).unwrap();
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                text.set(&step_text(k));
                n.incr(1);
            }
            k
        })
    };
    let path = rx.recv().unwrap();

    let mut reader = StatsFile::open(&path).unwrap();
    let reads = read_while_written(&mut reader, 20_000, "text", "n", |_, _, _| {});
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 1000, "the writer ran ({written} updates)");
    assert!(
        reads.whole > reads.busy,
        "{} whole reads, {} busy",
        reads.whole,
        reads.busy
    );
}
