//! Who is writing: the identity recorded in every file's header (FORMAT.md §2.1, §6.3).

use std::time::{SystemTime, UNIX_EPOCH};

use mmstats_format::{Identity, parse_boot_id, parse_start_time};

/// The writing library's name and version, stored in the header and in `sys.version`.
pub(crate) const WRITER: &str = concat!("mmstats-rust ", env!("CARGO_PKG_VERSION"));

/// The calling thread's identity, with the creation time set to now.
pub(crate) fn current() -> Identity {
    let created_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Identity {
        pid: std::process::id(),
        tid: nix::unistd::gettid().as_raw() as u32,
        start_time: std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| parse_start_time(&s))
            .unwrap_or(0),
        boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .and_then(|s| parse_boot_id(&s))
            .unwrap_or([0; 16]),
        created_ns,
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        writer: WRITER.to_string(),
    }
}

/// The program's name for `{CMD}`: the last component of `argv[0]`, else `/proc/self/comm`,
/// made safe for a file name that readers do not skip.
pub(crate) fn command() -> String {
    sanitize(&raw_command())
}

/// Replaces characters a file name cannot hold (`/`, NUL) and leading dots with `_`.
fn sanitize(cmd: &str) -> String {
    let mut out: String = cmd
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let dots = out.len() - out.trim_start_matches('.').len();
    out.replace_range(..dots, &"_".repeat(dots));
    out
}

fn raw_command() -> String {
    let from_args = std::env::args_os().next().and_then(|a| {
        std::path::Path::new(&a)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    from_args
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/self/comm")
                .ok()
                .map(|s| s.trim_end().to_string())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_made_safe_for_file_names() {
        assert_eq!(sanitize("web"), "web");
        assert_eq!(sanitize(".hidden"), "_hidden");
        assert_eq!(sanitize("..x.y"), "__x.y");
        assert_eq!(sanitize("a\0b"), "a_b");
        assert!(!command().is_empty());
    }

    #[test]
    fn current_identity_names_this_thread() {
        let id = current();
        assert_eq!(id.pid, std::process::id());
        assert_ne!(id.tid, 0);
        assert!(id.created_ns > 0);
        assert!(id.start_time > 0, "/proc/self/stat should be readable");
        assert!(id.writer.starts_with("mmstats-rust "));
        let other = std::thread::spawn(current).join().unwrap();
        assert_ne!(other.tid, id.tid);
    }
}
