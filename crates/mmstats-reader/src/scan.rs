//! Polling many files: [`Scanner`] keeps them open across scans.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::discover::{discover, watched_dirs};
use crate::error::{ErrorKind, ReadError};
use crate::file::{Check, Scratch, SharedFields, StatsFile};
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
/// every scan. A new listing costs, per file already open, one `stat` of its name (to notice
/// replacement) and one `fstat` of the open file (to notice truncation or removal). When the
/// listing is reused, a mapped file costs one load of its `generation` and one load per
/// field: a scalar's value word, a multi-word value's sequence word, compared with the word
/// the remembered value was read at. A file in which none moved gives a snapshot sharing its
/// values with the previous one ([`Snapshot::same_values`]); otherwise only the fields whose
/// word moved are copied out and decoded again, into the storage of the values the file
/// handed out last if no snapshot holds them any more (a caller that drops each scan before
/// the next pays no allocation for a changed file), else into new storage, while the held
/// snapshot keeps its values. The field table is parsed again only when
/// the generation changed. A file truncated under its mapping is still noticed, by the
/// mapping's fault guard (see the crate's `region` module).
pub struct Scanner {
    patterns: Vec<String>,
    /// The files open, sorted by path in byte order (the order of a listing).
    open: Vec<StatsFile>,
    listing: Option<Listing>,
    admit: Option<Admit>,
    /// The metadata of the open files, one copy of each.
    metas: SharedFields,
    /// Room for copying changed values out, kept from one scan to the next.
    scratch: Scratch,
    /// What the last scan listed, to tell the names published since (`Snapshot::appeared`).
    last: Option<LastScan>,
}

/// What a scan's listing held, for the next scan.
#[derive(Debug)]
struct LastScan {
    /// When the scan's listing began (`Snapshot::listed`).
    listed: SystemTime,
    /// Whether the listing covered every watched place (no error but a place with no files
    /// yet): only then is a name missing from it a name published since.
    complete: bool,
    /// The listed names that are not open: they could not be opened or read, or were
    /// refused. Sorted. A scan that reuses the listing tries them again.
    failed: Vec<PathBuf>,
}

/// Decides whether a file just opened may be read: `Err` with the reason if not.
type Admit = Arc<dyn Fn(&Path) -> Result<(), String> + Send + Sync>;

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("patterns", &self.patterns)
            .field("open", &self.open.len())
            .field("listing", &self.listing)
            .field("admits", &self.admit.as_ref().map(|_| "a check"))
            .finish()
    }
}

