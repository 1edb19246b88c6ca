//! Snapshots: values, torn multi-word values, appended fields and the metadata cache.

use std::fs::File;
use std::sync::Arc;

use mmstats_format::layout::{header as h, state};
use mmstats_format::{FieldMeta, Kind, Num, Value, ValueType};
use mmstats_reader::{StatsFile, ValueError};
use nix::fcntl::{Flock, FlockArg};

use crate::image::{Image, counter, every_kind, text};

#[test]
fn values_are_read_from_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&every_kind());
    image.set_words("requests", &[17]);
    image.set_words("temp", &[21.5f64.to_bits()]);
    image.set_words("workers", &[(-3i64) as u64]);
    image.set_words("status", &[4, 2, u64::from_ne_bytes(*b"ok\0\0\0\0\0\0")]);
    image.set_words("rows", &[2, 2, 10]);
    let path = image.write(dir.path(), "v.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    let snap = file.snapshot().unwrap();
    let value = |l: &str| snap.field(l).unwrap().value.clone().unwrap();
    assert_eq!(value("requests"), Value::Number(Num::U(17)));
    assert_eq!(value("temp"), Value::Number(Num::F(21.5)));
    assert_eq!(value("workers"), Value::Number(Num::I(-3)));
    assert_eq!(value("status"), Value::Text("ok".into()));
    assert_eq!(
        value("rows"),
        Value::Average {
            count: 2,
            sum: Num::U(10)
        }
    );
    // Values change between snapshots; the metadata does not.
    mmstats_testkit::file::store_word(&path, image.offset("requests"), 18);
    let again = file.snapshot().unwrap();
    assert_eq!(
        again.field("requests").unwrap().value,
        Ok(Value::Number(Num::U(18)))
    );
    for (a, b) in snap.fields.iter().zip(again.fields.iter()) {
        assert!(
            Arc::ptr_eq(&a.meta, &b.meta),
            "metadata re-parsed without a new generation"
        );
    }
    assert!(Arc::ptr_eq(&snap.info, &again.info));
}

#[test]
fn a_corrupt_value_is_an_error_for_that_field_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[counter("a"), text("t", 8)]);
    image.set_words("a", &[5]);
    image.set_words("t", &[2, 99]); // length beyond capacity
    let path = image.write(dir.path(), "c.mmstats");
    let snap = StatsFile::open(&path).unwrap().snapshot().unwrap();
    assert_eq!(snap.fields[0].value, Ok(Value::Number(Num::U(5))));
    assert!(matches!(snap.fields[1].value, Err(ValueError::Corrupt(_))));
}

#[test]
fn an_odd_sequence_word_is_writer_died_or_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[counter("a"), text("t", 8), counter("b")]);
    image.set_words("t", &[7, 1, u64::from_ne_bytes(*b"x\0\0\0\0\0\0\0")]);
    image.set_words("b", &[3]);
    let path = image.write(dir.path(), "odd.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    assert!(!file.lock_held());
    let snap = file.snapshot().unwrap();
    assert_eq!(snap.fields[1].value, Err(ValueError::WriterDied));
    assert_eq!(snap.fields[2].value, Ok(Value::Number(Num::U(3))));

    // A writer holds the lock (on its own open of the file, as a writer process would).
    let writer = Flock::lock(File::open(&path).unwrap(), FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .unwrap();
    assert!(file.lock_held());
    let snap = file.snapshot().unwrap();
    assert_eq!(snap.fields[1].value, Err(ValueError::BeingWritten));
    assert_eq!(snap.fields[0].value, Ok(Value::Number(Num::U(0))));
    drop(writer);
    assert!(!file.lock_held());

    // The writer finishes the update: the value reads again.
    mmstats_testkit::file::store_word(&path, image.offset("t"), 8);
    let snap = file.snapshot().unwrap();
    assert_eq!(snap.fields[1].value, Ok(Value::Text("x".into())));
}

#[test]
fn appended_fields_appear_after_the_generation_bump() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[counter("a")]);
    let path = image.write(dir.path(), "grow.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    let first = file.snapshot().unwrap();
    assert_eq!(first.fields.len(), 1);
    assert!(!file.refresh().unwrap());

    let mut added = FieldMeta::new("b.later", Kind::Gauge, ValueType::I64);
    added.help = "added after creation".into();
    image.append(&path, &added);
    mmstats_testkit::file::store_word(&path, image.offset("b.later"), (-9i64) as u64);

    assert!(file.refresh().unwrap(), "the generation changed");
    assert!(!file.refresh().unwrap(), "and is now current");
    let snap = file.snapshot().unwrap();
    assert_eq!(snap.fields.len(), 2);
    assert_eq!(*snap.fields[1].meta, added);
    assert_eq!(snap.fields[1].value, Ok(Value::Number(Num::I(-9))));
    assert!(
        Arc::ptr_eq(&first.fields[0].meta, &snap.fields[0].meta),
        "unchanged records keep their metadata"
    );
    assert_eq!(file.fields().len(), 2);
}

