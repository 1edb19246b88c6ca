//! Examining one file and removing it if, and only if, its writer is gone.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use mmstats_reader::{ErrorKind, FormatVersion, Liveness, ReadError, StatsFile, liveness};

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its writer was gone; it was removed.
    Removed,
    /// Its writer was gone; a dry run left it (the reason says why it is stale).
    WouldRemove(String),
    /// Its writer is alive.
    Alive,
    /// Not a file cleanstats may remove (symlink, directory, not an mmstats file, replaced or
    /// already gone); the reason says which.
    Skipped(String),
}

/// An error that means "this is not ours to remove" rather than "could not examine".
pub fn skip_reason(e: &ReadError) -> Option<String> {
    match &e.kind {
        ErrorKind::Format(mmstats_reader::FormatError::Hsperf(f)) => Some(format!(
            "a JVM's performance data file, never removed here ({f})"
        )),
        ErrorKind::Format(f) => Some(format!("not a valid mmstats file: {f}")),
        ErrorKind::NotRegular => Some("not a regular file".into()),
        ErrorKind::Vanished => Some("vanished".into()),
        ErrorKind::Io(io) if io.kind() == io::ErrorKind::NotFound => Some("vanished".into()),
        ErrorKind::Io(io) if io.raw_os_error() == Some(libc::ELOOP) => {
            Some("symlink, not followed".into())
        }
        _ => None,
    }
}

/// Tries to take an exclusive `flock` without blocking: `Ok(false)` if someone holds it.
fn try_lock(file: &std::fs::File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Examines `path` and removes it if its writer is gone (FORMAT.md §6.3, §6.4); `dry_run`
/// only reports. `Err` means the file could not be examined.
pub fn examine(path: &Path, dry_run: bool) -> Result<Outcome, io::Error> {
    let skip = |why: &str| Ok(Outcome::Skipped(why.to_string()));
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return skip("vanished"),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return skip("symlink, not followed");
    }
    if ft.is_dir() {
        return skip("directory");
    }
    if !ft.is_file() {
        return skip("not a regular file");
    }

    let stats = match StatsFile::open_nofollow(path) {
        Ok(f) => f,
        Err(e) => {
            return match skip_reason(&e) {
                Some(why) => Ok(Outcome::Skipped(why)),
                None => Err(io::Error::other(e.kind.to_string())),
            };
        }
    };
    if stats.info().version == FormatVersion::Hsperf {
        return skip("a JVM's performance data file: the JVM removes its own");
    }
    let reason = match liveness(&stats) {
        Liveness::Alive => return Ok(Outcome::Alive),
        Liveness::Dead(reason) => reason,
    };
    let judged = stats.info().dev_ino;
    drop(stats);
    if dry_run {
        return Ok(Outcome::WouldRemove(reason));
    }

    // Take the lock ourselves and hold it while we unlink, so no writer can be using the file
    // and no other cleaner can act on it at the same time.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return skip("vanished"),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return skip("symlink, not followed"),
        Err(e) => return Err(e),
    };
    if !try_lock(&file)? {
        return Ok(Outcome::Alive);
    }
    let locked = file.metadata()?;
    if (locked.dev(), locked.ino()) != judged {
        return skip("replaced while being examined");
    }
    match std::fs::symlink_metadata(path) {
        Ok(now) if (now.dev(), now.ino()) == judged => {}
        Ok(_) => return skip("replaced while being examined"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return skip("vanished"),
        Err(e) => return Err(e),
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return skip("vanished"),
        Err(e) => return Err(e),
    }
    drop(file); // releases the lock, after the name is gone
    Ok(Outcome::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_directories_and_fifos_are_skipped_before_anything_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub.mmstats")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("link.mmstats")).unwrap();
        let fifo = d.join("fifo.mmstats");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let outcome = |p: &str| examine(&d.join(p), false).unwrap();
        assert_eq!(outcome("sub.mmstats"), Outcome::Skipped("directory".into()));
        assert_eq!(
            outcome("link.mmstats"),
            Outcome::Skipped("symlink, not followed".into())
        );
        assert_eq!(
            outcome("fifo.mmstats"),
            Outcome::Skipped("not a regular file".into())
        );
        assert_eq!(outcome("none.mmstats"), Outcome::Skipped("vanished".into()));
        assert!(d.join("sub.mmstats").is_dir() && fifo.exists());
    }

    #[test]
    fn lock_is_exclusive_between_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let a = std::fs::File::open(&p).unwrap();
        let b = std::fs::File::open(&p).unwrap();
        assert!(try_lock(&a).unwrap());
        assert!(!try_lock(&b).unwrap());
        drop(a);
        assert!(try_lock(&b).unwrap());
    }
}
