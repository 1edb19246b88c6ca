//! Polling many files: [`Scanner`] keeps them open across scans.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::discover::discover;
use crate::error::{ErrorKind, ReadError};
use crate::file::StatsFile;
use crate::snapshot::Snapshot;

/// Keeps many files open across polls: new files are opened, vanished ones dropped, replaced
/// ones re-opened, and metadata re-parsed only when a generation changes.
///
/// Each open file holds one descriptor and one mapping; a tool that watches more files than
/// its descriptor limit (often 1024) allows should raise `RLIMIT_NOFILE`, or files past the
/// limit report "too many open files".
///
/// A scan costs, per file, one `stat` of its name (to notice replacement), one `fstat` of the
/// open file (to notice truncation or removal), one load of its `generation` and the value
/// loads themselves; the field table is parsed again only when the generation changed.
#[derive(Debug)]
pub struct Scanner {
    patterns: Vec<String>,
    open: HashMap<PathBuf, StatsFile>,
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// A snapshot of every readable file, sorted by path.
    pub snapshots: Vec<Snapshot>,
    /// One error per file that could not be read.
    pub errors: Vec<ReadError>,
}

impl Scanner {
    /// A scanner over these paths and globs (empty: the default glob).
    pub fn new(patterns: Vec<String>) -> Scanner {
        Scanner {
            patterns,
            open: HashMap::new(),
        }
    }

    /// The paths and globs it scans.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The files currently open, in no particular order (snapshots of a scan are sorted).
    pub fn files(&self) -> impl Iterator<Item = &StatsFile> {
        self.open.values()
    }

    /// Re-discovers the files and snapshots each.
    ///
    /// One bad file gives one error in [`Scan::errors`] and never affects the others. A file
    /// that could not be opened or read is tried afresh on the next scan. A file that vanishes
    /// between being listed and being read (its writer exited and removed it) is simply gone,
    /// not an error.
    pub fn scan(&mut self) -> Scan {
        let (paths, mut errors) = discover(&self.patterns);
        // A watched directory with no files (yet) is not an error of any file.
        errors.retain(|e| !matches!(e.kind, ErrorKind::EmptyDir | ErrorKind::NoMatch));
        // Drop files whose names are gone.
        let mut old = std::mem::take(&mut self.open);
        let mut snapshots = Vec::with_capacity(paths.len());
        for path in paths {
            let file = match old.remove(&path) {
                Some(f) if !f.is_replaced() => Ok(f),
                _ => StatsFile::open(&path),
            };
            let result = file.and_then(|mut f| f.snapshot().map(|s| (f, s)));
            match result {
                Ok((file, snapshot)) => {
                    snapshots.push(snapshot);
                    self.open.insert(path, file);
                }
                // Listed, then gone before it could be read: its writer exited.
                Err(e) if matches!(e.kind, ErrorKind::Vanished | ErrorKind::NotFound) => {}
                Err(e) => errors.push(e),
            }
        }
        Scan { snapshots, errors }
    }
}

/// Raises this process's soft limit on open files to its hard limit, so that a [`Scanner`],
/// which keeps one descriptor and one mapping per file, can watch thousands of files; returns
/// the limit now in force. Tools call it once at startup; a library never changes it behind
/// its caller's back.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(soft.max(hard))
}