#[test]
fn a_field_count_without_a_generation_bump_is_not_seen_yet() {
    // FORMAT.md §7: the reader re-reads the table only when the generation changes.
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[counter("a")]);
    let path = image.write(dir.path(), "g.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    image.append(&path, &counter("b"));
    // Undo only the generation store.
    mmstats_testkit::file::store_word(&path, h::GENERATION, 2);
    assert_eq!(file.snapshot().unwrap().fields.len(), 1);
    mmstats_testkit::file::store_word(&path, h::GENERATION, 3);
    assert_eq!(file.snapshot().unwrap().fields.len(), 2);
}

#[test]
fn the_closed_and_process_bits_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let image = crate::image::of(&[counter("a")]);
    let path = image.write(dir.path(), "s.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    assert!(!file.snapshot().unwrap().info.closed);
    mmstats_testkit::file::store_word(&path, h::STATE, state::CLOSED | state::PROCESS);
    let snap = file.snapshot().unwrap();
    assert!(snap.info.closed);
    assert!(snap.info.process_totals);
    assert!(file.info().closed);
}

#[test]
fn an_unchanged_sequence_word_means_the_value_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut image = crate::image::of(&[text("t", 8)]);
    let word = |s: &[u8; 8]| u64::from_ne_bytes(*s);
    image.set_words("t", &[2, 3, word(b"old\0\0\0\0\0")]);
    let path = image.write(dir.path(), "memo.mmstats");
    let at = image.offset("t");
    let mut file = StatsFile::open(&path).unwrap();
    let text_of = |file: &mut StatsFile| file.snapshot().unwrap().fields[0].value.clone();
    assert_eq!(text_of(&mut file), Ok(Value::Text("old".into())));

    // Bytes changed behind the sequence word's back (only a broken writer does this): the
    // word still says "unchanged", so the copy taken before is the value.
    mmstats_testkit::file::store_word(&path, at + 16, word(b"bad\0\0\0\0\0"));
    assert_eq!(text_of(&mut file), Ok(Value::Text("old".into())));

    // A real update moves the sequence word on: the value is read again.
    mmstats_testkit::file::store_word(&path, at + 16, word(b"new\0\0\0\0\0"));
    mmstats_testkit::file::store_word(&path, at, 4);
    assert_eq!(text_of(&mut file), Ok(Value::Text("new".into())));
    // Left odd afterwards (a writer that died mid-update): never the old copy.
    mmstats_testkit::file::store_word(&path, at, 5);
    assert_eq!(
        file.snapshot().unwrap().fields[0].value,
        Err(ValueError::WriterDied)
    );
}

