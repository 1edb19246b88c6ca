//! Who is writing: the identity recorded in every file's header (FORMAT.md §2.1, §6.3).

use std::time::{SystemTime, UNIX_EPOCH};

use mmstats_format::{Identity, parse_boot_id};

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
            .and_then(|s| start_time(&s))
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

/// Field 22 (`starttime`) of a `/proc/<pid>/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so fields are counted from the
/// last `)`.
pub(crate) fn start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the `)` come fields 3 (state), 4, ...: field 22 is the 20th.
    rest.split_ascii_whitespace().nth(22 - 3)?.parse().ok()
}

/// The program's name for `{CMD}`: the last component of `argv[0]`, else `/proc/self/comm`.
pub(crate) fn command() -> String {
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
    fn start_time_is_field_22_even_with_odd_command_names() {
        let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21";
        assert_eq!(start_time(&format!("42 (web) {tail}")), Some(987654));
        assert_eq!(start_time(&format!("42 (a b) c) (d) {tail}")), Some(987654));
        assert_eq!(start_time("42 (web) S 1 2"), None);
        assert_eq!(start_time("garbage"), None);
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
