//! Programs a test needs: found on `PATH`, or run in the background for the test's length.

use std::path::PathBuf;
use std::process::Child;

/// Finds a program on `PATH` (or in `/usr/bin`, or `/usr/lib/chromium` where Debian keeps the
/// browser's driver) or panics saying which Debian package to install: tests that need it fail,
/// never skip.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([
        PathBuf::from("/usr/bin"),
        PathBuf::from("/usr/lib/chromium"),
    ]) {
        let p = dir.join(program);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{program}` not found: install the Debian package `{package}`");
}

/// A background program (a server) killed and reaped on drop.
#[derive(Debug)]
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of a workspace binary (a tool or an example), built next to this test's own
/// binaries. `scripts/test` builds every binary before running the tests.
pub fn workspace_bin(name: &str) -> PathBuf {
    // Test executables live in target/<profile>/deps; binaries in target/<profile>.
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// Asserts that a finished program exited successfully; the failure shows what it wrote on its
/// standard error.
#[track_caller]
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `promtool check metrics` with `args` on `text` (on its standard input): its exit status and
/// what it said on both outputs. Needs the Debian package `prometheus`.
pub fn promtool(args: &[&str], text: &str) -> (Option<i32>, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(require("promtool", "prometheus"))
        .args(["check", "metrics"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).expect("feed promtool");
    }
    let out = child.wait_with_output().expect("promtool's output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), said)
}
