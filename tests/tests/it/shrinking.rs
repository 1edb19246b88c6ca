//! Files whose size flips while the reader tools have them mapped (truncated, extended,
//! rewritten by another process) must never kill a tool with SIGBUS.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mmstats_tests::{StatsDir, WriterChild, workspace_bin};

const CHILD: &str = env!("CARGO_BIN_EXE_writer-child");

/// How long each tool is exposed to the flipping files.
const EXPOSURE: Duration = Duration::from_secs(4);

/// Copies of a live writer's file in `dir`, whose sizes flip in a tight loop until dropped.
struct Flipper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
    _child: WriterChild,
}

impl Flipper {
    fn start(dir: &Path) -> Flipper {
        let child = WriterChild::start(CHILD, dir, 100);
        std::thread::sleep(Duration::from_millis(100));
        let bytes = std::fs::read(child.path()).unwrap();
        assert!(bytes.len() > 4096, "the writer's file has a value page");
        let paths: Vec<PathBuf> = (0..4)
            .map(|i| {
                let p = dir.join(format!("flip-{i}.mmstats"));
                std::fs::write(&p, &bytes).unwrap();
                p
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let files: Vec<_> = paths
                .iter()
                .map(|p| OpenOptions::new().write(true).open(p).unwrap())
                .collect();
            let mut flips = 0u64;
            while !flag.load(Ordering::Relaxed) {
                for f in &files {
                    f.set_len(4096).unwrap();
                    std::thread::yield_now();
                    f.set_len(bytes.len() as u64).unwrap();
                    f.write_all_at(&bytes, 0).unwrap();
                    flips += 1;
                }
            }
            flips
        });
        Flipper {
            stop,
            thread: Some(thread),
            _child: child,
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

fn assert_no_signal(tool: &str, status: ExitStatus) {
    assert_eq!(status.signal(), None, "{tool} was killed by a signal");
}

fn command(tool: &str, dir: &StatsDir) -> Command {
    let mut c = Command::new(workspace_bin(tool));
    c.env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Runs `tool` again and again for the exposure time.
fn run_repeatedly(tool: &str, args: &[&str]) {
    let dir = StatsDir::new();
    let flipper = Flipper::start(dir.path());
    let end = Instant::now() + EXPOSURE;
    let mut runs = 0;
    while Instant::now() < end {
        let status = command(tool, &dir).args(args).status().unwrap();
        assert_no_signal(tool, status);
        runs += 1;
    }
    assert!(flipper.stop() > 100, "the files flipped");
    assert!(runs > 3, "{tool} ran {runs} times");
}

#[test]
fn slurpstats_survives_files_that_shrink_under_it() {
    run_repeatedly("slurpstats", &["--json"]);
}

#[test]
fn cleanstats_survives_files_that_shrink_under_it() {
    run_repeatedly("cleanstats", &["--dry-run"]);
}

#[test]
fn pollstats_survives_files_that_shrink_under_it() {
    let dir = StatsDir::new();
    let flipper = Flipper::start(dir.path());
    let status = command("pollstats", &dir)
        .args(["--csv", "-d", "0.02", "-c", "200", "ticks"])
        .status()
        .unwrap();
    assert_no_signal("pollstats", status);
    assert!(flipper.stop() > 100, "the files flipped");
}

#[test]
fn mmash_survives_files_that_shrink_under_it() {
    let dir = StatsDir::new();
    let flipper = Flipper::start(dir.path());
    let mut child = command("mmash", &dir)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on"))
        .expect("mmash listens");
    std::thread::spawn(move || lines.for_each(drop));
    let addr = first.rsplit("http://").next().unwrap().trim().to_string();
    let get = |path: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let end = Instant::now() + EXPOSURE;
    while Instant::now() < end {
        for path in ["/api/stats", "/metrics", "/api/files"] {
            get(path);
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert_no_signal("mmash", status);
            panic!("mmash exited: {status}");
        }
    }
    assert!(flipper.stop() > 100, "the files flipped");
    let health = get("/healthz").expect("mmash still answers");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    child.kill().unwrap();
    child.wait().unwrap();
}
