//! Finding stats files: the default directory and glob (FORMAT.md §6.1), and expanding the
//! paths and globs a user gives.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use mmstats_format::names;

use crate::error::{ErrorKind, ReadError};

/// The stats directory readers look in by default: the one writers of this effective user
/// write to (FORMAT.md §6.1, [`mmstats_format::names::default_dir`]): `$MMSTATS_PATH`; else
/// `$XDG_RUNTIME_DIR/mmstats`; else `/dev/shm/mmstats-<euid>` when `/dev/shm` exists; else
/// `<temp dir>/mmstats-<euid>`. Empty variables count as unset.
pub fn default_dir() -> PathBuf {
    names::default_dir(
        |v| std::env::var_os(v),
        Path::new("/dev/shm").is_dir(),
        nix::unistd::geteuid().as_raw(),
    )
}

/// The default glob: `$MMSTATS_GLOB`, else `<default_dir>/*.mmstats`.
pub fn default_glob() -> String {
    match std::env::var(names::GLOB_VAR) {
        Ok(g) if !g.is_empty() => g,
        _ => default_dir()
            .join(format!("*{}", names::SUFFIX))
            .to_string_lossy()
            .into_owned(),
    }
}

/// Whether stats directories that fail [`check_dir`] are read anyway (`--trust-dir`).
static TRUST_DIRS: AtomicBool = AtomicBool::new(false);

/// Makes [`discover`] read directories that fail [`check_dir`] (a tool's `--trust-dir`
/// option). Process-wide; off unless a tool turns it on.
pub fn trust_dirs(trust: bool) {
    TRUST_DIRS.store(trust, Ordering::Relaxed);
}

/// Checks that a stats directory is one only its owner could have filled (FORMAT.md §6.1,
/// readers): owned by the reading user or by root (any owner when the reader is root), and not
/// writable by others. Otherwise another local user could have created it first (say
/// `/dev/shm/mmstats-<uid>` with mode 1777) and planted files for us to read. (A
/// group-writable directory is accepted: a group may share one on purpose.) The error is of
/// kind [`ErrorKind::UntrustedDir`]; a directory that cannot be examined is not refused here
/// (reading it reports why).
pub fn check_dir(dir: &Path) -> Result<(), ReadError> {
    let Ok(md) = std::fs::metadata(dir) else {
        return Ok(());
    };
    if !md.is_dir() {
        return Ok(());
    }
    match distrust(md.uid(), md.mode(), nix::unistd::geteuid().as_raw()) {
        Some(why) => Err(ReadError::new(dir, ErrorKind::UntrustedDir(why))),
        None => Ok(()),
    }
}

/// Why a directory owned by `owner` with `mode` is not to be trusted by user `me`, if it is not.
fn distrust(owner: u32, mode: u32, me: u32) -> Option<String> {
    if owner != me && owner != 0 && me != 0 {
        Some(format!(
            "it is owned by uid {owner}, not by you (uid {me}) or root"
        ))
    } else if mode & 0o002 != 0 {
        Some(format!(
            "it is writable by every user (mode {:o})",
            mode & 0o7777
        ))
    } else {
        None
    }
}

/// The directory a glob reads: its components up to the first one with a wildcard.
fn glob_dir(pattern: &str) -> PathBuf {
    let mut dir = PathBuf::new();
    for c in Path::new(pattern).components() {
        if c.as_os_str()
            .as_encoded_bytes()
            .iter()
            .any(|b| b"*?[".contains(b))
        {
            break;
        }
        dir.push(c);
    }
    if dir.as_os_str().is_empty() {
        dir.push(".");
    }
    dir
}

