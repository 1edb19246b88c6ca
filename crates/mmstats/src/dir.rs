//! The stats directory and file names (FORMAT.md §6.1).

use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};

use mmstats_format::names;

use crate::error::Error;

/// The directory files go to: `explicit` if given, else the default directory of FORMAT.md
/// §6.1 for this process's effective user ([`names::default_dir`]).
pub(crate) fn resolve(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    names::default_dir(
        |v| std::env::var_os(v),
        Path::new("/dev/shm").is_dir(),
        nix::unistd::geteuid().as_raw(),
    )
}

/// An open, checked stats directory.
#[derive(Debug)]
pub(crate) struct StatsDir {
    /// The directory, opened `O_DIRECTORY | O_NOFOLLOW`; files are created relative to it.
    pub(crate) fd: OwnedFd,
    /// Its path, for messages and [`crate::Stats::path`].
    pub(crate) path: PathBuf,
}

/// The stats directories open in this process, each shared by the stats objects in it.
static OPEN: Mutex<Vec<(PathBuf, Weak<StatsDir>)>> = Mutex::new(Vec::new());

/// `path` without trailing slashes and `.` components: `link/` and `link/.` name the link's
/// target even with O_NOFOLLOW, which applies to the last component only, so the link itself
/// must be the last component that is opened and checked.
fn spelled(path: &Path) -> PathBuf {
    let spelled: PathBuf = path.components().collect();
    if spelled.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        spelled
    }
}

impl StatsDir {
    /// The directory at `path` as [`StatsDir::open`] opens it, but one descriptor for every
    /// stats object of the process in it: a file costs its writer one descriptor (its own),
    /// not two. The shared descriptor is used again only while `path` still names the same
    /// directory and it still passes the checks (one `lstat` and one `fstat`); it is closed
    /// when the last stats object in it is gone.
    pub(crate) fn shared(path: &Path) -> Result<Arc<StatsDir>, Error> {
        let path = spelled(path);
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(_, dir)| dir.strong_count() > 0);
        let found = open
            .iter()
            .find(|(p, _)| *p == path)
            .and_then(|(_, dir)| dir.upgrade());
        if let Some(dir) = found
            && dir.still_at(&path)
        {
            return Ok(dir);
        }
        let dir = Arc::new(StatsDir::open(&path)?);
        open.retain(|(p, _)| *p != path);
        open.push((path, Arc::downgrade(&dir)));
        Ok(dir)
    }

    /// Whether `path` still names this directory and it is still safe.
    fn still_at(&self, path: &Path) -> bool {
        let Ok(named) = std::fs::symlink_metadata(path) else {
            return false;
        };
        let Ok(st) = fstat(&self.fd) else {
            return false;
        };
        (named.dev(), named.ino()) == (st.st_dev, st.st_ino)
            && check(&st, nix::unistd::geteuid().as_raw()).is_ok()
    }

    /// Opens `path`, creating it with mode 0700 if missing, and checks that it is safe: a real
    /// directory (not a symlink), owned by this user, not writable by group or others.
    pub(crate) fn open(path: &Path) -> Result<StatsDir, Error> {
        let spelled = spelled(path);
        let path = spelled.as_path();
        if std::fs::symlink_metadata(path).is_err() {
            // Missing (or unreadable, in which case opening fails below with the reason).
            if let Err(e) = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(Error::io(path, e));
            }
        }
        let unsafe_dir = |why: &str| Error::UnsafeDir {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = match open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ELOOP) => return Err(unsafe_dir("it is a symbolic link")),
            Err(Errno::ENOTDIR) => {
                let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
                return Err(unsafe_dir(if link {
                    "it is a symbolic link"
                } else {
                    "it is not a directory"
                }));
            }
            Err(e) => return Err(Error::io(path, e)),
        };
        let st = fstat(&fd).map_err(|e| Error::io(path, e))?;
        check(&st, nix::unistd::geteuid().as_raw()).map_err(unsafe_dir)?;
        Ok(StatsDir {
            fd,
            path: path.to_path_buf(),
        })
    }
}

