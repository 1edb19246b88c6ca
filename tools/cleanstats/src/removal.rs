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
        ErrorKind::Vanished | ErrorKind::NotFound => Some("vanished".into()),
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
        Liveness::Dead(reason) => reason.to_string(),
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
    // Checking the name and then unlinking it would leave a gap in which the name can come to
    // mean another file. Instead, move whatever the name means now to a private name in the
    // same directory (atomically), check that it is the file we judged and locked, and only
    // then unlink the private name; any other file goes back where it was.
    let private = private_name(path);
    match rename_noreplace(path, &private) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return skip("vanished"),
        Err(e) => return Err(e),
    }
    let moved = std::fs::symlink_metadata(&private)?;
    if (moved.dev(), moved.ino()) != judged {
        return match rename_noreplace(&private, path) {
            Ok(()) => skip("replaced while being examined"),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!(
                    "replaced while being examined, and the new file could not be moved back \
                     from {}: {e}",
                    private.display()
                ),
            )),
        };
    }
    std::fs::remove_file(&private)?;
    drop(file); // releases the lock, after the name is gone
    Ok(Outcome::Removed)
}

/// A name in `path`'s directory that no writer or reader uses: hidden (readers skip names
/// starting with `.`, FORMAT.md §6.2) and unique to this process and moment.
fn private_name(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(
        ".{}-{nanos:x}-{}.clean",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(name)
}

/// Renames `from` to `to` unless `to` exists (`renameat2(RENAME_NOREPLACE)`).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    nix::fcntl::renameat2(
        nix::fcntl::AT_FDCWD,
        from,
        nix::fcntl::AT_FDCWD,
        to,
        nix::fcntl::RenameFlags::RENAME_NOREPLACE,
    )
    .map_err(io::Error::from)
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
