//! The scanner across polls: new, vanished, replaced and broken files.

use mmstats_format::{Num, Value};
use mmstats_reader::{ErrorKind, Scanner, discover};

use crate::image::{Image, counter};

fn image_with(value: u64) -> Image {
    let mut image = crate::image::of(&[counter("hits")]);
    image.set_words("hits", &[value]);
    image
}

fn hits(scan: &mmstats_reader::Scan, name: &str) -> Option<Value> {
    scan.snapshots
        .iter()
        .find(|s| s.path.file_name().unwrap() == name)
        .map(|s| s.field("hits").unwrap().value.clone().unwrap())
}

#[test]
fn scans_follow_files_coming_going_and_being_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.mmstats", dir.path().display());
    let mut scanner = Scanner::new(vec![glob]);
    assert!(scanner.scan().snapshots.is_empty());

    let a = image_with(1).write(dir.path(), "a.mmstats");
    image_with(2).write(dir.path(), "b.mmstats");
    image_with(9).write(dir.path(), ".c.mmstats.123.tmp");
    std::fs::write(dir.path().join("bad.mmstats"), b"garbage!").unwrap();
    let scan = scanner.scan();
    let names: Vec<_> = scan.snapshots.iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        names,
        [a.clone(), dir.path().join("b.mmstats")],
        "sorted, dotfiles skipped"
    );
    assert_eq!(scan.errors.len(), 1, "{:?}", scan.errors);
    assert_eq!(scan.errors[0].path, dir.path().join("bad.mmstats"));
    // every snapshot of a scan says when its list of files was settled: before it was read,
    // and after the files it lists were made
    let made = std::fs::metadata(&a).unwrap().modified().unwrap();
    for s in &scan.snapshots {
        let listed = s.listed.expect("a scan's snapshot says when it was listed");
        assert!(
            listed <= s.taken && listed >= made,
            "{listed:?} {:?}",
            s.taken
        );
    }
    assert_eq!(hits(&scan, "a.mmstats"), Some(Value::Number(Num::U(1))));

    // Replace a.mmstats under the same name, as a new writer would (rename over it).
    let new = image_with(100).write(dir.path(), ".a.tmp");
    let old_ino = scanner
        .files()
        .find(|f| f.path() == a)
        .unwrap()
        .info()
        .dev_ino;
    std::fs::rename(&new, &a).unwrap();
    let scan = scanner.scan();
    assert_eq!(hits(&scan, "a.mmstats"), Some(Value::Number(Num::U(100))));
    let new_ino = scanner
        .files()
        .find(|f| f.path() == a)
        .unwrap()
        .info()
        .dev_ino;
    assert_ne!(old_ino, new_ino, "re-opened");

    // b vanishes (its writer exited and removed it); the broken file is fixed. b's final
    // values are listed once more, read through the file still open, then b is gone.
    std::fs::remove_file(dir.path().join("b.mmstats")).unwrap();
    image_with(5).write(dir.path(), "bad.mmstats");
    let scan = scanner.scan();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    assert_eq!(scan.snapshots.len(), 3);
    assert_eq!(hits(&scan, "b.mmstats"), Some(Value::Number(Num::U(2))));
    let scan = scanner.scan();
    assert_eq!(scan.snapshots.len(), 2);
    assert_eq!(hits(&scan, "b.mmstats"), None);
    assert_eq!(hits(&scan, "bad.mmstats"), Some(Value::Number(Num::U(5))));
    assert_eq!(scanner.files().count(), 2);
}

/// A writer stamps a file's creation time before it publishes the file under its name, so a
/// scan can list the directory in between: the next scan marks the file as appeared since that
/// listing. A file that was listed but could not be opened is not marked.
#[test]
fn a_file_published_after_a_scans_listing_is_marked_as_appeared_since_that_listing() {
    let dir = tempfile::tempdir().unwrap();
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", dir.path().display())]);
    image_with(1).write(dir.path(), "old.mmstats");
    std::fs::write(dir.path().join("bad.mmstats"), b"garbage!").unwrap();
    // Made, and its creation time stamped, before the first scan; not yet under its name.
    let made = image_with(2).write(dir.path(), ".new.mmstats.1.tmp");
    let first = scanner.scan();
    assert!(
        first.snapshots.iter().all(|s| s.appeared.is_none()),
        "no scan before it"
    );
    let listed = first.snapshots[0].listed.unwrap();
    std::fs::rename(&made, dir.path().join("new.mmstats")).unwrap();
    image_with(3).write(dir.path(), "bad.mmstats");

    let second = scanner.scan();
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    let appeared = |scan: &mmstats_reader::Scan, name: &str| {
        let s = scan
            .snapshots
            .iter()
            .find(|s| s.path.file_name().unwrap() == name)
            .unwrap_or_else(|| panic!("{name} not scanned"));
        (s.info.created, s.appeared)
    };
    let (created, new) = appeared(&second, "new.mmstats");
    assert!(
        created.is_some_and(|c| c < listed),
        "created {created:?} before the listing {listed:?}"
    );
    assert_eq!(
        new,
        Some(listed),
        "published after the first scan's listing"
    );
    assert_eq!(
        appeared(&second, "old.mmstats").1,
        None,
        "listed by the first scan"
    );
    assert_eq!(
        appeared(&second, "bad.mmstats").1,
        None,
        "listed by the first scan, which could not open it"
    );
    let third = scanner.scan();
    assert!(third.snapshots.iter().all(|s| s.appeared.is_none()));
}

