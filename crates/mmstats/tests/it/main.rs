//! Integration tests of the writer: every check reads the file's bytes with `mmstats-format`
//! alone, so the writer is tested against the format, not against a reader built alongside it.

mod create;
mod descriptors;
mod fallback;
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
    if is_child(name) {
        body();
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = child_output(name, tmp.path());
    Some((tmp, out))
}

/// Whether this process is the child running test `name` (see [`run_in_child`]).
pub(crate) fn is_child(name: &str) -> bool {
    std::env::var("MMSTATS_TEST_CHILD").as_deref() == Ok(name)
}

/// Runs test `name` in a child process with `MMSTATS_PATH` set to `stats_dir` and its output
/// uncaptured, checks that the child's test passed and returns the child's output.
pub(crate) fn child_output(name: &str, stats_dir: &std::path::Path) -> std::process::Output {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env("MMSTATS_TEST_CHILD", name)
        .env("MMSTATS_PATH", stats_dir)
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
    out
}
