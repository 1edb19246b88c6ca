//! Errors: per file ([`ReadError`]) and per value ([`ValueError`]).

use std::io;
use std::path::{Path, PathBuf};

use mmstats_format::FormatError;

/// An error reading one file: which file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {kind}")]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong reading a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O error (permission denied, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a valid mmstats file.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// The file disappeared while being read.
    #[error("file vanished while being read")]
    Vanished,
    /// The file shrank while mapped (a load faulted): what was read from it is discarded.
    #[error("file shrank while being read (another process truncated it); reopen it")]
    Shrunk,
    /// Not a regular file (directory, device, fifo, symlink when not following).
    #[error("not a regular file")]
    NotRegular,
    /// The path names nothing (given by the user, or listed and gone before it was opened).
    #[error("not found")]
    NotFound,
    /// A glob's directory does not exist.
    #[error("no such directory (has any instrumented program run yet?)")]
    NoDir,
    /// A directory holds no stats files at all.
    #[error("directory has no stats files")]
    EmptyDir,
    /// A glob matches no file, though its directory has some.
    #[error("no files match")]
    NoMatch,
    /// A stats directory another user could have planted files in; the message says why.
    #[error(
        "refusing to read this stats directory: {0}; check who created it, or pass --trust-dir to read it anyway"
    )]
    UntrustedDir(String),
    /// A glob pattern is invalid.
    #[error("bad pattern: {0}")]
    Pattern(String),
    /// The scanner's admission check ([`crate::Scanner::admitting`]) refused the file; the
    /// reason says why.
    #[error("{0}")]
    Refused(String),
}

impl ReadError {
    /// An error of `kind` about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: impl Into<ErrorKind>) -> ReadError {
        ReadError {
            path: path.into(),
            kind: kind.into(),
        }
    }

    /// An I/O error about `path`, classified: a missing file is [`ErrorKind::NotFound`], a
    /// symlink refused by `O_NOFOLLOW` is [`ErrorKind::NotRegular`].
    pub(crate) fn io(path: &Path, err: io::Error) -> ReadError {
        let kind = match err.raw_os_error() {
            Some(libc::ENOENT) => ErrorKind::NotFound,
            Some(libc::ELOOP) => ErrorKind::NotRegular,
            _ => ErrorKind::Io(err),
        };
        ReadError::new(path, kind)
    }

    /// A format error about `path`.
    pub(crate) fn format(path: &Path, err: FormatError) -> ReadError {
        ReadError::new(path, ErrorKind::Format(err))
    }

    /// The format error, if that is what this is.
    pub fn format_error(&self) -> Option<&FormatError> {
        match &self.kind {
            ErrorKind::Format(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a multi-word value could not be read consistently (FORMAT.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The sequence counter stayed odd and the writer holds the file's lock.
    #[error("being written")]
    BeingWritten,
    /// The sequence counter stayed odd and nobody holds the file's lock.
    #[error("writer died mid-update")]
    WriterDied,
    /// The slot holds an impossible value.
    #[error("corrupt value: {0}")]
    Corrupt(String),
    /// A resource source could not read this metric; the reason says why (permission
    /// denied, process gone, kernel without the file).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let p = Path::new("/x");
        let e = ReadError::io(p, io::Error::from_raw_os_error(libc::ENOENT));
        assert!(matches!(e.kind, ErrorKind::NotFound));
        assert_eq!(e.to_string(), "/x: not found");
        let e = ReadError::io(p, io::Error::from_raw_os_error(libc::ELOOP));
        assert!(matches!(e.kind, ErrorKind::NotRegular));
        let e = ReadError::io(p, io::Error::from_raw_os_error(libc::EACCES));
        assert!(matches!(e.kind, ErrorKind::Io(_)));
        assert!(e.to_string().starts_with("/x: "));
        let e = ReadError::format(p, FormatError::Empty);
        assert_eq!(e.format_error(), Some(&FormatError::Empty));
        assert_eq!(e.to_string(), "/x: empty file");
    }
}
