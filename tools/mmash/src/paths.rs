//! Resolving file names and globs from requests inside the configured stats directories only.
//!
//! A request's glob is rejected (HTTP 400) if it is empty, absolute, has a `..` component or a
//! NUL byte, or if any file it matches resolves (through symlinks) outside every directory.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Why a request's glob was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PathError {}

/// The stats directories and the glob of files to read in each.
#[derive(Debug, Clone)]
pub struct Roots {
    dirs: Vec<PathBuf>,
    glob: String,
    /// Also every HotSpot JVM's performance data file (`hsperfdata_<user>/<pid>` in the
    /// temporary directory).
    jvm: bool,
}

/// Checks that a relative glob cannot leave the directory it is joined to.
pub fn check_relative(pattern: &str) -> Result<(), PathError> {
    if pattern.is_empty() {
        return Err(PathError("empty pattern".into()));
    }
    if pattern.contains('\0') {
        return Err(PathError("pattern contains NUL".into()));
    }
    let p = Path::new(pattern);
    for c in p.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(PathError("`..` is not allowed".into())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(PathError("absolute paths are not allowed".into()));
            }
        }
    }
    glob::Pattern::new(pattern).map_err(|e| PathError(format!("bad pattern: {e}")))?;
    Ok(())
}

impl Roots {
    /// Directories (each must exist) and the file glob used inside each.
    pub fn new(dirs: Vec<PathBuf>, glob: &str) -> Result<Roots, PathError> {
        for d in &dirs {
            d.canonicalize()
                .map_err(|e| PathError(format!("{}: {e}", d.display())))?;
        }
        Roots::new_lenient(dirs, glob)
    }

    /// Like [`Roots::new`] but directories may not exist yet (a writer creates the default
    /// one when it starts): they are resolved at each request.
    pub fn new_lenient(dirs: Vec<PathBuf>, glob: &str) -> Result<Roots, PathError> {
        check_relative(glob)?;
        Ok(Roots {
            dirs,
            glob: glob.to_string(),
            jvm: false,
        })
    }

    /// The same roots with every JVM's performance data file added.
    pub fn with_jvms(mut self) -> Roots {
        self.jvm = true;
        self
    }

    /// The JVMs' directories now (`hsperfdata_<user>` in the temporary directory), if JVMs
    /// are served.
    fn jvm_dirs(&self) -> Vec<PathBuf> {
        if !self.jvm {
            return Vec::new();
        }
        let tmp = glob::Pattern::escape(&std::env::temp_dir().to_string_lossy());
        glob::glob(&format!("{tmp}/hsperfdata_*"))
            .map(|paths| paths.flatten().filter(|p| p.is_dir()).collect())
            .unwrap_or_default()
    }

    /// The patterns a scanner reads: each directory joined with the glob.
    pub fn patterns(&self) -> Vec<String> {
        let mut p: Vec<String> = self
            .dirs
            .iter()
            .map(|d| d.join(&self.glob).to_string_lossy().into_owned())
            .collect();
        if self.jvm {
            p.push(mmstats_reader::jvm_glob());
        }
        p
    }

    /// The glob of files read in each directory.
    pub fn glob(&self) -> &str {
        &self.glob
    }

