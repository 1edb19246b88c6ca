//! Closing, keeping, flushing, and what a crash leaves behind.

use mmstats::{Options, Stats};
use mmstats_format::layout::state;
use mmstats_format::{Num, Value};

use crate::file::{decode, names};

#[test]
fn drop_removes_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let path = s.path().to_path_buf();
    assert!(path.exists());
    drop(s);
    assert!(!path.exists());
    assert!(names(tmp.path()).is_empty());
}

#[test]
fn close_removes_the_file_and_reports_success() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let path = s.path().to_path_buf();
    s.close().unwrap();
    assert!(!path.exists());
}

#[test]
fn keep_leaves_the_file_marked_closed_with_its_last_values() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).keep(true)).unwrap();
    let c = s.counter("done").register().unwrap();
    c.incr(9);
    let path = s.path().to_path_buf();
    assert_eq!(decode(&path).header.live.state & state::CLOSED, 0);
    drop(s);
    // The handle keeps the file open.
    assert_eq!(decode(&path).header.live.state & state::CLOSED, 0);
    c.incr(1);
    drop(c);
    let d = decode(&path);
    assert_eq!(d.header.live.state & state::CLOSED, state::CLOSED);
    assert_eq!(d.value("done"), Value::Number(Num::U(10)));
    // The lock is released: a cleaner could take it now.
    let f = std::fs::File::open(&path).unwrap();
    assert!(nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok());
}

#[test]
fn a_crashed_writer_leaves_a_readable_file() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let c = s.counter("progress").register().unwrap();
    c.incr(77);
    let path = s.path().to_path_buf();
    // No drop runs, as after a crash.
    std::mem::forget(s);
    let d = decode(&path);
    assert_eq!(d.header.live.state & state::CLOSED, 0);
    assert_eq!(d.value("progress"), Value::Number(Num::U(77)));
    drop(c);
    assert!(path.exists());
}

#[test]
fn handles_outlive_their_stats() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).keep(true)).unwrap();
    let c = s.counter("after").register().unwrap();
    let path = s.path().to_path_buf();
    drop(s);
    c.incr(5);
    assert_eq!(c.get(), 5);
    assert_eq!(decode(&path).value("after"), Value::Number(Num::U(5)));
}

#[test]
fn flush_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    s.counter("x").register().unwrap().incr(1);
    s.flush().unwrap();
}

#[test]
fn a_replaced_name_is_not_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).file_template("r.mmstats")).unwrap();
    let path = s.path().to_path_buf();
    // Someone removes the file and puts another in its place.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"another").unwrap();
    drop(s);
    assert_eq!(std::fs::read(&path).unwrap(), b"another");
}

#[test]
fn stats_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Stats>();
}

#[test]
fn the_one_line_idiom_keeps_publishing_until_its_handle_goes() -> Result<(), mmstats::Error> {
    let tmp = tempfile::tempdir().unwrap();
    let options = Options::new()
        .dir(tmp.path())
        .file_template("idiom.mmstats");
    let hits = Stats::create(options)?.counter("hits").register()?;
    let path = tmp.path().join("idiom.mmstats");
    hits.incr(3);
    let d = decode(&path);
    assert_eq!(d.header.live.state & state::CLOSED, 0, "still open");
    assert_eq!(d.value("hits"), Value::Number(Num::U(3)));
    hits.incr(4);
    assert_eq!(decode(&path).value("hits"), Value::Number(Num::U(7)));
    // The file stays locked by its writer, so cleaners leave it alone.
    let f = std::fs::File::open(&path).unwrap();
    assert!(nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockSharedNonblock).is_err());
    drop(hits);
    assert!(!path.exists(), "the last handle removed the file");
    Ok(())
}

#[test]
fn the_last_handle_may_end_the_file_on_another_thread() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let path = s.path().to_path_buf();
    let a = s.counter("a").register().unwrap();
    let b = s.histogram("b").register().unwrap();
    drop(s);
    let a = std::thread::spawn(move || {
        b.record(10);
        a.incr(1);
        a
    })
    .join()
    .unwrap();
    assert!(path.exists(), "a handle is still alive");
    assert_eq!(decode(&path).value("a"), Value::Number(Num::U(1)));
    std::thread::spawn(move || drop(a)).join().unwrap();
    assert!(!path.exists());
}

#[test]
fn the_last_handle_folds_the_file_into_the_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let options = Options::new()
        .dir(tmp.path())
        .name("folded")
        .file_template("{NAME}-{TID}.mmstats")
        .fold_totals(true);
    let hits = Stats::create(options)
        .unwrap()
        .counter("hits")
        .register()
        .unwrap();
    hits.incr(5);
    let totals = tmp.path().join("folded-totals.mmstats");
    assert!(!totals.exists(), "not folded while a handle lives");
    hits.incr(1);
    drop(hits);
    assert_eq!(decode(&totals).value("hits"), Value::Number(Num::U(6)));
    assert_eq!(names(tmp.path()), ["folded-totals.mmstats"]);
}

#[test]
fn close_ends_the_file_even_while_handles_live() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let path = s.path().to_path_buf();
    let c = s.counter("c").register().unwrap();
    s.close().unwrap();
    assert!(!path.exists());
    c.incr(2);
    assert_eq!(c.get(), 2, "the handle still works");
}

#[test]
fn in_memory_stats_publish_nothing_and_cost_the_same() {
    let s = Stats::in_memory(Options::new().prefix("m.")).unwrap();
    assert!(s.is_in_memory());
    assert_eq!(s.path(), std::path::Path::new(""));
    let c = s.counter("c").register().unwrap();
    let t = s.text("t", 8).register().unwrap();
    let h = s.timer("lat", 10).register().unwrap();
    drop(s);
    c.incr(3);
    t.set("hello");
    h.record(std::time::Duration::from_millis(2));
    assert_eq!(c.get(), 3);
    assert_eq!(h.count(), 1);
    let dup = Stats::in_memory(Options::new()).unwrap();
    dup.counter("x").register().unwrap();
    assert!(
        dup.counter("x").register().is_err(),
        "the same rules as a file"
    );
    dup.close().unwrap();
}
