//! A library that never hurts its host: `local()` with an unusable stats directory records
//! into memory only and says why once; `try_local()` returns the reason.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use mmstats::{Counter, Error, Gauge, Histogram, Text};

use crate::{child_output, is_child};

#[derive(mmstats::Stats)]
#[stats(prefix = "app.", name = "app")]
struct App {
    hits: Counter,
    busy: Gauge<u32>,
    #[stat(capacity = 16)]
    last: Text,
    sizes: Histogram,
}

/// What the default hook prints: one line on standard error.
const LINE: &str = "mmstats: stats of model app kept in memory only: ";

/// In the child: `try_local()` fails as `expected` says, `local()` does not panic and its
/// handles record into memory, on this thread and on others.
fn records_into_memory(expected: fn(&Error) -> bool) {
    let err = App::try_local().map(drop).unwrap_err();
    assert!(expected(&err), "unexpected error: {err}");

    let app = App::local();
    assert!(app.stats().is_in_memory());
    assert_eq!(app.stats().path(), Path::new(""));
    app.hits.incr(2);
    App::local().hits.incr(3);
    assert_eq!(app.hits.get(), 5, "one memory instance for the thread");
    app.busy.set(4);
    app.last.set("/index.html");
    app.sizes.record(1500);
    assert_eq!(app.sizes.count(), 1);
    assert_eq!(app.busy.get(), 4);

    let others: Vec<u64> = (1..=3)
        .map(|n| {
            std::thread::spawn(move || {
                let app = App::local();
                assert!(app.stats().is_in_memory());
                app.hits.incr(n);
                app.hits.get()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(others, [1, 2, 3], "each thread has its own instance");

    // The file is tried again, and fails again.
    let again = App::try_local().map(drop).unwrap_err();
    assert!(expected(&again), "unexpected error: {again}");
    assert_eq!(App::local().hits.get(), 5);
}

/// Runs test `name` in a child with `MMSTATS_PATH` made by `make` in a temporary directory:
/// the child runs [`records_into_memory`]; the parent checks that the default hook said why
/// exactly once and that nothing was created.
fn check_unusable(name: &str, make: fn(&Path) -> PathBuf, expected: fn(&Error) -> bool) {
    if is_child(name) {
        records_into_memory(expected);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let stats_dir = make(tmp.path());
    let before = tree(tmp.path());
    let out = child_output(name, &stats_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("mmstats:"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].starts_with(LINE), "{stderr}");
    assert_eq!(tree(tmp.path()), before, "nothing was created");
}

/// Every path under `dir`, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn unsafe_dir(e: &Error, why: &str) -> bool {
    matches!(e, Error::UnsafeDir { why: w, .. } if w.contains(why))
}

#[test]
fn local_survives_a_world_writable_dir() {
    check_unusable(
        "fallback::local_survives_a_world_writable_dir",
        |tmp| {
            let d = tmp.join("open");
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
            d
        },
        |e| unsafe_dir(e, "writable by group or others"),
    );
}

#[test]
fn local_survives_a_missing_parent_that_cannot_be_made() {
    check_unusable(
        "fallback::local_survives_a_missing_parent_that_cannot_be_made",
        // Nobody, not even root, can make a directory in /proc/self.
        |_| PathBuf::from("/proc/self/mmstats-missing/stats"),
        |e| {
            matches!(e, Error::Io { path, source }
                if path == Path::new("/proc/self/mmstats-missing/stats")
                    && source.kind() == std::io::ErrorKind::NotFound)
        },
    );
}

#[test]
fn local_survives_a_parent_that_is_a_file() {
    check_unusable(
        "fallback::local_survives_a_parent_that_is_a_file",
        |tmp| {
            std::fs::write(tmp.join("file"), b"").unwrap();
            tmp.join("file/stats")
        },
        |e| matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOTDIR)),
    );
}

#[test]
fn local_survives_a_stats_path_that_is_not_a_directory() {
    check_unusable(
        "fallback::local_survives_a_stats_path_that_is_not_a_directory",
        |tmp| {
            let f = tmp.join("file");
            std::fs::write(&f, b"").unwrap();
            f
        },
        |e| unsafe_dir(e, "not a directory"),
    );
}

#[test]
fn local_survives_a_symlinked_stats_dir() {
    check_unusable(
        "fallback::local_survives_a_symlinked_stats_dir",
        |tmp| {
            let real = tmp.join("real");
            std::fs::create_dir(&real).unwrap();
            std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
            let link = tmp.join("link");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            link
        },
        |e| unsafe_dir(e, "symbolic link"),
    );
}

static HOOKED: AtomicUsize = AtomicUsize::new(0);

fn count(e: &Error) {
    assert!(unsafe_dir(e, "writable by group or others"), "{e}");
    HOOKED.fetch_add(1, Relaxed);
}

#[test]
fn the_error_hook_hears_once_per_instance_and_replaces_the_message() {
    let name = "fallback::the_error_hook_hears_once_per_instance_and_replaces_the_message";
    if is_child(name) {
        mmstats::set_error_hook(count);
        assert!(App::try_local().is_err());
        assert_eq!(
            HOOKED.load(Relaxed),
            0,
            "try_local returns the error instead"
        );
        for _ in 0..3 {
            App::local().hits.incr(1);
        }
        assert_eq!(HOOKED.load(Relaxed), 1, "once for the thread's instance");
        assert_eq!(App::local().hits.get(), 3);
        std::thread::spawn(|| App::local().hits.incr(1))
            .join()
            .unwrap();
        assert_eq!(HOOKED.load(Relaxed), 2, "once more for another thread's");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = child_output(name, &open);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("mmstats:"),
        "the hook replaces the line: {stderr}"
    );
    assert!(tree(tmp.path()) == [open], "nothing was created");
}

#[test]
fn a_usable_dir_publishes() {
    let name = "fallback::a_usable_dir_publishes";
    if is_child(name) {
        let app = App::try_local().unwrap();
        assert!(!app.stats().is_in_memory());
        assert!(app.stats().path().exists());
        assert!(!App::local().stats().is_in_memory());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = child_output(name, tmp.path());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("mmstats:"));
}
