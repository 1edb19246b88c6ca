//! How and where a stats file is created.

use std::path::PathBuf;

use mmstats_format::Reserve;

/// How and where to create a stats file.
///
/// Every setting has a default; the environment supplies the directory (`$MMSTATS_PATH`) and
/// the file name template (`$MMSTATS_FILES`) unless [`Options::dir`] and
/// [`Options::file_template`] override them.
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) file_template: Option<String>,
    pub(crate) mode: u32,
    pub(crate) keep: bool,
    pub(crate) reserve: Reserve,
    /// Set for a process totals file (FORMAT.md §2.1 state `PROCESS`): thread id 0.
    pub(crate) totals: bool,
    /// Fold this file's final values into the process totals when it closes.
    pub(crate) fold_totals: bool,
    /// Most label sets one family may take in this file.
    pub(crate) label_sets: usize,
    /// A file of the whole process rather than of one thread: thread id 0, `{TID}` → the
    /// process-wide part (`shared` unless set).
    pub(crate) process_wide: bool,
    /// What replaces `{TID}` in a process-wide file's name.
    pub(crate) process_part: String,
}

/// How many label sets (series) one family may take in one file unless
/// [`Options::label_sets`] says otherwise.
pub const DEFAULT_LABEL_SETS: usize = 1000;

impl Default for Options {
    fn default() -> Self {
        Options {
            name: String::new(),
            prefix: String::new(),
            dir: None,
            file_template: None,
            mode: 0o644,
            keep: false,
            reserve: Reserve::default(),
            totals: false,
            fold_totals: false,
            label_sets: DEFAULT_LABEL_SETS,
            process_wide: false,
            process_part: "shared".into(),
        }
    }
}

impl Options {
    /// Defaults: directory from `$MMSTATS_PATH` or the per-user tmpfs directory, name template
    /// from `$MMSTATS_FILES` or `{CMD}-{PID}-{TID}.mmstats`, mode 0644, removed on drop, room
    /// for `Reserve::default()` more fields.
    pub fn new() -> Options {
        Options::default()
    }
    /// The model's name, for `{NAME}` in the file name template.
    pub fn name(mut self, name: &str) -> Options {
        self.name = name.into();
        self
    }
    /// Prepended to every label registered through this stats object.
    pub fn prefix(mut self, prefix: &str) -> Options {
        self.prefix = prefix.into();
        self
    }
    /// The directory to create the file in (instead of `$MMSTATS_PATH` or the default). It is
    /// created with mode 0700 if missing and must pass the same safety checks.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Options {
        self.dir = Some(dir.into());
        self
    }
    /// The file name template (`{CMD}`, `{PID}`, `{TID}`, `{NAME}` expand), instead of
    /// `$MMSTATS_FILES` or the default `{CMD}-{PID}-{TID}.mmstats`.
    pub fn file_template(mut self, template: &str) -> Options {
        self.file_template = Some(template.into());
        self
    }
    /// File permission bits (default 0o644), applied exactly (the umask does not narrow them).
    pub fn mode(mut self, mode: u32) -> Options {
        self.mode = mode & 0o777;
        self
    }
    /// Keep the file when the stats object is dropped, for post-mortem reading.
    pub fn keep(mut self, keep: bool) -> Options {
        self.keep = keep;
        self
    }
    /// Fold the file's final counters, histograms, timers, averages and windows into the
    /// process's totals file when the stats object is dropped or closed, so that sums over the
    /// process's files never go back when a thread ends (see [`crate::remove_all`]). Per-thread
    /// instances of models always do this.
    pub fn fold_totals(mut self, fold: bool) -> Options {
        self.fold_totals = fold;
        self
    }
    /// The most label sets one family (fields of one name, FORMAT.md §3.5) may take in this
    /// file (default [`DEFAULT_LABEL_SETS`]): registering one more fails with
    /// [`Error::TooManyLabelSets`](crate::Error::TooManyLabelSets), so that a label with
    /// unbounded values (a user id, a URL) cannot fill the file. A process totals file takes
    /// every series its threads had, whatever the cap.
    pub fn label_sets(mut self, cap: usize) -> Options {
        self.label_sets = cap;
        self
    }
    /// A file of the whole process rather than of one thread, for shared fields
    /// ([`SharedGauge`](crate::SharedGauge), [`SharedCounter`](crate::SharedCounter)): thread
    /// id 0, named from the template with `{TID}` replaced by `shared` (default
    /// `{CMD}-{PID}-shared.mmstats`). Its values are not folded into the process totals.
    pub fn process_wide(mut self, process_wide: bool) -> Options {
        self.process_wide = process_wide;
        self
    }
    /// A process-wide file whose name has `part` in place of `{TID}` (default `shared`), for a
    /// process that keeps more than one: `process_wide_part("help")` names
    /// `{CMD}-{PID}-help.mmstats`. Implies [`Options::process_wide`].
    pub fn process_wide_part(mut self, part: &str) -> Options {
        self.process_wide = true;
        self.process_part = part.into();
        self
    }
    /// Room for fields registered after creation (FORMAT.md §7); default `Reserve::default()`.
    pub fn reserve(mut self, reserve: Reserve) -> Options {
        self.reserve = reserve;
        self
    }
}