/// The last listing of the files, and what it depended on.
#[derive(Debug)]
struct Listing {
    /// Each watched directory and its (device, inode, modification time in ns) then.
    dirs: Vec<(PathBuf, (u64, u64, i128))>,
    /// Directories named that did not exist (e.g. the JVMs' before any JVM ran): reported
    /// again at each scan that reuses the listing. Their parent is watched, so the listing
    /// holds only until one is made.
    missing: Vec<PathBuf>,
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
            open: Vec::new(),
            listing: None,
            admit: None,
            metas: SharedFields::default(),
            scratch: Scratch::default(),
            last: None,
        }
    }

    /// The same scanner, reading only the files that `check` admits: it is asked once about
    /// each file, with the path it was listed under, right after the file is opened (and
    /// again whenever the file is re-opened: a new file under the name, or the name turned
    /// into a symlink, see [`StatsFile::is_replaced`]). A file it refuses gives an error of
    /// kind [`ErrorKind::Refused`] with its reason at every scan and is never read.
    pub fn admitting(
        mut self,
        check: impl Fn(&Path) -> Result<(), String> + Send + Sync + 'static,
    ) -> Scanner {
        self.admit = Some(Arc::new(check));
        self
    }

    /// The longest a listing is reused while no watched directory changed.
    pub const FULL_LISTING_EVERY: Duration = Duration::from_secs(10);

    /// Whether the last listing still holds: no watched directory changed since, and it is
    /// younger than [`Scanner::FULL_LISTING_EVERY`].
    fn listing_holds(&self) -> bool {
        let Some(listing) = self.listing.as_ref() else {
            return false;
        };
        listing.at.elapsed() < Self::FULL_LISTING_EVERY
            && listing
                .dirs
                .iter()
                .all(|(dir, stamp)| dir_stamp(dir) == Some(*stamp))
    }

    /// Lists the files again with [`discover`]; keeps the listing for the next scans if it can
    /// be trusted to stay right while the watched directories do not change.
    fn list(&mut self) -> (Vec<PathBuf>, Vec<ReadError>) {
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
        let cutoff = started
            .checked_sub(STAMP_MARGIN)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        // A listing with errors is not kept (each scan lists again and reports them), but for
        // watched directories with nothing in them yet, and directories that do not exist
        // yet (a watched parent says when one is made).
        if errors.iter().all(nothing_yet)
            && let Some(dirs) = dirs
            && dirs.iter().all(|(_, (_, _, ns))| *ns < cutoff)
        {
            self.listing = Some(Listing {
                dirs,
                missing: errors
                    .iter()
                    .filter(|e| matches!(e.kind, ErrorKind::NoDir))
                    .map(|e| e.path.clone())
                    .collect(),
                at,
            });
        }
        (paths, errors)
    }

    /// Opens `path` and asks the admission check about it.
    fn open_file(&mut self, path: &Path) -> Result<StatsFile, ReadError> {
        let mut file = StatsFile::open(path)?;
        file.share_fields(&mut self.metas);
        if let Some(admit) = &self.admit {
            admit(path).map_err(|why| ReadError::new(path, ErrorKind::Refused(why)))?;
            // What was checked must be what was opened.
            if file.is_replaced() {
                return Err(ReadError::new(
                    path,
                    ErrorKind::Refused("replaced while being opened".into()),
                ));
            }
        }
        Ok(file)
    }

    /// The paths and globs it scans.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The files currently open, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = &StatsFile> {
        self.open.iter()
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
        // Before the listing is checked or made: a file created after this moment may be left
        // out of this scan, one created before it is in it (Snapshot::listed).
        let listed_at = SystemTime::now();
        let mut errors = Vec::new();
        let mut failed = Vec::new();
        // Names this scan opened that were not open at the last one.
        let mut appeared: Vec<PathBuf> = Vec::new();
        let mut complete = true;
        let (check, listed) = if self.listing_holds() {
            // No name was added, removed or replaced since the listing: only the files that
            // failed are tried again, and no name is examined.
            self.retry_failed(&mut errors, &mut failed);
            if let Some(listing) = &self.listing {
                errors.extend(
                    listing
                        .missing
                        .iter()
                        .map(|d| ReadError::new(d.clone(), ErrorKind::NoDir)),
                );
            }
            (Check::Listed, self.open.len())
        } else {
            let (paths, listed_errors) = self.list();
            complete = listed_errors.iter().all(nothing_yet);
            // A watched directory with no files (yet) is not an error of any file.
            errors.extend(
                listed_errors
                    .into_iter()
                    .filter(|e| !matches!(e.kind, ErrorKind::EmptyDir | ErrorKind::NoMatch)),
            );
            let gone = self.merge(paths, &mut errors, &mut failed, &mut appeared);
            let listed = self.open.len();
            // Files whose names went away since the last scan: their writer exited and
            // removed them. Their last values are still readable through the open file: they
            // are read once more, so that what the writer did since the last scan is counted,
            // then closed.
            self.open.extend(gone);
            (Check::Live, listed)
        };
        let mut scan = self.read_all(listed, check, errors, &mut failed);
        for s in &mut scan.snapshots {
            s.listed = Some(listed_at);
        }
        self.mark_appeared(&mut scan.snapshots, appeared);
        failed.sort_unstable();
        self.last = Some(LastScan {
            listed: listed_at,
            complete,
            failed,
        });
        scan
    }

    /// Sets [`Snapshot::appeared`] on the snapshots (sorted by path) of the files that this
    /// scan opened under names the last scan did not have (`opened`, in listing order). A name
    /// the last listing did not have, though it was complete, was published after that listing
    /// began (a name that existed then is listed), unless it was listed and failed to open.
    fn mark_appeared(&self, snapshots: &mut [Snapshot], mut opened: Vec<PathBuf>) {
        let Some(last) = self.last.as_ref().filter(|l| l.complete) else {
            return;
        };
        opened.retain(|p| last.failed.binary_search(p).is_err());
        if opened.is_empty() {
            return;
        }
        let mut opened = opened.iter().peekable();
        for s in snapshots {
            while opened
                .next_if(|p| p.as_os_str() < s.path.as_os_str())
                .is_some()
            {}
            if opened.next_if(|p| **p == s.path).is_some() {
                s.appeared = Some(last.listed);
            }
        }
    }

    /// Tries again the listed files that could not be opened or read at the last scan.
    fn retry_failed(&mut self, errors: &mut Vec<ReadError>, failed: &mut Vec<PathBuf>) {
        let retry = self
            .last
            .as_mut()
            .map(|l| std::mem::take(&mut l.failed))
            .unwrap_or_default();
        for path in retry {
            match self.open_file(&path) {
                Ok(f) => {
                    let at = self
                        .open
                        .partition_point(|o| o.path().as_os_str() < path.as_os_str());
                    self.open.insert(at, f);
                }
                Err(e) => {
                    if !is_gone(&e) {
                        errors.push(e);
                    }
                    failed.push(path);
                }
            }
        }
    }

    /// Makes the open files those of a new listing (sorted, as [`discover`] gives them): a file
    /// open under a name that still names it stays open, the others are opened. Returns the
    /// open files whose names are gone.
    ///
    /// The paths of files it opened that were not open under that name before are added to
    /// `opened`, in listing order.
    fn merge(
        &mut self,
        paths: Vec<PathBuf>,
        errors: &mut Vec<ReadError>,
        failed: &mut Vec<PathBuf>,
        opened: &mut Vec<PathBuf>,
    ) -> Vec<StatsFile> {
        let mut old = std::mem::take(&mut self.open).into_iter().peekable();
        let mut open = Vec::with_capacity(paths.len());
        let mut gone = Vec::new();
        for path in paths {
            while let Some(f) = old.next_if(|f| f.path().as_os_str() < path.as_os_str()) {
                gone.push(f);
            }
            let file = match old.next_if(|f| f.path().as_os_str() == path.as_os_str()) {
                Some(f) if !f.is_replaced() => Ok(f),
                // (a replaced file's writer is alive and named elsewhere, or its successor
                // took over the name: it is closed without a last read)
                Some(_) => self.open_file(&path),
                None => {
                    let f = self.open_file(&path);
                    if f.is_ok() {
                        opened.push(path.clone());
                    }
                    f
                }
            };
            match file {
                Ok(f) => open.push(f),
                Err(e) => {
                    if !is_gone(&e) {
                        errors.push(e);
                    }
                    failed.push(path);
                }
            }
        }
        gone.extend(old);
        // A name still there but no longer listed (its directory is now refused, say) was not
        // removed by its writer: no last read.
        gone.retain(|f| !f.path().exists());
        self.open = open;
        gone
    }

    /// Snapshots the open files: those before `listed` refreshed as `check` says, the others
    /// (whose names are gone) for the last time. Files that fail are closed; the listed ones
    /// are added to `failed`.
    fn read_all(
        &mut self,
        listed: usize,
        check: Check,
        mut errors: Vec<ReadError>,
        failed: &mut Vec<PathBuf>,
    ) -> Scan {
        let mut clock = Clock::default();
        let checks = |i: usize| if i < listed { check } else { Check::Unlinked };
        let mut grouped: HashMap<usize, Result<Snapshot, ReadError>> = HashMap::new();
        for members in process_groups(&self.open) {
            read_process(
                &mut self.open,
                &members,
                checks,
                &mut clock,
                &mut self.scratch,
                &mut grouped,
            );
        }
        let mut snapshots = Vec::with_capacity(self.open.len());
        let mut closed = Vec::new();
        for i in 0..self.open.len() {
            // The next file's first loads overlap this one's reading.
            if let Some(next) = self.open.get(i + 1) {
                next.prefetch_watched();
            }
            let f = &mut self.open[i];
            let result = match grouped.is_empty() {
                true => None,
                false => grouped.remove(&i),
            }
            .unwrap_or_else(|| f.snapshot_at(clock.now(), checks(i), &mut self.scratch));
            match result {
                Ok(snapshot) => snapshots.push(snapshot),
                Err(e) => {
                    if i < listed {
                        closed.push(i);
                    }
                    if !is_gone(&e) {
                        errors.push(e);
                    }
                }
            }
        }
        let last_reads = self.open.len() > listed;
        self.open.truncate(listed);
        if !closed.is_empty() {
            let mut closed = closed.into_iter().peekable();
            let mut i = 0;
            self.open.retain(|f| {
                let close = closed.next_if_eq(&i).is_some();
                if close {
                    failed.push(f.path().to_path_buf());
                }
                i += 1;
                !close
            });
        }
        if last_reads {
            snapshots.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        }
        Scan { snapshots, errors }
    }
}

