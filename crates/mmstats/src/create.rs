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

/// How many names [`create`] tries: the name itself, then `-2` to `-16` before its extension.
pub(crate) const NAME_ATTEMPTS: usize = 16;

/// The names [`create`] tries for `name`, in order (FORMAT.md §6.2 step 6): `web-7-7.mmstats`,
/// then `web-7-7-2.mmstats` up to `web-7-7-16.mmstats`.
pub(crate) fn candidate_names(name: &str) -> impl Iterator<Item = String> + '_ {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    std::iter::once(name.to_string())
        .chain((2..=NAME_ATTEMPTS).map(move |n| format!("{stem}-{n}{ext}")))
}

/// Creates `name` in `dir` with mode `mode` and contents `image` (whose length is the file's
/// final size). If the name is taken by anything (a stale file of a dead process whose pid was
/// reused, another stats object of this thread, a planted symlink), the next free candidate
/// name is used instead ([`candidate_names`]); nothing is ever replaced or followed. Fails with
/// [`Error::Exists`] only when every candidate is taken.
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
    let mut temp = temp;
    for candidate in candidate_names(name) {
        let candidate_path = dir.path.join(&candidate);
        temp = match temp.rename_to(&candidate, &candidate_path) {
            Ok(()) => {
                return Ok(Created {
                    file,
                    name: candidate,
                    path: candidate_path,
                });
            }
            Err(Renamed::Taken(temp)) => temp,
            Err(Renamed::Failed(e)) => return Err(e),
        };
    }
    Err(Error::Exists(path))
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

/// Why a rename did not happen.
enum Renamed<'a> {
    /// The name is taken; the temporary file is still there, to try another name.
    Taken(TempName<'a>),
    /// Another error; the temporary file is removed.
    Failed(Error),
}

impl<'a> TempName<'a> {
    /// Gives the file its final name, never replacing an existing one (FORMAT.md §6.2 step 6).
    fn rename_to(mut self, name: &str, path: &std::path::Path) -> Result<(), Renamed<'a>> {
        let temp = self.name.clone().unwrap_or_default();
        match rename_noreplace(self.dir, &temp, name) {
            Ok(()) => {
                self.name = None;
                Ok(())
            }
            Err(Errno::EEXIST) => Err(Renamed::Taken(self)),
            Err(e) => Err(Renamed::Failed(Error::io(path, e))),
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
        let c = create(&dir, "a.mmstats", 0o644, &[0u8; 4096]).unwrap();
        assert_eq!(c.name, "a-2.mmstats", "the next free name");
        assert_eq!(
            std::fs::read(tmp.path().join("a.mmstats")).unwrap(),
            b"mine"
        );
        assert_eq!(names(tmp.path()), ["a-2.mmstats", "a.mmstats"]);

        // With every candidate taken, creation fails and leaves no temporary file.
        for n in 3..=NAME_ATTEMPTS {
            std::fs::write(tmp.path().join(format!("a-{n}.mmstats")), b"taken").unwrap();
        }
        let err = create(&dir, "a.mmstats", 0o644, &[0u8; 4096]).unwrap_err();
        assert!(matches!(err, Error::Exists(_)), "{err}");
        assert_eq!(names(tmp.path()).len(), NAME_ATTEMPTS);
    }

    #[test]
    fn candidate_names_keep_the_extension() {
        let c: Vec<String> = candidate_names("web-7-8.mmstats").take(3).collect();
        assert_eq!(
            c,
            ["web-7-8.mmstats", "web-7-8-2.mmstats", "web-7-8-3.mmstats"]
        );
        assert_eq!(candidate_names("plain").nth(1).unwrap(), "plain-2");
        assert_eq!(candidate_names("x").count(), NAME_ATTEMPTS);
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
