//! A real writer thread (the `mmstats` crate) updates a counter and a text field nonstop while
//! this thread takes snapshots: every text read must be whole and every counter read must be
//! at least the previous one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mmstats_reader::{Num, StatsFile, Value, ValueError};

/// The text written for step `k`: `k`, a colon, then `k % 40` copies of one letter. A torn
/// read mixes two steps and breaks the pattern.
fn text_for(k: u64) -> String {
    let letter = char::from(b'a' + (k % 26) as u8);
    format!("{k}:{}", letter.to_string().repeat((k % 40) as usize))
}

fn check_text(t: &str) {
    let (k, rest) = t
        .split_once(':')
        .unwrap_or_else(|| panic!("torn text {t:?}"));
    let k: u64 = k.parse().unwrap_or_else(|_| panic!("torn text {t:?}"));
    assert_eq!(
        rest,
        &text_for(k)[k.to_string().len() + 1..],
        "torn text {t:?}"
    );
}

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
            text.set(&text_for(0));
            tx.send(stats.path().to_path_buf()).unwrap();
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                text.set(&text_for(k));
                n.incr(1);
            }
            k
        })
    };
    let path = rx.recv().unwrap();

    let mut reader = StatsFile::open(&path).unwrap();
    let (mut whole, mut busy, mut last_n) = (0u32, 0u32, 0u64);
    for _ in 0..20_000 {
        let snap = reader.snapshot().unwrap();
        match &snap.field("text").expect("text field").value {
            Ok(Value::Text(t)) => {
                check_text(t);
                whole += 1;
            }
            // The writer holds its file's lock, so a value it is rewriting for longer than the
            // reader's retries is "being written", never torn.
            Err(ValueError::BeingWritten) => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
        let Ok(Value::Number(Num::U(n))) = snap.field("n").expect("n field").value else {
            panic!("counter unreadable")
        };
        assert!(n >= last_n, "a counter went backwards");
        last_n = n;
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 1000, "the writer ran ({written} updates)");
    assert!(whole > busy, "{whole} whole reads, {busy} busy");
}
