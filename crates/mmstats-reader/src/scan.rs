//! Polling many files: [`Scanner`] keeps them open across scans.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::discover::{discover, watched_dirs};
use crate::error::{ErrorKind, ReadError};
use crate::file::StatsFile;
use crate::process::ProcessId;
use crate::snapshot::Snapshot;

/// Keeps many files open across polls: new files are opened, vanished ones dropped, replaced
/// ones re-opened, and metadata re-parsed only when a generation changes.
///
/// Each open file holds one descriptor and one mapping; a tool that watches more files than
/// its descriptor limit (often 1024) allows should raise `RLIMIT_NOFILE`, or files past the
/// limit report "too many open files".
///
/// Files are listed again only when a directory they are found in changed (its modification
/// time moved, see [`crate::watched_dirs`]), and in any case every
/// [`Scanner::FULL_LISTING_EVERY`]; a glob with a wildcard in a directory part is listed at
/// every scan. When the listing is reused, a scan costs, per file, one `fstat` of the open file
/// (to notice truncation or removal), one load of its `generation` and the value loads
/// themselves; after a new listing also one `stat` of its name (to notice replacement). The
/// field table is parsed again only when the generation changed, and a multi-word value is
/// copied out and decoded again only when its sequence word moved.
#[derive(Debug)]
pub struct Scanner {
    patterns: Vec<String>,
    open: HashMap<PathBuf, StatsFile>,
    listing: Option<Listing>,
}

/// The last listing of the files, and what it depended on.
#[derive(Debug)]
struct Listing {
    paths: Vec<PathBuf>,
    /// Each watched directory and its (device, inode, modification time in ns) then.
    dirs: Vec<(PathBuf, (u64, u64, i128))>,
    /// When it was listed.
    at: Instant,
}

/// A directory's (device, inode, modification time in ns), if it can be examined.
fn dir_stamp(dir: &std::path::Path) -> Option<(u64, u64, i128)> {
    let md = std::fs::metadata(dir).ok()?;
    let ns = i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec());
    Some((md.dev(), md.ino(), ns))
}