/// Expands paths and globs into sorted, deduplicated file paths, skipping names that start
/// with `.`. An existing file is taken as it is; an existing directory means its `*.mmstats`
/// files; an empty list means the default glob.
///
/// Each pattern that gives no file says why, as one error naming it: [`ErrorKind::NotFound`]
/// for a plain path (no `*`, `?` or `[`) that does not exist, [`ErrorKind::NoDir`] for a glob
/// whose directory does not exist, [`ErrorKind::EmptyDir`] for a directory without stats files,
/// [`ErrorKind::NoMatch`] for a glob that matches nothing in a directory that has some, and
/// [`ErrorKind::Pattern`] for an invalid glob. A directory the glob cannot read gives an I/O
/// error, and a directory that fails [`check_dir`] is refused ([`ErrorKind::UntrustedDir`])
/// unless [`trust_dirs`] is on. No error stops the other patterns.
pub fn discover<S: AsRef<str>>(patterns: &[S]) -> (Vec<PathBuf>, Vec<ReadError>) {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    let patterns = or_default(patterns);
    let trust = TRUST_DIRS.load(Ordering::Relaxed);
    for pattern in patterns.iter().map(|p| &**p) {
        let as_path = Path::new(pattern);
        if is_jvm_dir(as_path) {
            let (found, errs) = discover(&[jvm_files_in(as_path)]);
            paths.extend(found);
            errors.extend(errs);
            continue;
        }
        let dir_glob;
        let pattern = match as_path.symlink_metadata() {
            Ok(md) if as_path.is_dir() && (md.is_dir() || md.is_symlink()) => {
                dir_glob = as_path.join("*.mmstats").to_string_lossy().into_owned();
                dir_glob.as_str()
            }
            Ok(_) => {
                paths.push(as_path.to_path_buf());
                continue;
            }
            Err(_) if !pattern.contains(['*', '?', '[']) => {
                errors.push(ReadError::new(pattern, ErrorKind::NotFound));
                continue;
            }
            Err(_) => pattern,
        };
        if let Err(e) = glob::Pattern::new(pattern) {
            errors.push(ReadError::new(pattern, ErrorKind::Pattern(e.to_string())));
            continue;
        }
        let dir = glob_dir(pattern);
        if !dir.is_dir() {
            errors.push(ReadError::new(dir, ErrorKind::NoDir));
            continue;
        }
        // Files are trusted by the directory that holds them: the glob's own directory, or,
        // when a directory part has a wildcard (`/tmp/hsperfdata_*/[0-9]*`), each directory
        // it matches (`/tmp` itself is everyone's; `/tmp/hsperfdata_<user>` is the user's).
        let per_match = Path::new(pattern)
            .parent()
            .is_some_and(|p| p.as_os_str().len() > dir.as_os_str().len());
        if !trust
            && !per_match
            && let Err(e) = check_dir(&dir)
        {
            errors.push(e);
            continue;
        }
        let mut checked: std::collections::HashMap<PathBuf, bool> = Default::default();
        match glob::glob(pattern) {
            Err(e) => errors.push(ReadError::new(pattern, ErrorKind::Pattern(e.to_string()))),
            Ok(entries) => {
                let before = paths.len();
                for entry in entries {
                    match entry {
                        Ok(p) if is_hidden(&p) => {}
                        Ok(p) if !trust && per_match => {
                            let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
                            let ok = *checked.entry(parent.clone()).or_insert_with(|| {
                                match check_dir(&parent) {
                                    Ok(()) => true,
                                    Err(e) => {
                                        errors.push(e);
                                        false
                                    }
                                }
                            });
                            if ok {
                                paths.push(p);
                            }
                        }
                        Ok(p) => paths.push(p),
                        Err(e) => {
                            let path = e.path().to_path_buf();
                            errors
                                .push(ReadError::new(path, ErrorKind::Io(std::io::Error::from(e))));
                        }
                    }
                }
                if paths.len() == before {
                    errors.push(nothing_found(&dir, pattern));
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

/// `patterns`, or the default glob (FORMAT.md §6.1) when there are none.
fn or_default<S: AsRef<str>>(patterns: &[S]) -> Vec<std::borrow::Cow<'_, str>> {
    if patterns.is_empty() {
        vec![default_glob().into()]
    } else {
        patterns.iter().map(|p| p.as_ref().into()).collect()
    }
}

/// The directories whose entries decide what [`discover`] finds for `patterns`, or `None` when
/// that is not known without listing (a glob with a wildcard in a directory part, such as
/// [`jvm_glob`]). A plain path depends on the entries of its parent, a directory or a
/// `hsperfdata_<user>` directory on its own, a glob on the directory before its first wildcard.
/// While none of them changed (their modification times, FORMAT.md §6.1), listing again finds
/// the same paths: names are only ever added, removed or replaced through a directory.
pub fn watched_dirs<S: AsRef<str>>(patterns: &[S]) -> Option<Vec<PathBuf>> {
    let patterns = or_default(patterns);
    let mut dirs = Vec::with_capacity(patterns.len());
    for pattern in patterns.iter().map(|p| &**p) {
        let path = Path::new(pattern);
        if !pattern.contains(['*', '?', '[']) {
            if path.is_dir() {
                dirs.push(path.to_path_buf());
            } else {
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
                dirs.push(parent.unwrap_or(Path::new(".")).to_path_buf());
            }
            continue;
        }
        let dir = glob_dir(pattern);
        let per_match = path
            .parent()
            .is_some_and(|p| p.as_os_str().len() > dir.as_os_str().len());
        if per_match {
            return None;
        }
        dirs.push(dir);
    }
    Some(dirs)
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
    let mut all: Vec<String> = or_default(patterns).into_iter().map(Into::into).collect();
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

/// Why a glob in the existing directory `dir` matched nothing: the directory holds no stats
/// files at all, or only others.
fn nothing_found(dir: &Path, pattern: &str) -> ReadError {
    let any_stats = std::fs::read_dir(dir).is_ok_and(|mut entries| {
        entries.any(|e| {
            e.is_ok_and(|e| {
                let name = e.file_name();
                let name = name.as_encoded_bytes();
                name.first() != Some(&b'.') && name.ends_with(b".mmstats")
            })
        })
    });
    if any_stats {
        ReadError::new(pattern, ErrorKind::NoMatch)
    } else {
        ReadError::new(dir, ErrorKind::EmptyDir)
    }
}

/// Whether the file name starts with `.` (temporary files being created, FORMAT.md §6.2).
fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

/// The `{CMD}` part of a file named by the default template `{CMD}-{PID}-{TID}.mmstats`
/// (FORMAT.md §6.1, [`names::command_of`]), if the name has that shape.
pub(crate) fn command_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    names::command_of(name).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_directory_is_trusted_by_the_directories_it_matches() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        // like /tmp: writable by everyone; the JVM's own directory inside it is private
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let own = tmp.path().join("hsperfdata_me");
        let open = tmp.path().join("hsperfdata_squat");
        for (d, mode) in [(&own, 0o700), (&open, 0o777)] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("123"), b"x").unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let glob = format!("{}/hsperfdata_*/[0-9]*", tmp.path().display());
        let (paths, errors) = discover(&[glob]);
        assert_eq!(paths, [own.join("123")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, open);
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
        assert!(paths.is_empty());
        assert!(matches!(errors[0].kind, ErrorKind::NoDir), "{errors:?}");
        assert_eq!(
            errors[0].to_string(),
            "/nonexistent-mmstats-dir: no such directory (has any instrumented program run yet?)"
        );
        let (paths, errors) = discover(&["/nonexistent-mmstats-dir/x.mmstats"]);
        assert!(paths.is_empty());
        assert!(matches!(&errors[0].kind, ErrorKind::NotFound));
        assert_eq!(
            errors[0].to_string(),
            "/nonexistent-mmstats-dir/x.mmstats: not found"
        );
    }

    #[test]
    fn empty_directories_and_globs_matching_nothing_say_which() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let (paths, errors) = discover(&[d.as_str()]);
        assert!(paths.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(matches!(errors[0].kind, ErrorKind::EmptyDir), "{errors:?}");
        assert_eq!(errors[0].path, dir.path());
        std::fs::write(dir.path().join("web-1-1.mmstats"), b"x").unwrap();
        let glob = format!("{d}/db-*.mmstats");
        let (paths, errors) = discover(&[glob.as_str()]);
        assert!(paths.is_empty());
        assert!(matches!(errors[0].kind, ErrorKind::NoMatch), "{errors:?}");
        assert_eq!(errors[0].to_string(), format!("{glob}: no files match"));
        // A directory argument means its stats files.
        let (paths, errors) = discover(&[d.as_str()]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(paths, [dir.path().join("web-1-1.mmstats")]);
    }

    #[test]
    fn squatted_directories_are_refused_unless_trusted() {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(distrust(1000, 0o40700, 1000), None);
        assert_eq!(distrust(0, 0o40755, 1000), None);
        assert_eq!(distrust(1001, 0o40700, 0), None, "root reads anyone's");
        assert!(
            distrust(1001, 0o40700, 1000)
                .unwrap()
                .contains("owned by uid 1001")
        );
        assert!(
            distrust(1000, 0o41777, 1000)
                .unwrap()
                .contains("writable by every user")
        );
        assert!(
            distrust(0, 0o41777, 1000).is_some(),
            "/tmp itself is not a stats dir"
        );
        // A directory another user made first with mode 1777 (here: ours, with that mode).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("planted.mmstats"), b"x").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let glob = format!("{}/*.mmstats", dir.path().display());
        let (paths, errors) = discover(&[glob.as_str()]);
        assert!(paths.is_empty(), "{paths:?}");
        assert!(matches!(errors[0].kind, ErrorKind::UntrustedDir(_)));
        let msg = errors[0].to_string();
        assert!(
            msg.starts_with(&dir.path().display().to_string())
                && msg.contains("writable by every user")
                && msg.contains("--trust-dir"),
            "{msg}"
        );
        trust_dirs(true);
        let (paths, errors) = discover(&[glob.as_str()]);
        trust_dirs(false);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(paths.len(), 1);
    }

    #[test]
    fn cmd_comes_from_the_file_name() {
        assert_eq!(
            command_from_file_name(Path::new("/x/web-server-12-34.mmstats")).as_deref(),
            Some("web-server")
        );
        assert_eq!(command_from_file_name(Path::new("/x/stats.mmstats")), None);
        assert_eq!(command_from_file_name(Path::new("/x/a-b-12.mmstats")), None);
    }
}
