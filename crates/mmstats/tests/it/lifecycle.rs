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
