//! Java programs for tests of JVM performance data: compiled with the JDK's `javac` into a
//! directory of their own, and the hsperfdata file a running JVM publishes. Needs the Debian
//! package `openjdk-17-jdk-headless`; a test that needs it fails when it is missing.

use std::path::PathBuf;
use std::process::Command;

use crate::program::require;

/// The Debian package with `java`, `javac`, `jcmd` and `jstat`.
pub const JDK_PACKAGE: &str = "openjdk-17-jdk-headless";

/// Writes `source` as `<class>.java` into a new temporary directory and compiles it there; the
/// directory is the class path to run `class` from (`java -cp <dir> <class>`).
pub fn compile(class: &str, source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory for the Java program");
    let file = format!("{class}.java");
    std::fs::write(dir.path().join(&file), source).expect("write the Java program");
    let status = Command::new(require("javac", JDK_PACKAGE))
        .arg(&file)
        .current_dir(dir.path())
        .status()
        .expect("run javac");
    assert!(status.success(), "javac {file} failed");
    dir
}

/// `java`, found on `PATH`.
pub fn java() -> PathBuf {
    require("java", JDK_PACKAGE)
}

/// The hsperfdata file of the JVM with process id `pid`, if it has published one
/// (`/tmp/hsperfdata_<user>/<pid>`).
pub fn hsperf_file(pid: u32) -> Option<PathBuf> {
    let dir = std::fs::read_dir("/tmp").ok()?;
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("hsperfdata_"))
        .map(|e| e.path().join(pid.to_string()))
        .find(|p| p.exists())
}
