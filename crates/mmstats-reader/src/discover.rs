//! Finding stats files: the default directory and glob (FORMAT.md §6.1), and expanding the
//! paths and globs a user gives.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, ReadError};

/// The stats directory readers look in by default (FORMAT.md §6.1): `$MMSTATS_PATH`; else
/// `$XDG_RUNTIME_DIR/mmstats`; else `/dev/shm/mmstats-<uid>` when `/dev/shm` exists; else
/// `<temp dir>/mmstats-<uid>`. Empty variables count as unset.
pub fn default_dir() -> PathBuf {
    dir_from(
        std::env::var_os("MMSTATS_PATH"),
        std::env::var_os("XDG_RUNTIME_DIR"),
        Path::new("/dev/shm").is_dir(),
        nix::unistd::getuid().as_raw(),
    )
}

fn dir_from(
    mmstats_path: Option<OsString>,
    xdg: Option<OsString>,
    have_shm: bool,
    uid: u32,
) -> PathBuf {
    if let Some(p) = mmstats_path.filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(x) = xdg.filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("mmstats");
    }
    if have_shm {
        return PathBuf::from(format!("/dev/shm/mmstats-{uid}"));
    }
    std::env::temp_dir().join(format!("mmstats-{uid}"))
}

/// The default glob: `$MMSTATS_GLOB`, else `<default_dir>/*.mmstats`.
pub fn default_glob() -> String {
    match std::env::var("MMSTATS_GLOB") {
        Ok(g) if !g.is_empty() => g,
        _ => default_dir()
            .join("*.mmstats")
            .to_string_lossy()
            .into_owned(),
    }
}

/// Expands paths and globs (an existing path is taken as it is; an empty list means the default
/// glob) into sorted, deduplicated file paths, skipping names that start with `.`.
///
/// A pattern that is not a valid glob gives an error of kind [`ErrorKind::Pattern`]; a
/// directory the glob cannot read gives an I/O error; a plain path (no `*`, `?` or `[`) that
/// does not exist gives a "not found" I/O error; none of them stops the other patterns. A glob
/// that matches nothing gives nothing.
pub fn discover<S: AsRef<str>>(patterns: &[S]) -> (Vec<PathBuf>, Vec<ReadError>) {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    let default;
    let patterns: Vec<&str> = if patterns.is_empty() {
        default = default_glob();
        vec![default.as_str()]
    } else {
        patterns.iter().map(AsRef::as_ref).collect()
    };
    for pattern in patterns {
        let as_path = Path::new(pattern);
        if is_jvm_dir(as_path) {
            let (found, errs) = discover(&[jvm_files_in(as_path)]);
            paths.extend(found);
            errors.extend(errs);
            continue;
        }
        if as_path.symlink_metadata().is_ok() {
            paths.push(as_path.to_path_buf());
            continue;
        }
        if !pattern.contains(['*', '?', '[']) {
            errors.push(ReadError::new(
                pattern,
                ErrorKind::Io(std::io::Error::from(std::io::ErrorKind::NotFound)),
            ));
            continue;
        }
        match glob::glob(pattern) {
            Err(e) => errors.push(ReadError::new(pattern, ErrorKind::Pattern(e.to_string()))),
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(p) if is_hidden(&p) => {}
                        Ok(p) => paths.push(p),
                        Err(e) => {
                            let path = e.path().to_path_buf();
                            errors
                                .push(ReadError::new(path, ErrorKind::Io(std::io::Error::from(e))));
                        }
                    }
                }
            }
        }
    }
    // Byte order of the whole path: the same order as by components for the names of one
    // directory, and much cheaper for thousands of files.
    paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    paths.dedup();
    (paths, errors)
}

/// Where HotSpot JVMs keep their performance data files: one `hsperfdata_<user>` directory
/// per user in the temporary directory (`/tmp`, or `$TMPDIR`), one file per JVM named after
/// its pid.
pub fn jvm_glob() -> String {
    let tmp = glob::Pattern::escape(&std::env::temp_dir().to_string_lossy());
    format!("{tmp}/hsperfdata_*/[0-9]*")
}

/// The paths and globs to read with JVMs added: `patterns` (the default glob when empty) and
/// [`jvm_glob`].
pub fn with_jvms(patterns: &[String]) -> Vec<String> {
    let mut all = if patterns.is_empty() {
        vec![default_glob()]
    } else {
        patterns.to_vec()
    };
    all.push(jvm_glob());
    all
}

/// The glob of the JVM files in a `hsperfdata_<user>` directory (names of digits only).
fn jvm_files_in(dir: &Path) -> String {
    let dir = glob::Pattern::escape(&dir.to_string_lossy());
    format!("{dir}/[0-9]*")
}

/// Whether a path names a directory of JVM performance data files (`hsperfdata_<user>`).
fn is_jvm_dir(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("hsperfdata_"))
        && p.is_dir()
}

/// Whether the file name starts with `.` (temporary files being created, FORMAT.md §6.2).
fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_follows_the_precedence() {
        let some = |s: &str| Some(OsString::from(s));
        assert_eq!(
            dir_from(some("/a"), some("/run/user/1"), true, 7),
            PathBuf::from("/a")
        );
        assert_eq!(
            dir_from(some(""), some("/run/user/1"), true, 7),
            PathBuf::from("/run/user/1/mmstats")
        );
        assert_eq!(
            dir_from(None, None, true, 7),
            PathBuf::from("/dev/shm/mmstats-7")
        );
        assert_eq!(
            dir_from(None, some(""), false, 7),
            std::env::temp_dir().join("mmstats-7")
        );
    }

    #[test]
    fn globs_sort_dedup_and_skip_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.mmstats",
            "a.mmstats",
            ".a.mmstats.x.tmp",
            ".hidden.mmstats",
            "c.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let glob = format!("{}/*.mmstats", dir.path().display());
        let explicit = dir.path().join("c.txt");
        let (paths, errors) = discover(&[glob.as_str(), explicit.to_str().unwrap(), glob.as_str()]);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.mmstats", "b.mmstats", "c.txt"]);
    }

    #[test]
    fn jvm_directories_expand_to_their_pid_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("hsperfdata_someone");
        std::fs::create_dir(&dir).unwrap();
        for name in ["123", "45", "notes", ".7"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let (paths, errors) = discover(&[dir.to_str().unwrap()]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(paths, [dir.join("123"), dir.join("45")]);
        assert!(jvm_glob().ends_with("/hsperfdata_*/[0-9]*"));
        let with = with_jvms(&["a".to_string()]);
        assert_eq!(with, ["a".to_string(), jvm_glob()]);
        assert_eq!(with_jvms(&[]), [default_glob(), jvm_glob()]);
    }

    #[test]
    fn bad_patterns_and_misses() {
        let (paths, errors) = discover(&["/nonexistent-mmstats-dir/[x"]);
        assert!(paths.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(matches!(errors[0].kind, ErrorKind::Pattern(_)));
        let (paths, errors) = discover(&["/nonexistent-mmstats-dir/*.mmstats"]);
        assert!(paths.is_empty() && errors.is_empty());
        let (paths, errors) = discover(&["/nonexistent-mmstats-dir/x.mmstats"]);
        assert!(paths.is_empty());
        assert!(
            matches!(&errors[0].kind, ErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
        );
    }
}
