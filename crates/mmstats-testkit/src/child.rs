//! Running one test of the current test binary again in a child process (with its own
//! environment, such as a private `$MMSTATS_PATH`), and checking that the child really ran it:
//! a filter that matches no test exits 0 too, so the exit status alone proves nothing.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// The variable that tells the child which test it runs.
const CHILD: &str = "MMSTATS_TEST_CHILD";

/// Whether this process is the child running test `name` (see [`run_in_child`]).
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(name)
}

/// Runs `body` when this process is the child running test `name`, and returns `None`; in the
/// parent, runs test `name` in a child with `MMSTATS_PATH` set to a new temporary directory and
/// `MMSTATS_FILES` to `{NAME}-{TID}.mmstats`, checks that it ran and passed, and returns the
/// directory and the child's output.
pub fn run_in_child(name: &str, body: impl FnOnce()) -> Option<(tempfile::TempDir, Output)> {
    if is_child(name) {
        body();
        return None;
    }
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = child_output_in(name, tmp.path());
    Some((tmp, out))
}

/// Runs test `name` of the current test binary in a child process with `env` added and its
/// output uncaptured, checks that exactly that one test ran and passed, and returns the
/// child's output.
///
/// # Panics
///
/// If the child cannot be started, fails, or ran no test (a name that matches none).
pub fn child_output<'a>(name: &str, env: impl IntoIterator<Item = (&'a str, &'a OsStr)>) -> Output {
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(exe)
        .args(["--exact", name, "--test-threads=1", "--nocapture"])
        .env(CHILD, name)
        .envs(env)
        .output()
        .expect("start the child test");
    check_ran(name, &out);
    out
}

/// Checks a child test run: it passed, and the harness reports exactly one test passed.
fn check_ran(name: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the child running {name} failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test named {name}:\n{stdout}\n{stderr}"
    );
}

/// Runs test `name` in a child with `MMSTATS_PATH` set to `stats_dir` and `MMSTATS_FILES` to
/// `{NAME}-{TID}.mmstats` (see [`child_output`]).
pub fn child_output_in(name: &str, stats_dir: &Path) -> Output {
    child_output(
        name,
        [
            ("MMSTATS_PATH", stats_dir.as_os_str()),
            ("MMSTATS_FILES", OsStr::new("{NAME}-{TID}.mmstats")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_runs_the_test_it_is_given() {
        let Some((_tmp, out)) =
            run_in_child("child::tests::a_child_runs_the_test_it_is_given", || {
                assert!(std::env::var_os("MMSTATS_PATH").is_some());
                println!("in the child");
            })
        else {
            return;
        };
        assert!(String::from_utf8_lossy(&out.stdout).contains("in the child"));
    }

    #[test]
    #[should_panic(expected = "ran no test named")]
    fn a_filter_that_matches_no_test_fails() {
        if is_child("child::tests::no_such_test") {
            return;
        }
        child_output("child::tests::no_such_test", []);
    }
}