/// Whether a listing's error only says that a watched place has no files yet: a directory
/// that does not exist, is empty, or has nothing the pattern matches.
fn nothing_yet(e: &ReadError) -> bool {
    matches!(
        e.kind,
        ErrorKind::NoDir | ErrorKind::EmptyDir | ErrorKind::NoMatch
    )
}

/// Whether an error only says that the file is gone (its writer exited), which is no error.
fn is_gone(e: &ReadError) -> bool {
    matches!(e.kind, ErrorKind::Vanished | ErrorKind::NotFound)
}

/// How many snapshots share one reading of the clock: a scan reads a file in well under a
/// microsecond when it is idle and in a few when every histogram changed, so their times are
/// off by at most some tens of microseconds.
const CLOCK_EVERY: u32 = 32;

/// The time snapshots are stamped with, read again after every [`CLOCK_EVERY`] snapshots.
#[derive(Debug)]
struct Clock {
    now: SystemTime,
    left: u32,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            now: SystemTime::UNIX_EPOCH,
            left: 0,
        }
    }
}

impl Clock {
    fn now(&mut self) -> SystemTime {
        if self.left == 0 {
            self.now = SystemTime::now();
            self.left = CLOCK_EVERY;
        }
        self.left -= 1;
        self.now
    }

    /// The time now, whatever the count.
    fn fresh(&mut self) -> SystemTime {
        self.left = 0;
        self.now()
    }
}