#[test]
fn explicit_paths_are_taken_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let odd = image_with(3).write(dir.path(), "stats.bin");
    let mut scanner = Scanner::new(vec![odd.display().to_string()]);
    let scan = scanner.scan();
    assert_eq!(scan.snapshots.len(), 1);
    let (paths, errors) = discover(&["[bad"]);
    assert!(paths.is_empty());
    assert!(matches!(errors[0].kind, ErrorKind::Pattern(_)));
}

#[test]
fn readers_can_move_between_threads() {
    fn check<T: Send + Sync>() {}
    check::<mmstats_reader::StatsFile>();
    check::<mmstats_reader::Snapshot>();
    check::<Scanner>();
}

#[test]
fn repeated_scans_reuse_parsed_metadata() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..50 {
        image_with(i).write(dir.path(), &format!("w-{i:02}.mmstats"));
    }
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", dir.path().display())]);
    let first = scanner.scan();
    let second = scanner.scan();
    assert_eq!(first.snapshots.len(), 50);
    assert_eq!(second.snapshots.len(), 50);
    for (a, b) in first.snapshots.iter().zip(&second.snapshots) {
        assert_eq!(a.path, b.path);
        assert!(std::sync::Arc::ptr_eq(&a.fields[0].meta, &b.fields[0].meta));
    }
}

#[test]
fn files_that_describe_the_same_fields_share_one_copy_of_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        image_with(i).write(dir.path(), &format!("w-{i}.mmstats"));
    }
    crate::image::of(&[counter("misses")]).write(dir.path(), "other.mmstats");
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", dir.path().display())]);
    let scan = scanner.scan();
    let meta = |name: &str| {
        let s = scan
            .snapshots
            .iter()
            .find(|s| s.path.ends_with(name))
            .unwrap();
        std::sync::Arc::clone(&s.fields[0].meta)
    };
    assert!(std::sync::Arc::ptr_eq(
        &meta("w-0.mmstats"),
        &meta("w-2.mmstats")
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &meta("w-0.mmstats"),
        &meta("other.mmstats")
    ));
    assert_eq!(meta("other.mmstats").label, "misses");
    assert_eq!(hits(&scan, "w-2.mmstats"), Some(Value::Number(Num::U(2))));
}

#[test]
fn a_listing_kept_while_the_directory_is_unchanged_still_sees_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let glob = format!("{}/*.mmstats", dir.path().display());
    let a = image_with(1).write(dir.path(), "a.mmstats");
    image_with(2).write(dir.path(), "b.mmstats");
    // Older than the margin a directory's time needs before a listing is kept.
    std::thread::sleep(std::time::Duration::from_millis(120));
    let mut scanner = Scanner::new(vec![glob]);
    assert_eq!(scanner.scan().snapshots.len(), 2);
    let scan = scanner.scan();
    assert_eq!(hits(&scan, "a.mmstats"), Some(Value::Number(Num::U(1))));

    // Each change of the directory is seen by the next scan, however soon.
    let new = image_with(100).write(dir.path(), ".a.tmp");
    std::fs::rename(&new, &a).unwrap();
    let scan = scanner.scan();
    assert_eq!(hits(&scan, "a.mmstats"), Some(Value::Number(Num::U(100))));
    image_with(3).write(dir.path(), "c.mmstats");
    let scan = scanner.scan();
    assert_eq!(hits(&scan, "c.mmstats"), Some(Value::Number(Num::U(3))));
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(scanner.scan().snapshots.len(), 3);
    std::fs::remove_file(dir.path().join("b.mmstats")).unwrap();
    let scan = scanner.scan();
    assert_eq!(
        hits(&scan, "b.mmstats"),
        Some(Value::Number(Num::U(2))),
        "final values"
    );
    let scan = scanner.scan();
    assert_eq!(scan.snapshots.len(), 2);
    assert_eq!(hits(&scan, "b.mmstats"), None);
}