/// Every field of every kind, with values in each word its value depends on: text as long as
/// its capacity, histograms with every bucket in use.
fn every_kind_filled() -> Image {
    let mut image = crate::image::of(&every_kind());
    image.set_words("requests", &[17]);
    image.set_words("temp", &[21.5f64.to_bits()]);
    image.set_words("workers", &[3]);
    image.set_words("started", &[1.7e9f64.to_bits()]);
    let mut status = vec![2, 24];
    status.extend(
        b"abcdefghijklmnopqrstuvwx"
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap())),
    );
    image.set_words("status", &status);
    image.set_words("rows", &[2, 2, 10]);
    for label in ["sizes", "latency"] {
        // seq, count, sum, min, max (past the last bucket's range: every bucket in use), last,
        // window count and sum, then the 64 buckets
        let mut words = vec![2, 640, 6400, 1, u64::MAX / 2, 7, 3, 30];
        words.extend((0..64).map(|b| 10 + b));
        image.set_words(label, &words);
    }
    image.set_words("rtt", &[2, 9, 4, 2.5f64.to_bits(), 1.5f64.to_bits()]);
    // seq, count, sum, then (period, count, sum) for each of 4 slots
    let mut hits = vec![2, 40, 400];
    for p in 0..4 {
        hits.extend([100 + p, 10, 100]);
    }
    image.set_words("hits", &hits);
    image
}

#[test]
fn an_unchanged_file_shares_its_values_and_a_change_of_any_word_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let image = every_kind_filled();
    let path = image.write(dir.path(), "words.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    let mut prev = file.snapshot().unwrap();
    assert!(prev.fields.iter().all(|f| f.value.is_ok()), "{prev:?}");
    let again = file.snapshot().unwrap();
    assert!(again.same_values(&prev), "nothing changed");
    assert!(!again.same_values(&StatsFile::open(&path).unwrap().snapshot().unwrap()));
    for meta in every_kind() {
        let at = image.offset(&meta.label);
        let multi = meta.kind.is_multi_word() || meta.value_type == ValueType::Text;
        let words = mmstats_format::slot_words(meta.slot_length().unwrap());
        let mut seen = 0;
        // each word of the slot but the sequence word, which moves with every change
        for w in usize::from(multi)..words {
            let word_at = at + 8 * w;
            let bytes = std::fs::read(&path).unwrap();
            let old = u64::from_ne_bytes(bytes[word_at..word_at + 8].try_into().unwrap());
            mmstats_testkit::file::store_word(&path, word_at, old + 1);
            if multi {
                let seq = u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
                mmstats_testkit::file::store_word(&path, at, seq + 2);
            }
            let snap = file.snapshot().unwrap();
            let label = format!("{} word {w}", meta.label);
            assert!(!snap.same_values(&prev), "{label}: the change is not seen");
            let fresh = StatsFile::open(&path).unwrap().snapshot().unwrap();
            for (a, b) in snap.fields.iter().zip(fresh.fields.iter()) {
                assert_eq!(
                    a.value, b.value,
                    "{label}: {} as a new reader reads it",
                    a.meta.label
                );
            }
            let (now, before) = (snap.field(&meta.label), prev.field(&meta.label));
            if now.unwrap().value != before.unwrap().value {
                seen += 1;
            }
            let idle = file.snapshot().unwrap();
            assert!(
                idle.same_values(&snap),
                "{label}: unchanged after the change"
            );
            // and back, as a change of its own
            mmstats_testkit::file::store_word(&path, word_at, old);
            if multi {
                mmstats_testkit::file::store_word(
                    &path,
                    at,
                    u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap()) + 4,
                );
            }
            let back = file.snapshot().unwrap();
            assert!(
                !back.same_values(&snap),
                "{label}: the change back is not seen"
            );
            assert_eq!(
                back.field(&meta.label),
                prev.field(&meta.label),
                "{label}: back"
            );
            prev = back;
        }
        // (a moving average keeps its window's values in the slot too, which it does not show)
        assert!(seen >= 1.min(words), "{}: no change seen", meta.label);
        if !matches!(meta.kind, Kind::MovingAverage | Kind::Timer) {
            assert_eq!(seen, words - usize::from(multi), "{}", meta.label);
        }
    }
}

