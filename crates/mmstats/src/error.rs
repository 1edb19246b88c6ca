//! What can go wrong creating stats or registering a field.

use std::path::PathBuf;

/// Why stats could not be created or a field registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stats directory is unsafe to use (symlink, wrong owner, writable by others).
    #[error(
        "{path}: unsafe stats directory: {why} (use a directory of your own with mode 0700, or set MMSTATS_PATH)"
    )]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The target file name and all its alternatives already exist; the writer never replaces
    /// a file it did not create.
    #[error(
        "{0} and its alternatives up to -16 already exist; refusing to replace them (remove stale files with cleanstats)"
    )]
    Exists(PathBuf),
    /// The file name made from the template is not a plain file name.
    #[error("bad stats file name {name:?}: {why} (check MMSTATS_FILES or Options::file_template)")]
    BadName {
        /// The expanded name.
        name: String,
        /// What is wrong with it.
        why: mmstats_format::names::NameError,
    },
    /// A family (fields of one name) already has as many label sets in this file as
    /// [`Options::label_sets`](crate::Options::label_sets) allows.
    #[error(
        "{family:?} already has {cap} label sets in this file; refusing {series:?} (raise Options::label_sets, or use fewer distinct label values)"
    )]
    TooManyLabelSets {
        /// The family's name.
        family: String,
        /// The series refused.
        series: String,
        /// The cap.
        cap: usize,
    },
    /// A field cannot be added (bad label, unit or label set, a kind's sizes out of range,
    /// capacity used up, duplicate label).
    #[error(transparent)]
    Field(#[from] mmstats_format::FieldError),
}

impl Error {
    /// An I/O error about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> Error {
        Error::Io {
            path: path.into(),
            source: source.into(),
        }
    }
}
