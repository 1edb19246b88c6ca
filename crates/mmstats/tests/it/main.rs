//! Integration tests of the writer: every check reads the file's bytes with `mmstats-format`
//! alone, so the writer is tested against the format, not against a reader built alongside it.

mod create;
mod fields;
mod file;
mod kinds;
mod labels;
mod lifecycle;
mod model;
mod totals;

/// Runs `body` in a child process: the same test binary re-running test `name` with
/// `MMSTATS_TEST_CHILD` set and a private stats directory, so per-process state (thread-local
/// instances, process totals, removal at exit) starts empty and its exit can be observed.
/// In the child it runs `body` and returns `None`; in the parent it returns the directory and
/// the child's output, after checking that the child's test passed.
pub(crate) fn run_in_child(
    name: &str,
    body: impl FnOnce(),
) -> Option<(tempfile::TempDir, std::process::Output)> {
    if std::env::var("MMSTATS_TEST_CHILD").as_deref() == Ok(name) {
        body();
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env("MMSTATS_TEST_CHILD", name)
        .env("MMSTATS_PATH", tmp.path())
        .env("MMSTATS_FILES", "{NAME}-{TID}.mmstats")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
    Some((tmp, out))
}