/// Every value of a snapshot.
fn values(snap: &mmstats_reader::Snapshot) -> Vec<Result<Value, ValueError>> {
    snap.fields.iter().map(|f| f.value.clone()).collect()
}

#[test]
fn values_no_snapshot_holds_are_updated_in_place_and_held_ones_never_change() {
    let dir = tempfile::tempdir().unwrap();
    let image = every_kind_filled();
    let path = image.write(dir.path(), "in-place.mmstats");
    let fresh = || values(&StatsFile::open(&path).unwrap().snapshot().unwrap());
    let (rows, sizes) = (image.offset("rows"), image.offset("sizes"));
    // (slot, sequence-counted, words to store at offsets from the slot): the histogram's
    // changes take its bucket list through each count width and through fewer, more and no
    // non-zero buckets, so its storage is rewritten in place or replaced.
    let bucket = |b: usize| 8 * (8 + b);
    let mut changes = vec![
        (image.offset("requests"), false, vec![(0, 18)]),
        (image.offset("temp"), false, vec![(0, 22.5f64.to_bits())]),
        (rows, true, vec![(8, 3), (16, 30)]),
        (sizes, true, vec![(bucket(0), 11), (bucket(5), 0)]),
        (sizes, true, vec![(bucket(6), 300)]),
        (sizes, true, vec![(bucket(7), 70_000), (bucket(9), 0)]),
        (sizes, true, vec![(bucket(8), 1 << 40)]),
        (sizes, true, (0..64).map(|b| (bucket(b), 0)).collect()),
        (sizes, true, vec![(bucket(3), 1)]),
    ];
    // each change once more, to other values of the same widths
    let again: Vec<_> = changes
        .iter()
        .map(|(at, multi, words)| {
            let words = words
                .iter()
                .map(|&(o, v)| (o, v ^ u64::from(v > 1)))
                .collect();
            (*at, *multi, words)
        })
        .collect();
    changes.extend(again);
    let mut file = StatsFile::open(&path).unwrap();
    let mut held = file.snapshot().unwrap();
    let mut seq = 2;
    let store = |at: usize, multi: bool, words: &[(usize, u64)], seq: &mut u64| {
        for &(offset, word) in words {
            mmstats_testkit::file::store_word(&path, at + offset, word);
        }
        if multi {
            *seq += 2;
            mmstats_testkit::file::store_word(&path, at, *seq);
        }
    };
    for (step, (at, multi, words)) in changes.iter().enumerate() {
        let before = values(&held);
        // a change read while the last snapshot is held: a new slice; the held one stays
        store(*at, *multi, words, &mut seq);
        let snap = file.snapshot().unwrap();
        assert!(!Arc::ptr_eq(&snap.fields, &held.fields), "step {step}");
        assert_eq!(values(&snap), fresh(), "step {step}");
        assert_eq!(
            values(&held),
            before,
            "step {step}: a held snapshot changed"
        );
        // a change read when no snapshot is held: the same slice, changed in place
        let storage = Arc::as_ptr(&snap.fields);
        drop((snap, held));
        let undo: Vec<_> = words.iter().map(|&(o, _)| (o, 0)).collect();
        store(*at, *multi, &undo, &mut seq);
        let snap = file.snapshot().unwrap();
        assert_eq!(
            Arc::as_ptr(&snap.fields),
            storage,
            "step {step}: not in place"
        );
        assert_eq!(values(&snap), fresh(), "step {step}, in place");
        drop(snap);
        store(*at, *multi, words, &mut seq);
        held = file.snapshot().unwrap();
        assert_eq!(
            Arc::as_ptr(&held.fields),
            storage,
            "step {step}: not in place"
        );
        assert_eq!(values(&held), fresh(), "step {step}, in place, back");
    }
}
