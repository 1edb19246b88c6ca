//! `raise_open_file_limit` lifts the soft limit on open files to the hard one, so a tool can
//! hold more files open than the usual default. Its own test binary, because it changes a
//! limit of the whole process.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

#[test]
fn raising_the_limit_lets_more_files_stay_open_than_before() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(hard >= 1024, "hard limit {hard} too low for this test");
    setrlimit(Resource::RLIMIT_NOFILE, 256, hard).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let open_all = || -> std::io::Result<Vec<std::fs::File>> {
        (0..300)
            .map(|i| std::fs::File::create(dir.path().join(format!("f{i:03}"))))
            .collect()
    };
    assert!(open_all().is_err(), "256 descriptors cannot hold 300 files");

    let now = mmstats_tool::raise_open_file_limit().unwrap();
    assert_eq!(now, hard);
    assert_eq!(getrlimit(Resource::RLIMIT_NOFILE).unwrap().0, hard);
    assert_eq!(open_all().unwrap().len(), 300);
}