/// How long before a listing a directory's modification time must lie for it to be trusted:
/// the kernel stamps directories from a clock that advances in ticks (up to 10 ms), so a change
/// made in the same tick as the listing might leave the time as it was.
const STAMP_MARGIN: Duration = Duration::from_millis(50);

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
            listing: None,
        }
    }

    /// The longest a listing is reused while no watched directory changed.
    pub const FULL_LISTING_EVERY: Duration = Duration::from_secs(10);

    /// The paths the last listing found, if no watched directory changed since and it is
    /// younger than [`Scanner::FULL_LISTING_EVERY`].
    fn reusable_listing(&self) -> Option<Vec<PathBuf>> {
        let listing = self.listing.as_ref()?;
        if listing.at.elapsed() >= Self::FULL_LISTING_EVERY {
            return None;
        }
        let same = listing
            .dirs
            .iter()
            .all(|(dir, stamp)| dir_stamp(dir) == Some(*stamp));
        same.then(|| listing.paths.clone())
    }

    /// Lists the files: the last listing when it is still right, else [`discover`] again.
    /// `true` with the paths if the listing was reused.
    fn list(&mut self) -> (Vec<PathBuf>, Vec<ReadError>, bool) {
        if let Some(paths) = self.reusable_listing() {
            return (paths, Vec::new(), true);
        }
        self.listing = None;
        let started = SystemTime::now();
        let at = Instant::now();
        // Stamps taken before listing: a change during the listing moves them, and the next
        // scan lists again.
        let dirs: Option<Vec<_>> = watched_dirs(&self.patterns).and_then(|dirs| {
            dirs.into_iter()
                .map(|d| dir_stamp(&d).map(|s| (d, s)))
                .collect()
        });
        let (paths, errors) = discover(&self.patterns);
        let old_enough = |&(_, (_, _, ns)): &(PathBuf, (u64, u64, i128))| {
            let cutoff = started
                .checked_sub(STAMP_MARGIN)
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            ns < cutoff
        };
        // A listing with errors is not kept: its errors are reported at every scan.
        if errors.is_empty()
            && let Some(dirs) = dirs
            && dirs.iter().all(old_enough)
        {
            self.listing = Some(Listing {
                paths: paths.clone(),
                dirs,
                at,
            });
        }
        (paths, errors, false)
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
    /// not an error. A file that was open at the last scan and whose name is gone since is
    /// listed once more with its final values (its writer's last work), then closed.
    ///
    /// The files of a process that has a process file are read as one unit (FORMAT.md §6.5):
    /// if a thread's values were folded into the process file while the process was being
    /// read, it is read again, so that no thread is counted twice or not at all.
    pub fn scan(&mut self) -> Scan {
        let (paths, mut errors, reused) = self.list();
        // A watched directory with no files (yet) is not an error of any file.
        errors.retain(|e| !matches!(e.kind, ErrorKind::EmptyDir | ErrorKind::NoMatch));
        let mut old = std::mem::take(&mut self.open);
        let mut files: Vec<(PathBuf, StatsFile)> = Vec::with_capacity(paths.len());
        for path in paths {
            let file = match old.remove(&path) {
                // An unchanged directory has replaced no name.
                Some(f) if reused || !f.is_replaced() => Ok(f),
                _ => StatsFile::open(&path),
            };
            match file {
                Ok(f) => files.push((path, f)),
                // Listed, then gone before it could be read: its writer exited.
                Err(e) if matches!(e.kind, ErrorKind::Vanished | ErrorKind::NotFound) => {}
                Err(e) => errors.push(e),
            }
        }
        // Files whose names went away since the last scan: their writer exited and removed
        // them. Their last values are still readable through the open file: they are read
        // once more, so that what the writer did since the last scan is counted, then closed.
        let listed = files.len();
        files.extend(old.into_iter().filter(|(path, _)| !path.exists()));
        let mut groups: HashMap<ProcessId, Vec<usize>> = HashMap::new();
        for (i, (path, f)) in files.iter().enumerate() {
            groups
                .entry(ProcessId::of(f.info(), path))
                .or_default()
                .push(i);
        }
        let mut results: Vec<Option<Result<Snapshot, ReadError>>> =
            (0..files.len()).map(|_| None).collect();
        for members in groups.values() {
            read_process(&mut files, members, listed, &mut results);
        }
        let mut snapshots = Vec::with_capacity(files.len());
        for (i, ((path, file), result)) in files.into_iter().zip(results).enumerate() {
            match result {
                Some(Ok(snapshot)) => {
                    snapshots.push(snapshot);
                    if i < listed {
                        self.open.insert(path, file);
                    }
                }
                Some(Err(e)) if matches!(e.kind, ErrorKind::Vanished | ErrorKind::NotFound) => {}
                Some(Err(e)) => errors.push(e),
                None => {}
            }
        }
        snapshots.sort_by(|a, b| a.path.cmp(&b.path));
        Scan { snapshots, errors }
    }
}

/// How often a process is read again while folds keep overlapping its read.
const FOLD_RETRIES: u32 = 8;

/// Snapshots the files `members` of one process (FORMAT.md §6.5): with its process files'
/// `fold_seq` loaded before and after, and again while a fold overlapped the read. Files from
/// index `listed` on are gone from the directory and get their final snapshot.
fn read_process(
    files: &mut [(PathBuf, StatsFile)],
    members: &[usize],
    listed: usize,
    results: &mut [Option<Result<Snapshot, ReadError>>],
) {
    let process_files: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| files[i].1.info().process_totals)
        .collect();
    let seqs = |files: &[(PathBuf, StatsFile)]| -> Vec<Option<u64>> {
        process_files
            .iter()
            .map(|&i| files[i].1.fold_seq())
            .collect()
    };
    let mut attempt = 0;
    loop {
        let before = seqs(files);
        let busy = before.iter().any(|s| s.is_some_and(|s| s % 2 == 1));
        if busy && attempt < FOLD_RETRIES {
            attempt += 1;
            std::thread::sleep(std::time::Duration::from_micros(50));
            continue;
        }
        for &i in members {
            let f = &mut files[i].1;
            results[i] = Some(if i < listed {
                f.snapshot()
            } else {
                f.final_snapshot()
            });
        }
        let settled = !busy && seqs(files) == before;
        if settled || attempt >= FOLD_RETRIES {
            if !settled {
                for &i in members {
                    if let Some(Ok(s)) = results[i].as_mut() {
                        s.settled = false;
                    }
                }
            }
            return;
        }
        attempt += 1;
    }
}
