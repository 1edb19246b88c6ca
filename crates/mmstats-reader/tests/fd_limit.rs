//! A scanner keeps one descriptor per file: past the soft limit on open files it fails for the
//! rest, and raising the limit (as every tool does at startup) lets it watch them all. Its own test binary, because it changes a limit
//! of the whole process.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

#[test]
fn raising_the_limit_lets_a_scanner_watch_more_files_than_the_default() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(hard >= 1024, "hard limit {hard} too low for this test");
    setrlimit(Resource::RLIMIT_NOFILE, 256, hard).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = mmstats_testkit::file::FileBuilder::new(4242, 4243).counter("n", "", 0);
    for i in 0..300 {
        file.write(&dir.path().join(format!("f{i:03}.mmstats")));
    }
    let pattern = format!("{}/*.mmstats", dir.path().display());

    let mut scanner = mmstats_reader::Scanner::new(vec![pattern.clone()]);
    let scan = scanner.scan();
    assert!(
        !scan.errors.is_empty(),
        "256 descriptors cannot hold 300 files"
    );
    assert!(scan.snapshots.len() < 300);
    drop(scanner);

    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, hard);
    let mut scanner = mmstats_reader::Scanner::new(vec![pattern]);
    let scan = scanner.scan();
    assert!(scan.errors.is_empty(), "{:?}", scan.errors.first());
    assert_eq!(scan.snapshots.len(), 300);
}
