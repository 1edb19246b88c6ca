//! Where stats files live and what they are called (FORMAT.md §6.1): the default directory, the
//! file name template and its expansion, and the program name a default file name carries. The
//! writer names its files with these and readers find and label files with them.
//!
//! ```
//! use mmstats_format::names;
//!
//! let none = |_: &str| None;
//! let dir = names::default_dir(none, true, 1000);
//! assert_eq!(dir, std::path::Path::new("/dev/shm/mmstats-1000"));
//! let name = names::expand(names::DEFAULT_TEMPLATE, "web", 7, 8, "model");
//! names::check_file_name(&name)?;
//! assert_eq!(name, "web-7-8.mmstats");
//! assert_eq!(names::command_of(&name), Some("web"));
//! # Ok::<(), mmstats_format::names::NameError>(())
//! ```

use std::ffi::OsString;
use std::path::PathBuf;

/// The variable naming the stats directory.
pub const PATH_VAR: &str = "MMSTATS_PATH";
/// The variable holding the file name template.
pub const FILES_VAR: &str = "MMSTATS_FILES";
/// The variable holding the glob readers find files with.
pub const GLOB_VAR: &str = "MMSTATS_GLOB";
/// The file name template when `$MMSTATS_FILES` is unset.
pub const DEFAULT_TEMPLATE: &str = "{CMD}-{PID}-{TID}.mmstats";
/// The file name ending readers look for by default.
pub const SUFFIX: &str = ".mmstats";
/// Longest file name a template may produce: room is left for the temporary name's dot, random
/// part and suffix within the 255 bytes a name may have.
pub const NAME_MAX: usize = 200;

/// The default stats directory (FORMAT.md §6.1): `$MMSTATS_PATH`; else
/// `$XDG_RUNTIME_DIR/mmstats`; else `/dev/shm/mmstats-<euid>` when `/dev/shm` is a directory
/// (`have_shm`); else `<temp dir>/mmstats-<euid>`. `var` reads an environment variable (pass
/// `|v| std::env::var_os(v)`); empty variables count as unset. `euid` is the process's effective user
/// id: the user that owns the files it creates, and that the directory must belong to.
pub fn default_dir(var: impl Fn(&str) -> Option<OsString>, have_shm: bool, euid: u32) -> PathBuf {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(PATH_VAR) {
        return dir.into();
    }
    if let Some(run) = var("XDG_RUNTIME_DIR") {
        return PathBuf::from(run).join("mmstats");
    }
    if have_shm {
        return PathBuf::from(format!("/dev/shm/mmstats-{euid}"));
    }
    std::env::temp_dir().join(format!("mmstats-{euid}"))
}

/// The file name template: `explicit` if given, else `files_var` (the value of
/// `$MMSTATS_FILES`) if not empty, else [`DEFAULT_TEMPLATE`].
pub fn template(explicit: Option<&str>, files_var: Option<String>) -> String {
    if let Some(t) = explicit {
        return t.to_string();
    }
    files_var
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| DEFAULT_TEMPLATE.to_string())
}

/// The template of a file of the whole process: the thread files' template with `part`
/// (`totals`, `shared`) for the thread id, or after the name when the template has no `{TID}`.
pub fn process_template(template: &str, part: &str) -> String {
    if template.contains("{TID}") {
        template.replace("{TID}", part)
    } else if let Some(stem) = template.strip_suffix(SUFFIX) {
        format!("{stem}-{part}{SUFFIX}")
    } else {
        format!("{template}-{part}")
    }
}

/// Why an expanded template is not a usable file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is a path, or holds a NUL byte.
    #[error("it contains '/' or NUL")]
    NotPlain,
    /// The name starts with a dot, and readers skip such names.
    #[error("it starts with '.', which readers skip")]
    Hidden,
    /// The name is longer than [`NAME_MAX`].
    #[error("it is longer than {NAME_MAX} bytes")]
    TooLong,
}

