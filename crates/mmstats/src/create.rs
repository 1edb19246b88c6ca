//! The creation protocol (FORMAT.md §6.2): build the file under a temporary name, then give
//! it its final name without ever replacing anything.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::BuildHasher;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, openat};
use nix::sys::stat::{Mode, fchmod};
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::dir::StatsDir;
use crate::error::Error;

/// How many random temporary names to try before giving up.
const TEMP_ATTEMPTS: usize = 16;

/// A file that was built and named: locked for the writer's whole life.
#[derive(Debug)]
pub(crate) struct Created {
    /// The file, with the exclusive `flock` held (FORMAT.md §6.3).
    pub(crate) file: Flock<File>,
    /// Its final name in the directory.
    pub(crate) name: String,
    /// Its full path.
    pub(crate) path: PathBuf,
}

/// Creates `name` in `dir` with mode `mode` and contents `image` (whose length is the file's
/// final size). Fails with [`Error::Exists`] if the name is taken by anything, a symlink
/// included, and leaves that thing untouched.
pub(crate) fn create(
    dir: &StatsDir,
    name: &str,
    mode: u32,
    image: &[u8],
) -> Result<Created, Error> {
    let path = dir.path.join(name);
    let (temp, fd) = open_temp(dir, name, mode)?;
    let temp = TempName {
        dir,
        name: Some(temp),
    };
    let temp_path = || dir.path.join(temp.name.as_deref().unwrap_or_default());
    // umask may have narrowed the mode; the caller asked for exactly this one.
    fchmod(&fd, Mode::from_bits_truncate(mode)).map_err(|e| Error::io(temp_path(), e))?;
    let file = Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| Error::io(temp_path(), e))?;
    let len = i64::try_from(image.len()).map_err(|_| Error::io(temp_path(), Errno::EFBIG))?;
    nix::fcntl::posix_fallocate(&*file, 0, len).map_err(|e| Error::io(temp_path(), e))?;
    file.write_all_at(image, 0)
        .map_err(|e| Error::io(temp_path(), e))?;
    temp.rename_to(name, &path)?;
    Ok(Created {
        file,
        name: name.to_string(),
        path,
    })
}

/// Creates `.<name>.<random>.tmp` exclusively, never following a symlink.
fn open_temp(
    dir: &StatsDir,
    name: &str,
    mode: u32,
) -> Result<(String, std::os::fd::OwnedFd), Error> {
    let flags =
        OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let random = RandomState::new();
    let mut last = Errno::EEXIST;
    for attempt in 0..TEMP_ATTEMPTS {
        let tag = random.hash_one((std::process::id(), attempt, std::time::Instant::now()));
        let temp = format!(".{name}.{tag:016x}.tmp");
        match openat(
            &dir.fd,
            temp.as_str(),
            flags,
            Mode::from_bits_truncate(mode),
        ) {
            Ok(fd) => return Ok((temp, fd)),
            Err(Errno::EEXIST) => last = Errno::EEXIST,
            Err(e) => return Err(Error::io(dir.path.join(temp), e)),
        }
    }
    Err(Error::io(dir.path.join(format!(".{name}.*.tmp")), last))
}

/// A temporary name that is removed on drop unless it was renamed.
struct TempName<'a> {
    dir: &'a StatsDir,
    name: Option<String>,
}

impl TempName<'_> {
    /// Gives the file its final name, never replacing an existing one (FORMAT.md §6.2 step 6).
    fn rename_to(mut self, name: &str, path: &std::path::Path) -> Result<(), Error> {
        let temp = self.name.clone().unwrap_or_default();
        match rename_noreplace(self.dir, &temp, name) {
            Ok(()) => {
                self.name = None;
                Ok(())
            }
            Err(Errno::EEXIST) => Err(Error::Exists(path.to_path_buf())),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

impl Drop for TempName<'_> {
    fn drop(&mut self) {
        if let Some(temp) = self.name.take() {
            let _ = unlinkat(&self.dir.fd, temp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// `renameat2(RENAME_NOREPLACE)`, or `link` then `unlink` where the kernel or file system
/// lacks it. Either way an existing `to` (a symlink included) makes it fail with `EEXIST`.
fn rename_noreplace(dir: &StatsDir, from: &str, to: &str) -> Result<(), Errno> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{RenameFlags, renameat2};
        match renameat2(&dir.fd, from, &dir.fd, to, RenameFlags::RENAME_NOREPLACE) {
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
            other => return other,
        }
    }
    nix::unistd::linkat(&dir.fd, from, &dir.fd, to, nix::fcntl::AtFlags::empty())?;
    // The file has its final name; a failure to drop the temporary one leaves a dot file that
    // readers skip, which is no reason to fail.
    let _ = unlinkat(&dir.fd, from, UnlinkatFlags::NoRemoveDir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_the_named_file_and_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StatsDir::open(tmp.path()).unwrap();
        let c = create(&dir, "a.mmstats", 0o640, &[7u8; 4096]).unwrap();
        assert_eq!(names(tmp.path()), ["a.mmstats"]);
        assert_eq!(std::fs::read(&c.path).unwrap(), vec![7u8; 4096]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&c.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn an_existing_name_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StatsDir::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("a.mmstats"), b"mine").unwrap();
        let err = create(&dir, "a.mmstats", 0o644, &[0u8; 4096]).unwrap_err();
        assert!(matches!(err, Error::Exists(_)), "{err}");
        assert_eq!(
            std::fs::read(tmp.path().join("a.mmstats")).unwrap(),
            b"mine"
        );
        assert_eq!(names(tmp.path()), ["a.mmstats"]);
    }

    #[test]
    fn the_fallback_rename_also_refuses_existing_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StatsDir::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("from"), b"new").unwrap();
        std::fs::write(tmp.path().join("to"), b"old").unwrap();
        assert_eq!(
            nix::unistd::linkat(&dir.fd, "from", &dir.fd, "to", nix::fcntl::AtFlags::empty()),
            Err(Errno::EEXIST)
        );
        assert_eq!(rename_noreplace(&dir, "from", "to"), Err(Errno::EEXIST));
        assert_eq!(std::fs::read(tmp.path().join("to")).unwrap(), b"old");
    }

    #[test]
    fn the_file_is_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StatsDir::open(tmp.path()).unwrap();
        let c = create(&dir, "a.mmstats", 0o644, &[0u8; 4096]).unwrap();
        let other = File::open(&c.path).unwrap();
        assert!(Flock::lock(other, FlockArg::LockSharedNonblock).is_err());
        drop(c);
        let other = File::open(tmp.path().join("a.mmstats")).unwrap();
        assert!(Flock::lock(other, FlockArg::LockSharedNonblock).is_ok());
    }
}