    /// The configured directories.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(PathBuf::as_path)
    }

    /// True if `path` (as a scanner found it) is, after following every symlink, inside one
    /// of the directories. Files a symlink takes elsewhere are never served.
    pub fn contains(&self, path: &Path) -> bool {
        let plain = std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_symlink());
        if plain
            && path
                .parent()
                .is_some_and(|p| self.dirs.iter().any(|d| d == p))
        {
            return true;
        }
        let Ok(real) = path.canonicalize() else {
            return false;
        };
        self.dirs
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .any(|canon| real.starts_with(canon))
    }

    /// The files a request's glob names in any directory (paths as the scanner sees them).
    ///
    /// A match that a symlink takes outside every directory (or nowhere) is left out, so one
    /// bad link does not spoil a glob over the whole directory; only a pattern without
    /// wildcards that names such a file is refused, and the message names the pattern, never
    /// where the link leads.
    /// In a JVMs' directory only files named by a pid count, and the directories' own glob
    /// names all of them.
    pub fn resolve(&self, pattern: &str) -> Result<HashSet<PathBuf>, PathError> {
        check_relative(pattern)?;
        let literal = !pattern.contains(['*', '?', '[']);
        let mut out = HashSet::new();
        let mut refused = false;
        let jvm_dirs = self.jvm_dirs();
        for (dir, jvm) in self
            .dirs
            .iter()
            .map(|d| (d, false))
            .chain(jvm_dirs.iter().map(|d| (d, true)))
        {
            let pattern = if jvm && pattern == self.glob {
                "[0-9]*"
            } else {
                pattern
            };
            // a directory that does not exist (yet) has no files
            let Ok(canon) = dir.canonicalize() else {
                continue;
            };
            let full = dir.join(pattern);
            let paths = glob::glob(&full.to_string_lossy())
                .map_err(|e| PathError(format!("bad pattern: {e}")))?;
            for p in paths.flatten() {
                let pid_named = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if jvm && !pid_named {
                    continue;
                }
                match p.canonicalize() {
                    Ok(real) if real.starts_with(&canon) => {
                        out.insert(p);
                    }
                    _ => refused = true,
                }
            }
        }
        if literal && refused && out.is_empty() {
            return Err(PathError(format!(
                "{pattern} resolves outside the stats directories (or nowhere)"
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused() {
        for bad in ["", "../x", "a/../../b", "/etc/passwd", "a\0b", "[", "./.."] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
        for good in ["*.mmstats", "web-*", "sub/x.mmstats", "./a"] {
            assert!(check_relative(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn resolves_inside_and_refuses_symlinks_out() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("x-1-1.mmstats"), b"").unwrap();
        std::fs::write(b.path().join("y-2-2.mmstats"), b"").unwrap();
        std::fs::write(outside.path().join("secret"), b"").unwrap();
        let roots = Roots::new(vec![a.path().into(), b.path().into()], "*.mmstats").unwrap();
        assert_eq!(roots.patterns().len(), 2);
        let got = roots.resolve("*-*.mmstats").unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.contains(&a.path().join("x-1-1.mmstats")));
        assert_eq!(roots.resolve("nothing*").unwrap().len(), 0);
        std::os::unix::fs::symlink(outside.path().join("secret"), a.path().join("evil")).unwrap();
        let err = roots.resolve("evil").unwrap_err();
        assert!(err.0.contains("outside"), "{err}");
        assert!(!err.0.contains(&*outside.path().to_string_lossy()), "{err}");
        assert!(!roots.contains(&a.path().join("evil")));
        assert!(roots.contains(&a.path().join("x-1-1.mmstats")));
        // One bad link does not spoil a glob over the whole directory, and is left out.
        let all = roots.resolve("*").unwrap();
        assert!(all.contains(&a.path().join("x-1-1.mmstats")));
        assert!(!all.contains(&a.path().join("evil")));
        // A link to a directory outside: its files are neither listed nor named.
        std::os::unix::fs::symlink(outside.path(), a.path().join("sub")).unwrap();
        assert!(roots.resolve("sub/*").unwrap().is_empty());
        let err = roots.resolve("sub/secret").unwrap_err();
        assert_eq!(
            err.0,
            "sub/secret resolves outside the stats directories (or nowhere)"
        );
        // a symlink that stays inside is fine
        std::os::unix::fs::symlink(a.path().join("x-1-1.mmstats"), a.path().join("ok")).unwrap();
        assert_eq!(roots.resolve("ok").unwrap().len(), 1);
        // a directory created later is found then
        let later = a.path().join("later");
        assert!(Roots::new(vec![later.clone()], "*").is_err());
        let lenient = Roots::new_lenient(vec![later.clone()], "*").unwrap();
        assert!(lenient.resolve("*").unwrap().is_empty());
        std::fs::create_dir(&later).unwrap();
        std::fs::write(later.join("z"), b"").unwrap();
        assert_eq!(lenient.resolve("*").unwrap().len(), 1);
    }
}