/// Expands a file name template: `{CMD}` (the program name), `{PID}`, `{TID}` and `{NAME}`
/// (the stats model's name). A writer checks the result with [`check_file_name`].
pub fn expand(template: &str, cmd: &str, pid: u32, tid: u32, name: &str) -> String {
    template
        .replace("{CMD}", cmd)
        .replace("{PID}", &pid.to_string())
        .replace("{TID}", &tid.to_string())
        .replace("{NAME}", name)
}

/// Checks a stats file's name: not empty, no `/` or NUL, no leading dot (readers skip those),
/// at most [`NAME_MAX`] bytes.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains(['/', '\0']) {
        return Err(NameError::NotPlain);
    }
    if name.starts_with('.') {
        return Err(NameError::Hidden);
    }
    if name.len() > NAME_MAX {
        return Err(NameError::TooLong);
    }
    Ok(())
}

/// The `{CMD}` part of a file named by the default template, `{CMD}-{PID}-{TID}.mmstats` (any
/// ending): `None` for names of another shape.
pub fn command_of(file_name: &str) -> Option<&str> {
    let stem = match file_name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file_name,
    };
    let mut parts = stem.rsplitn(3, '-');
    let tid = parts.next()?;
    let pid = parts.next()?;
    let cmd = parts.next()?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(tid) && numeric(pid) && !cmd.is_empty()).then_some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_follows_the_precedence() {
        let vars = |path: &'static str, xdg: &'static str| {
            move |name: &str| match name {
                PATH_VAR => Some(OsString::from(path)),
                "XDG_RUNTIME_DIR" => Some(OsString::from(xdg)),
                _ => None,
            }
        };
        assert_eq!(
            default_dir(vars("/a", "/run/user/1"), true, 7),
            PathBuf::from("/a")
        );
        assert_eq!(
            default_dir(vars("", "/run/user/1"), true, 7),
            PathBuf::from("/run/user/1/mmstats")
        );
        assert_eq!(
            default_dir(|_: &str| None, true, 7),
            PathBuf::from("/dev/shm/mmstats-7")
        );
        assert_eq!(
            default_dir(vars("", ""), false, 7),
            std::env::temp_dir().join("mmstats-7")
        );
    }

    #[test]
    fn templates_expand() {
        let n = expand(DEFAULT_TEMPLATE, "web", 1, 2, "m");
        assert_eq!(n, "web-1-2.mmstats");
        let n = expand("{NAME}.{PID}.{TID}.{CMD}.mmstats", "c", 3, 4, "model");
        assert_eq!(n, "model.3.4.c.mmstats");
        assert_eq!(template(None, Some(String::new())), DEFAULT_TEMPLATE);
        assert_eq!(template(None, Some("{NAME}".into())), "{NAME}");
        assert_eq!(template(Some("x"), Some("{NAME}".into())), "x");
    }

    #[test]
    fn bad_names_are_refused() {
        for t in ["", "../x", "a/b", ".hidden", "{NAME}"] {
            assert!(check_file_name(&expand(t, "c", 1, 2, "")).is_err(), "{t:?}");
        }
        assert_eq!(check_file_name(&"x".repeat(201)), Err(NameError::TooLong));
        assert_eq!(check_file_name(&"x".repeat(200)), Ok(()));
    }

    #[test]
    fn process_files_replace_the_thread_id() {
        assert_eq!(
            process_template("{CMD}-{PID}-{TID}.mmstats", "totals"),
            "{CMD}-{PID}-totals.mmstats"
        );
        assert_eq!(
            process_template("{NAME}.mmstats", "totals"),
            "{NAME}-totals.mmstats"
        );
        assert_eq!(process_template("x", "totals"), "x-totals");
    }

    #[test]
    fn the_command_comes_from_default_names_only() {
        assert_eq!(command_of("web-server-12-13.mmstats"), Some("web-server"));
        assert_eq!(command_of("web-12-13"), Some("web"));
        assert_eq!(command_of("web-12-totals.mmstats"), None);
        assert_eq!(command_of("-12-13.mmstats"), None);
        assert_eq!(command_of("model.mmstats"), None);
    }
}
