use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;

use crate::fixture::{FileBuilder, Lock, dead_pid, start_time};

fn stats(dir: &Path, name: &str, b: FileBuilder) -> PathBuf {
    let p = dir.join(name);
    b.counter("requests", "", 1).write(&p);
    p
}

fn clean(dir: &Path) -> assert_cmd::Command {
    let mut c = cargo_bin_cmd!("cleanstats");
    c.env("MMSTATS_PATH", dir).env_remove("MMSTATS_GLOB");
    c
}

fn output(c: &mut assert_cmd::Command, code: i32) -> (String, String) {
    let o = c.assert().code(code).get_output().clone();
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

#[test]
fn removes_dead_keeps_live_and_leaves_symlinks_directories_and_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = std::process::id();

    // the pid of a reaped child: no such process
    let dead = stats(d, "dead.mmstats", FileBuilder::new(dead_pid(), 1));
    // a live writer: lock held (by this test process, as a writer would)
    let live = stats(d, "live.mmstats", FileBuilder::new(me, me));
    let _lock = Lock::hold(&live);
    // our pid, but a start time that is not ours: a reused pid; nobody holds the lock
    let mut reused = FileBuilder::new(me, me);
    reused.identity.start_time = start_time(me) + 12_345;
    let reused = stats(d, "reused.mmstats", reused);
    // our pid and our start time, lock not held: still alive by identity
    let alive_unlocked = stats(d, "unlocked.mmstats", FileBuilder::new(me, me));
    // things never to touch
    let target = stats(d, "target.dat", FileBuilder::new(dead_pid(), 1));
    let link = d.join("link.mmstats");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let subdir = d.join("sub.mmstats");
    std::fs::create_dir(&subdir).unwrap();
    let foreign = d.join("foreign.mmstats");
    std::fs::write(&foreign, b"not stats at all").unwrap();

    let args = [
        &dead,
        &live,
        &reused,
        &alive_unlocked,
        &link,
        &subdir,
        &foreign,
    ];
    let (out, err) = output(clean(d).args(args), 0);

    assert!(!dead.exists(), "dead file kept\n{out}{err}");
    assert!(!reused.exists(), "reused-pid file kept\n{out}{err}");
    assert!(live.exists() && alive_unlocked.exists());
    assert!(target.exists() && subdir.is_dir() && foreign.exists());
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());

    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!("removed {}", dead.display()).as_str(),
            format!("removed {}", reused.display()).as_str(),
            "removed 2, 2 alive, 2 skipped",
        ]
    );
    for p in [&link, &foreign] {
        assert!(
            err.contains(&format!("cleanstats: skipped {}: ", p.display())),
            "{err}"
        );
    }
    // A directory argument means its stats files: there are none in this one.
    assert!(
        err.contains(&format!(
            "cleanstats: {}: directory has no stats files",
            subdir.display()
        )),
        "{err}"
    );
}

#[test]
fn default_glob_dry_run_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dead = stats(d, "web-1-1.mmstats", FileBuilder::new(dead_pid(), 1));
    // a hidden temporary file of a writer being created is never touched
    let hidden = stats(
        d,
        ".web-2-2.mmstats.x1.tmp",
        FileBuilder::new(dead_pid(), 1),
    );

    let (out, _) = output(clean(d).arg("--dry-run"), 0);
    assert!(
        out.starts_with(&format!("would remove {} (", dead.display())),
        "{out}"
    );
    assert!(
        out.ends_with("would remove 1, 0 alive, 0 skipped\n"),
        "{out}"
    );
    assert!(dead.exists());

    let (out, err) = output(clean(d).arg("--quiet"), 0);
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    assert!(!dead.exists());
    assert!(hidden.exists());
}

#[test]
fn version_1_files_are_judged_by_sys_pid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let v1 = |pid: u32| {
        mmstats_format::v1::encode(&[
            ("sys.pid", "I", pid.to_ne_bytes().to_vec()),
            ("requests", "Q", 5u64.to_ne_bytes().to_vec()),
        ])
    };
    let dead = d.join("old-dead.mmstats");
    std::fs::write(&dead, v1(dead_pid())).unwrap();
    let live = d.join("old-live.mmstats");
    std::fs::write(&live, v1(std::process::id())).unwrap();
    let (out, _) = output(clean(d).args([&dead, &live]), 0);
    assert!(!dead.exists() && live.exists(), "{out}");
    assert!(out.ends_with("removed 1, 1 alive, 0 skipped\n"), "{out}");
}

#[test]
fn help_documents_crontab_and_exit_status() {
    let o = cargo_bin_cmd!("cleanstats")
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .clone();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("*/10 * * * * cleanstats --quiet"));
    assert!(help.contains("Exit status:"));
}

#[test]
fn corrupt_truncated_empty_foreign_and_unreadable_files_are_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dead = stats(d, "dead.mmstats", FileBuilder::new(dead_pid(), 1));
    let bad = crate::fixture::hostile_files(d);
    let unreadable = d.join("unreadable.mmstats");
    // As root a mode-000 file reads after all: it is then a valid file of pid 1, alive.
    let readable_anyway = std::fs::File::open(&unreadable).is_ok();

    let (out, err) = output(&mut clean(d), if readable_anyway { 0 } else { 1 });
    assert!(!dead.exists(), "the dead writer's file goes\n{out}{err}");
    for name in &bad {
        assert!(
            d.join(format!("{name}.mmstats")).symlink_metadata().is_ok(),
            "{name} was removed\n{out}{err}"
        );
    }
    for name in bad.iter().filter(|n| **n != "unreadable") {
        let prefix = format!(
            "cleanstats: skipped {}: ",
            d.join(format!("{name}.mmstats")).display()
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{name}\n{err}"
        );
    }
    let summary = out.lines().last().unwrap_or_default();
    if readable_anyway {
        assert_eq!(summary, "removed 1, 1 alive, 6 skipped", "{out}{err}");
    } else {
        assert!(err.contains(&unreadable.display().to_string()), "{err}");
        assert!(summary.starts_with("removed 1, 0 alive"), "{out}{err}");
    }
}

#[test]
fn never_touches_jvm_performance_data_files() {
    use mmstats_format::ByteOrder;
    use mmstats_format::hsperf::{Builder, Units, Variability};
    let dir = tempfile::tempdir().unwrap();
    let jvms = dir.path().join("hsperfdata_someone");
    std::fs::create_dir(&jvms).unwrap();
    let mut b = Builder::new(ByteOrder::NATIVE);
    b.long(
        "sun.os.hrt.frequency",
        Units::Hertz,
        Variability::Constant,
        1000,
    );
    let image = b.finish(4096);
    // a JVM whose process is gone, one whose file is corrupt, and one planted under a name
    // the default glob matches
    let dead = jvms.join(dead_pid().to_string());
    std::fs::write(&dead, &image).unwrap();
    let corrupt = jvms.join("77");
    let mut bad = image.clone();
    bad[7] = 0; // not accessible
    std::fs::write(&corrupt, &bad).unwrap();
    let planted = dir.path().join("jvm.mmstats");
    std::fs::write(&planted, &image).unwrap();

    let (_, err) = output(clean(dir.path()).arg(&dead).arg(&corrupt).arg(&jvms), 0);
    assert!(err.contains("JVM's performance data file"), "{err}");
    let (out, _) = output(&mut clean(dir.path()), 0);
    assert!(out.contains("removed 0"), "{out}");
    for p in [&dead, &corrupt, &planted] {
        assert!(p.exists(), "{} removed", p.display());
    }
}
