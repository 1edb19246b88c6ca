//! What every handler shares, and the sampler thread that keeps it current.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use mmstats_reader::resource::Resources;
use mmstats_reader::{Intervals, Scanner, Snapshot};

use crate::api::unix;
use crate::history::History;
use crate::paths::Roots;
use crate::rollup::Rollup;

/// Most requests doing blocking work (reading files, rendering) at once.
pub const BLOCKING_JOBS: usize = 4;

/// The latest sample of every file.
#[derive(Debug, Default)]
pub struct Sample {
    /// Snapshots sorted by path.
    pub snapshots: Vec<Snapshot>,
    /// The same files as processes, with every rate and interval value (FORMAT.md §12).
    pub intervals: mmstats_reader::Sample,
    /// Files that could not be read, as messages.
    pub errors: Vec<String>,
    /// When it was taken.
    pub taken: Option<SystemTime>,
}

/// What every handler shares.
#[derive(Debug)]
pub struct State {
    /// The latest sample.
    pub sample: RwLock<Arc<Sample>>,
    /// Every label's history.
    pub history: Mutex<History>,
    /// Every label's history in each process, for the page.
    pub process_history: Mutex<crate::process_history::ProcessHistory>,
    /// Every label's per-minute and per-hour summaries.
    pub rollup: Mutex<Rollup>,
    /// The host's and the processes' resources added to each sample (none by default).
    pub resources: Mutex<Resources>,
    /// This machine's name, for `/api/hosts` and `/api/perf/<host>/...`.
    pub host: String,
    /// The interval engine: the sampler's memory of the previous sample.
    pub engine: Mutex<Intervals>,
    /// One `/metrics` series per file (with `tid`) instead of one per process.
    pub per_thread: bool,
    /// Where files are.
    pub roots: Roots,
    /// Required bearer token.
    pub token: Option<String>,
    /// Combine processes on /metrics.
    pub aggregate: bool,
    /// Log requests.
    pub log: bool,
    /// Browser sessions and the login throttle.
    pub sessions: crate::auth::Sessions,
    /// Host names requests may name besides IP addresses and `localhost` (`--allow-host`).
    pub hosts: Vec<String>,
    /// Permits for work done off the async workers: at most this many jobs at once.
    pub jobs: Arc<tokio::sync::Semaphore>,
}

impl State {
    /// State over `roots`, with nothing sampled yet.
    pub fn new(roots: Roots, token: Option<String>, aggregate: bool, log: bool) -> State {
        State {
            sample: RwLock::new(Arc::new(Sample::default())),
            history: Mutex::new(History::new()),
            process_history: Mutex::new(crate::process_history::ProcessHistory::new()),
            rollup: Mutex::new(Rollup::default()),
            resources: Mutex::new(Resources::new(false, false)),
            host: crate::rollup::host_name(),
            engine: Mutex::new(Intervals::new()),
            per_thread: false,
            roots,
            token,
            aggregate,
            log,
            sessions: crate::auth::Sessions::default(),
            hosts: Vec::new(),
            jobs: Arc::new(tokio::sync::Semaphore::new(BLOCKING_JOBS)),
        }
    }

    /// Adds the host's and the processes' resources to each sample (or not), and sets the
    /// rollup's minute to `rollup_slice` seconds.
    pub fn with_resources(mut self, on: bool, rollup_slice: u64) -> State {
        self.resources = Mutex::new(Resources::new(on, on));
        self.rollup = Mutex::new(Rollup::new(rollup_slice));
        self
    }

    /// The latest sample.
    pub fn current(&self) -> Arc<Sample> {
        self.sample
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A scanner over the roots that never reads a file a symlink takes out of every one of
    /// them: each file is checked once, when it is opened, and again whenever its name comes
    /// to name another file or turns into a symlink (the scanner re-opens it then). A refused
    /// file is an error of the sample, naming the link, never where it leads.
    pub fn scanner(&self) -> Scanner {
        let roots = self.roots.clone();
        Scanner::new(self.roots.patterns()).admitting(move |path| {
            if roots.contains(path) {
                Ok(())
            } else {
                Err("a symlink that leads outside the stats directories; not served".into())
            }
        })
    }

    /// Takes one sample with `scanner` (from [`State::scanner`]): stores it and adds it to the
    /// history.
    pub fn sample_once(&self, scanner: &mut Scanner) {
        let mut scan = scanner.scan();
        // the host's and the processes' resources come from /proc, not from the directories
        self.resources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add_to(&mut scan);
        let now = SystemTime::now();
        let intervals = self
            .engine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update(&scan.snapshots);
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(unix(now), &intervals);
        self.rollup
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(unix(now), &intervals);
        self.process_history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(unix(now), &intervals);
        let errors: Vec<String> = scan.errors.iter().map(ToString::to_string).collect();
        *self.sample.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Sample {
            snapshots: scan.snapshots,
            intervals,
            errors,
            taken: Some(now),
        });
    }
}

/// Samples every second until `stop` is set.
pub fn sampler(state: Arc<State>, stop: Arc<AtomicBool>) {
    let mut scanner = state.scanner();
    let period = Duration::from_secs(1);
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        state.sample_once(&mut scanner);
        next += period;
        let now = Instant::now();
        if next < now {
            next = now; // fell behind: do not burst
        }
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
        }
    }
}