/// The safety rules of FORMAT.md §6.1 for an opened directory's status.
fn check(st: &FileStat, uid: u32) -> Result<(), &'static str> {
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFDIR {
        return Err("it is not a directory");
    }
    if st.st_uid != uid {
        return Err("it is owned by another user");
    }
    if st.st_mode & 0o022 != 0 {
        return Err("it is writable by group or others");
    }
    Ok(())
}

/// Expands a file name template ([`names::expand`]): the result must be a plain file name
/// that readers do not skip.
pub(crate) fn file_name(
    template: &str,
    cmd: &str,
    pid: u32,
    tid: u32,
    name: &str,
) -> Result<String, Error> {
    let out = names::expand(template, cmd, pid, tid, name);
    match names::check_file_name(&out) {
        Ok(()) => Ok(out),
        Err(why) => Err(Error::BadName { name: out, why }),
    }
}

/// The template to use: `explicit` if given, else `$MMSTATS_FILES`, else the default.
pub(crate) fn template(explicit: Option<&str>) -> String {
    names::template(explicit, std::env::var(names::FILES_VAR).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn templates_expand() {
        let n = file_name(names::DEFAULT_TEMPLATE, "web", 1, 2, "m").unwrap();
        assert_eq!(n, "web-1-2.mmstats");
        let n = file_name("{NAME}.{PID}.{TID}.{CMD}.mmstats", "c", 3, 4, "model").unwrap();
        assert_eq!(n, "model.3.4.c.mmstats");
    }

    #[test]
    fn bad_names_are_refused() {
        for t in ["", "../x", "a/b", ".hidden", "{NAME}"] {
            assert!(
                matches!(file_name(t, "c", 1, 2, ""), Err(Error::BadName { .. })),
                "{t:?}"
            );
        }
        assert!(file_name(&"x".repeat(201), "c", 1, 2, "").is_err());
    }

    #[test]
    fn explicit_dir_wins() {
        assert_eq!(resolve(Some(Path::new("/x/y"))), PathBuf::from("/x/y"));
    }

    #[test]
    fn one_descriptor_is_shared_while_the_directory_stays_the_same_and_safe() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("s");
        let a = StatsDir::shared(&d).unwrap();
        let b = StatsDir::shared(&d.join(".")).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "same directory, same descriptor");
        // Made unsafe: not used again, and opening it afresh refuses it.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = StatsDir::shared(&d).unwrap_err();
        assert!(err.to_string().contains("writable by group"), "{err}");
        // Replaced by another directory under the same name: that one is opened.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::rename(&d, tmp.path().join("old")).unwrap();
        let c = StatsDir::shared(&d).unwrap();
        assert!(
            !Arc::ptr_eq(&a, &c),
            "a new directory gets its own descriptor"
        );
        let (new, old) = (fstat(&c.fd).unwrap(), fstat(&a.fd).unwrap());
        assert_ne!(new.st_ino, old.st_ino);
        drop((a, b, c));
        // Gone with its last user.
        let open = OPEN.lock().unwrap();
        assert!(!open.iter().any(|(p, w)| *p == d && w.strong_count() > 0));
    }

    #[test]
    fn a_missing_dir_is_created_private() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("a/b");
        StatsDir::open(&d).unwrap();
        let mode = std::fs::metadata(&d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn unsafe_dirs_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = StatsDir::open(&open).unwrap_err();
        assert!(err.to_string().contains("writable by group"), "{err}");

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        let err = StatsDir::open(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");

        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = StatsDir::open(&file).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn check_refuses_foreign_owners() {
        let tmp = tempfile::tempdir().unwrap();
        let st = nix::sys::stat::stat(tmp.path()).unwrap();
        assert_eq!(check(&st, st.st_uid), Ok(()));
        assert_eq!(
            check(&st, st.st_uid.wrapping_add(1)),
            Err("it is owned by another user")
        );
    }
}
