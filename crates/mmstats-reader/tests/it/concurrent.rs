//! A writer thread updating values under the sequence counter while the reader snapshots:
//! the reader must never see a torn value.
//!
//! The test plays the writer through its own writable mapping of the file, with the word
//! stores and fences of FORMAT.md §4.2; that needs one `unsafe` block to view a mapped word as
//! an atomic, as the writer library does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};

use mmstats_format::{FieldMeta, Kind, Num, Value, ValueType};
use mmstats_reader::{StatsFile, ValueError};

use crate::image::{Image, counter};

/// The writer's view of one mapped word.
fn word(map: &memmap2::MmapRaw, off: usize) -> &AtomicU64 {
    assert!(off % 8 == 0 && off + 8 <= map.len());
    // SAFETY:
    // - `off + 8 <= map.len()` was checked above and the mapping outlives the returned
    //   reference (it borrows `map`);
    // - `off` is a multiple of 8 and the mapping is page-aligned, as `from_ptr` requires;
    // - every access to the file's words, by this writer and by the reader, is atomic.
    unsafe { AtomicU64::from_ptr(map.as_mut_ptr().add(off).cast()) }
}

#[test]
fn concurrent_updates_never_tear() {
    let dir = tempfile::tempdir().unwrap();
    let fields = [
        counter("n"),
        FieldMeta::new("avg", Kind::Average, ValueType::U64),
    ];
    let image = Image::of(&fields);
    let path = image.write(dir.path(), "busy.mmstats");
    let (n_at, avg_at) = (image.offset("n"), image.offset("avg"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let map = Arc::new(memmap2::MmapRaw::map_raw(&file).unwrap());
    let stop = Arc::new(AtomicBool::new(false));

    let writer = {
        let (map, stop) = (Arc::clone(&map), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (seq, count, sum) = (
                word(&map, avg_at),
                word(&map, avg_at + 8),
                word(&map, avg_at + 16),
            );
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let s = seq.load(Ordering::Relaxed);
                seq.store(s + 1, Ordering::Relaxed);
                fence(Ordering::Release);
                count.store(k, Ordering::Relaxed);
                sum.store(k * 10, Ordering::Relaxed);
                seq.store(s + 2, Ordering::Release);
                word(&map, n_at).store(k, Ordering::Relaxed);
            }
            k
        })
    };

    let mut reader = StatsFile::open(&path).unwrap();
    let (mut consistent, mut busy, mut last_n) = (0u32, 0u32, 0u64);
    for _ in 0..20_000 {
        let snap = reader.snapshot().unwrap();
        match &snap.fields[1].value {
            Ok(Value::Average {
                count,
                sum: Num::U(sum),
            }) => {
                assert_eq!(*sum, count * 10, "torn average");
                consistent += 1;
            }
            // The writer never stops between its stores for long, but a slow machine may
            // preempt it mid-update; it holds no lock, so the reader calls it died.
            Err(ValueError::WriterDied) => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
        let Ok(Value::Number(Num::U(n))) = snap.fields[0].value else {
            panic!("{:?}", snap.fields[0].value)
        };
        assert!(n >= last_n, "a counter went backwards");
        last_n = n;
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(consistent > busy, "{consistent} consistent, {busy} busy");
}