/// The files of each process that has a process file (FORMAT.md §6.5), as indices into
/// `files`; every other file is read alone. Costs one look at each file's identity when no
/// process has a process file.
fn process_groups(files: &[StatsFile]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<ProcessId, Vec<usize>> = files
        .iter()
        .filter(|f| f.info().process_totals)
        .map(|f| (ProcessId::of(f.info(), f.path()), Vec::new()))
        .collect();
    if groups.is_empty() {
        return Vec::new();
    }
    for (i, f) in files.iter().enumerate() {
        // A file without a pid is a process of its own: only its own process file, if it is one.
        if f.info().pid.is_none() && !f.info().process_totals {
            continue;
        }
        if let Some(members) = groups.get_mut(&ProcessId::of(f.info(), f.path())) {
            members.push(i);
        }
    }
    groups.into_values().collect()
}

/// How often a process is read again while folds keep overlapping its read.
const FOLD_RETRIES: u32 = 8;

/// Snapshots the files `members` of one process (FORMAT.md §6.5): with its process files'
/// `fold_seq` loaded before and after, and again while a fold overlapped the read. Each file
/// is refreshed as `check` says for its index.
fn read_process(
    files: &mut [StatsFile],
    members: &[usize],
    check: impl Fn(usize) -> Check,
    clock: &mut Clock,
    scratch: &mut Scratch,
    results: &mut HashMap<usize, Result<Snapshot, ReadError>>,
) {
    let process_files: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&i| files[i].info().process_totals)
        .collect();
    let seqs = |files: &[StatsFile]| -> Vec<Option<u64>> {
        process_files.iter().map(|&i| files[i].fold_seq()).collect()
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
        let taken = clock.fresh();
        for &i in members {
            results.insert(i, files[i].snapshot_at(taken, check(i), scratch));
        }
        let settled = !busy && seqs(files) == before;
        if settled || attempt >= FOLD_RETRIES {
            if !settled {
                for &i in members {
                    if let Some(Ok(s)) = results.get_mut(&i) {
                        s.settled = false;
                    }
                }
            }
            return;
        }
        attempt += 1;
    }
}
