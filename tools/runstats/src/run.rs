//! `run.json`: what was run, where, when, how it ended, and what could not be recorded.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::source::Unavailable;

/// The name of a run's description file in its directory.
pub const RUN_JSON: &str = "run.json";
/// The name of a run's database in its directory.
pub const SAMPLES_DB: &str = "samples.db";

/// A run's description, written when recording starts and again when it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's id (the directory name when it was created).
    pub id: String,
    /// The command and its arguments (empty when an existing process was recorded).
    pub command: Vec<String>,
    /// The recorded process: the command's pid or `--pid`.
    pub pid: Option<u32>,
    /// The `--description`.
    pub description: String,
    /// Start of recording, Unix milliseconds.
    pub started_ms: i64,
    /// Start of recording, RFC 3339 UTC.
    pub started: String,
    /// End of recording (absent while recording, or when runstats was killed).
    pub ended_ms: Option<i64>,
    /// End of recording, RFC 3339 UTC.
    pub ended: Option<String>,
    /// How the command ended (absent while recording, or when runstats was killed).
    pub exit: Option<Exit>,
    /// Recording was stopped by Ctrl-C (or SIGTERM) or by `--duration`.
    pub stopped_by: Option<String>,
    /// Milliseconds between samples.
    pub interval_ms: u64,
    /// The machine.
    pub host: Host,
    /// The sources recorded.
    pub sources: Vec<String>,
    /// What could not be recorded, and why.
    pub unavailable: Vec<Unavailable>,
    /// Problems met while recording (unreadable files, ...), each once.
    pub problems: Vec<String>,
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Its exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that killed it (`SIGKILL`, ...), if one did.
    pub signal: Option<String>,
    /// The exit status runstats itself returns: the code, or 128 + the signal's number.
    pub status: i32,
}

/// The machine a run was recorded on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Host name.
    pub name: String,
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: usize,
}

impl Host {
    /// This machine, from `/proc`.
    pub fn this() -> Host {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        Host {
            name: read("/proc/sys/kernel/hostname"),
            kernel: read("/proc/sys/kernel/osrelease"),
            cpu_model,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        }
    }
}

impl RunInfo {
    /// Writes `run.json` into `dir` (through a temporary file, so a reader never sees half).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RUN_JSON);
        let tmp = dir.join(".run.json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads `run.json` from `dir`.
    pub fn load(dir: &Path) -> Result<RunInfo> {
        let path = dir.join(RUN_JSON);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a run description", path.display()))
    }

    /// The command as one line, or `pid N` for a recorded process.
    pub fn command_line(&self) -> String {
        if self.command.is_empty() {
            self.pid.map_or_else(String::new, |p| format!("pid {p}"))
        } else {
            self.command.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_json_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let info = RunInfo {
            id: "r".into(),
            command: vec!["sleep".into(), "1".into()],
            exit: Some(Exit {
                code: Some(0),
                signal: None,
                status: 0,
            }),
            host: Host::this(),
            ..RunInfo::default()
        };
        info.save(dir.path()).unwrap();
        assert_eq!(RunInfo::load(dir.path()).unwrap(), info);
        assert!(info.host.cpus > 0);
        assert!(!info.host.kernel.is_empty());
        std::fs::write(dir.path().join(RUN_JSON), "{").unwrap();
        let err = format!("{:#}", RunInfo::load(dir.path()).unwrap_err());
        assert!(err.contains("run.json"), "{err}");
    }
}
