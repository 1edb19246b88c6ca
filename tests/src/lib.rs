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

/// A free TCP port on 127.0.0.1 (bound once, then released for a server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET path` from 127.0.0.1:`port`, with a 10 s timeout: the whole response (status line,
/// headers, body), or an empty string when the server does not answer.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    if write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The body of an HTTP response as [`http_get`] returns it.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Finds a program on `PATH` (or in `/usr/bin`) or panics saying which Debian package to
/// install: tests that need it fail, never skip.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
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