#[test]
fn an_idle_scan_shares_every_file_s_values_and_sees_a_change_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = image_with(1);
    for i in 0..5 {
        image.write(dir.path(), &format!("w-{i}.mmstats"));
    }
    // Older than the margin a directory's time needs before a listing is kept.
    std::thread::sleep(std::time::Duration::from_millis(120));
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", dir.path().display())]);
    let first = scanner.scan();
    let second = scanner.scan();
    assert_eq!(second.snapshots.len(), 5);
    for (a, b) in first.snapshots.iter().zip(&second.snapshots) {
        assert!(b.same_values(a), "{}", b.path.display());
    }
    mmstats_testkit::file::store_word(&dir.path().join("w-3.mmstats"), image.offset("hits"), 7);
    let third = scanner.scan();
    for (a, b) in second.snapshots.iter().zip(&third.snapshots) {
        let changed = b.path.ends_with("w-3.mmstats");
        assert_eq!(b.same_values(a), !changed, "{}", b.path.display());
    }
    assert_eq!(hits(&third, "w-3.mmstats"), Some(Value::Number(Num::U(7))));
    assert_eq!(hits(&third, "w-2.mmstats"), Some(Value::Number(Num::U(1))));
}

#[test]
fn the_admission_check_is_asked_once_a_file_and_again_when_the_name_turns_into_a_symlink() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let a = image_with(1).write(dir.path(), "a.mmstats");
    image_with(2).write(dir.path(), "refused.mmstats");
    let asked = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(Mutex::new(vec![dir.path().join("refused.mmstats")]));
    let (counter, list) = (Arc::clone(&asked), Arc::clone(&refused));
    let mut scanner =
        Scanner::new(vec![format!("{}/*.mmstats", dir.path().display())]).admitting(move |path| {
            counter.fetch_add(1, Ordering::Relaxed);
            if list.lock().unwrap().iter().any(|p| p == path) {
                Err("not here".into())
            } else {
                Ok(())
            }
        });
    for _ in 0..3 {
        let scan = scanner.scan();
        assert_eq!(scan.snapshots.len(), 1);
        assert_eq!(hits(&scan, "a.mmstats"), Some(Value::Number(Num::U(1))));
        assert_eq!(scan.errors.len(), 1, "{:?}", scan.errors);
        assert!(matches!(scan.errors[0].kind, ErrorKind::Refused(_)));
        assert_eq!(
            scan.errors[0].to_string(),
            format!("{}: not here", dir.path().join("refused.mmstats").display())
        );
    }
    // a.mmstats once; the refused file at every scan (it is never kept open)
    assert_eq!(asked.load(Ordering::Relaxed), 1 + 3);

    // The name turns into a symlink to the very file it was (moved elsewhere): a new file to
    // the scanner, which asks again.
    let moved = elsewhere.path().join("a.mmstats");
    std::fs::rename(&a, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &a).unwrap();
    refused.lock().unwrap().push(a.clone());
    let scan = scanner.scan();
    assert!(scan.snapshots.is_empty(), "{:?}", scan.snapshots);
    assert_eq!(scan.errors.len(), 2, "{:?}", scan.errors);
    assert_eq!(asked.load(Ordering::Relaxed), 4 + 2);
}

#[test]
fn a_watched_directory_with_nothing_in_it_yet_does_not_stop_the_listing_being_kept() {
    let (full, empty) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    image_with(1).write(full.path(), "a.mmstats");
    std::thread::sleep(std::time::Duration::from_millis(120));
    let mut scanner = Scanner::new(vec![
        format!("{}/*.mmstats", full.path().display()),
        format!("{}/*.mmstats", empty.path().display()),
    ]);
    assert_eq!(scanner.scan().snapshots.len(), 1);
    // A name added with the directory's time put back is not seen: the listing is reused
    // (nothing is listed while no watched directory changed).
    let stamp = std::fs::metadata(full.path()).unwrap().modified().unwrap();
    image_with(2).write(full.path(), "b.mmstats");
    std::fs::File::open(full.path())
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    let scan = scanner.scan();
    assert_eq!(scan.snapshots.len(), 1, "the kept listing was used");
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    // The empty directory is watched: its first file is seen at once, and so, with the
    // listing made again, is the other directory's.
    image_with(3).write(empty.path(), "c.mmstats");
    let scan = scanner.scan();
    assert_eq!(hits(&scan, "c.mmstats"), Some(Value::Number(Num::U(3))));
    assert_eq!(hits(&scan, "b.mmstats"), Some(Value::Number(Num::U(2))));
}
