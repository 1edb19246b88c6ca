//! Creation: where files go, what they are called, and what is never touched.

use std::os::unix::fs::PermissionsExt;

use mmstats::{Error, Options, Stats};
use mmstats_format::Value;

use crate::file::{decode, names};

#[test]
fn the_file_appears_under_its_final_name_with_no_temporary_left() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = Stats::create(
        Options::new()
            .dir(tmp.path())
            .name("web")
            .file_template("{NAME}-{PID}-{TID}.mmstats"),
    )
    .unwrap();
    let d = decode(stats.path());
    let want = format!(
        "web-{}-{}.mmstats",
        d.header.identity.pid, d.header.identity.tid
    );
    assert_eq!(names(tmp.path()), [want.as_str()]);
    assert_eq!(stats.path(), tmp.path().join(&want));
    let mode = std::fs::metadata(stats.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn the_default_name_uses_the_command_pid_and_tid() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = Stats::create(Options::new().dir(tmp.path())).unwrap();
    let d = decode(stats.path());
    let name = stats
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let suffix = format!(
        "-{}-{}.mmstats",
        d.header.identity.pid, d.header.identity.tid
    );
    assert!(name.ends_with(&suffix), "{name}");
    assert!(name.len() > suffix.len(), "{name} has a command part");
}

#[test]
fn the_header_and_system_fields_identify_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = Stats::create(Options::new().dir(tmp.path()).mode(0o600)).unwrap();
    let d = decode(stats.path());
    let id = &d.header.identity;
    assert_eq!(id.pid, std::process::id());
    assert_ne!(id.tid, 0);
    assert_ne!(id.start_time, 0);
    assert_eq!(id.uid, nix::unistd::geteuid().as_raw());
    assert_eq!(id.gid, nix::unistd::getegid().as_raw());
    assert!(id.writer.starts_with("mmstats-rust "));
    assert_eq!(d.header.live.state, 0);
    assert_eq!(
        d.labels(),
        [
            "sys.pid",
            "sys.tid",
            "sys.uid",
            "sys.gid",
            "sys.created",
            "sys.version"
        ]
    );
    let num = |l: &str| match d.value(l) {
        Value::Number(n) => n.as_f64(),
        v => panic!("{l}: {v:?}"),
    };
    assert_eq!(num("sys.pid"), f64::from(id.pid));
    assert_eq!(num("sys.tid"), f64::from(id.tid));
    assert_eq!(num("sys.uid"), f64::from(id.uid));
    assert_eq!(num("sys.gid"), f64::from(id.gid));
    let created = num("sys.created");
    assert!((created - id.created_ns as f64 / 1e9).abs() < 1e-3);
    assert_eq!(d.field("sys.created").meta.unit, "seconds");
    assert_eq!(
        d.value("sys.version"),
        Value::Text(id.writer.as_str().into())
    );
    let mode = std::fs::metadata(stats.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_symlink_planted_at_the_name_is_refused_and_left_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let target = tmp.path().join("x.mmstats");
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).file_template("x.mmstats")).unwrap();
    // Not followed, not replaced: the stats take the next free name.
    assert_eq!(s.path(), tmp.path().join("x-2.mmstats"));
    assert_eq!(std::fs::read_link(&target).unwrap(), victim);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(names(tmp.path()), ["victim", "x-2.mmstats", "x.mmstats"]);
    drop(s);

    // A dangling symlink is refused too, and nothing is created at its target.
    std::fs::remove_file(&target).unwrap();
    let nowhere = tmp.path().join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &target).unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).file_template("x.mmstats")).unwrap();
    assert_eq!(s.path(), tmp.path().join("x-2.mmstats"));
    assert!(!nowhere.exists());
    assert!(
        std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn an_existing_file_is_never_clobbered() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("x.mmstats");
    std::fs::write(&target, b"someone else's").unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).file_template("x.mmstats")).unwrap();
    assert_eq!(s.path(), tmp.path().join("x-2.mmstats"));
    assert_eq!(std::fs::read(&target).unwrap(), b"someone else's");
    drop(s);

    // Nor is a live writer's file: a second writer of the same name (another stats object of
    // the same thread, say) gets the next name, and the first keeps its values.
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options::new().dir(tmp.path()).file_template("same.mmstats");
    let first = Stats::create(opts.clone()).unwrap();
    let c = first.counter("c").register().unwrap();
    c.incr(5);
    let second = Stats::create(opts.clone()).unwrap();
    assert_eq!(second.path(), tmp.path().join("same-2.mmstats"));
    assert_eq!(
        decode(first.path()).value("c"),
        Value::Number(mmstats_format::Num::U(5))
    );

    // Only when every candidate name is taken does creation fail.
    for n in 3..=16 {
        std::fs::write(tmp.path().join(format!("same-{n}.mmstats")), b"taken").unwrap();
    }
    let err = Stats::create(opts).unwrap_err();
    assert!(matches!(err, Error::Exists(_)), "{err}");
    assert!(err.to_string().contains("refusing to replace"), "{err}");
    assert_eq!(names(tmp.path()).len(), 16, "no temporary file left behind");
}

#[test]
fn unsafe_directories_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Stats::create(Options::new().dir(&open)).unwrap_err();
    assert!(matches!(err, Error::UnsafeDir { .. }), "{err}");
    assert!(names(&open).is_empty());

    let group = tmp.path().join("group");
    std::fs::create_dir(&group).unwrap();
    std::fs::set_permissions(&group, std::fs::Permissions::from_mode(0o770)).unwrap();
    assert!(matches!(
        Stats::create(Options::new().dir(&group)),
        Err(Error::UnsafeDir { .. })
    ));

    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = Stats::create(Options::new().dir(&link)).unwrap_err();
    assert!(matches!(err, Error::UnsafeDir { .. }), "{err}");
    assert!(names(&real).is_empty());
    // A trailing slash (or `/.`) makes the kernel follow the link despite O_NOFOLLOW; the
    // check must still see the link.
    for spelled in [
        format!("{}/", link.display()),
        format!("{}/.", link.display()),
    ] {
        let err = Stats::create(Options::new().dir(&spelled)).unwrap_err();
        assert!(matches!(err, Error::UnsafeDir { .. }), "{spelled}: {err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert!(names(&real).is_empty());
}

#[test]
fn a_missing_directory_is_created_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stats");
    let stats = Stats::create(Options::new().dir(&dir)).unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(stats.path().starts_with(&dir));
}

#[test]
fn bad_templates_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for t in ["../escape.mmstats", ".hidden.mmstats", "a/b.mmstats", ""] {
        let err = Stats::create(Options::new().dir(tmp.path()).file_template(t)).unwrap_err();
        assert!(matches!(err, Error::BadName { .. }), "{t:?}: {err}");
    }
    assert!(names(tmp.path()).is_empty());
}
