//! Running runstats and the example server in a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The runstats binary.
pub(crate) fn runstats() -> Command {
    Command::new(env!("CARGO_BIN_EXE_runstats"))
}

/// A workspace binary built next to runstats (the example server).
pub(crate) fn bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_runstats"))
        .parent()
        .unwrap()
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        p.display()
    );
    p
}

/// A private stats directory (mode 0700, as writers require).
pub(crate) fn stats_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// Runs runstats with `args`, stats files in `stats`.
pub(crate) fn run(stats: &Path, args: &[&str]) -> Output {
    runstats()
        .env("MMSTATS_PATH", stats)
        .args(args)
        .output()
        .expect("run runstats")
}

/// Text of an output's stderr.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `run.json` of a run directory.
pub(crate) fn run_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
    serde_json::from_str(&text).expect("run.json parses")
}

/// Values of one series from `samples.db`, through the documented `samples` view.
pub(crate) fn values(dir: &Path, label: &str) -> Vec<f64> {
    let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT value FROM samples WHERE label = ?1 ORDER BY time_ms")
        .unwrap();
    stmt.query_map([label], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Rows of one series of one source from `samples.db`: (Unix milliseconds, process, value).
pub(crate) fn rows(dir: &Path, source: &str, label: &str) -> Vec<(i64, String, f64)> {
    let conn = rusqlite::Connection::open(dir.join("samples.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT time_ms, process, value FROM samples WHERE source = ?1 AND label = ?2 \
             ORDER BY time_ms",
        )
        .unwrap();
    stmt.query_map([source, label], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Records the example server (2 threads, 500 requests/s each, `seconds` long) into `out`.
pub(crate) fn record_webserver(stats: &Path, out: &Path, seconds: u32, extra: &[&str]) -> Output {
    let web = bin("webserver");
    let secs = seconds.to_string();
    let mut args = vec!["-o", out.to_str().unwrap(), "-i", "500ms"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--",
        web.to_str().unwrap(),
        "--threads",
        "2",
        "--rate",
        "500",
        "--seconds",
        &secs,
    ]);
    let o = run(stats, &args);
    assert!(o.status.success(), "runstats failed: {}", stderr(&o));
    o
}
