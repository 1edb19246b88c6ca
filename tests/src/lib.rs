//! Helpers for the cross-process tests: a private stats directory per test and a writer child
//! process that publishes known values.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A stats directory of its own (mode 0700, as the writer requires), removed on drop.
#[derive(Debug)]
pub struct StatsDir {
    dir: tempfile::TempDir,
}

impl StatsDir {
    /// Creates one.
    pub fn new() -> StatsDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("mmstats-test-")
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        StatsDir { dir }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for StatsDir {
    fn default() -> Self {
        StatsDir::new()
    }
}

/// A running `writer-child` process. Dropping it closes its standard input (it then exits
/// cleanly) and waits for it.
#[derive(Debug)]
pub struct WriterChild {
    child: Child,
    stdin: Option<ChildStdin>,
    path: PathBuf,
}

impl WriterChild {
    /// Starts `writer-child` (the binary at `exe`) in `dir`, incrementing `rate` times a
    /// second, and waits until its file exists.
    pub fn start(exe: &str, dir: &Path, rate: u64) -> WriterChild {
        WriterChild::start_args(exe, &[dir.as_os_str(), rate.to_string().as_ref()])
    }

    /// Starts the child binary at `exe` with `args`, and waits until it prints
    /// `ready <path>` (its stats file exists).
    pub fn start_args(exe: &str, args: &[&std::ffi::OsStr]) -> WriterChild {
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn writer-child");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read ready line");
        let path = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("writer-child said {line:?}, not 'ready <path>'"))
            .into();
        let stdin = child.stdin.take();
        WriterChild { child, stdin, path }
    }

    /// The child's stats file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to exit cleanly and waits; returns whether it exited with success.
    pub fn stop(mut self) -> bool {
        self.stdin.take();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Kills it with SIGKILL and reaps it, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WriterChild {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use mmstats_testkit::http::{body, free_port, http_get};
pub use mmstats_testkit::program::{Service, assert_success, require, workspace_bin};
