//! The process-wide limit on open files.

/// Raises this process's soft limit on open files to its hard limit, so that a reader's
/// `Scanner`, which keeps one descriptor and one mapping per file, can watch thousands of
/// files (the default soft limit is often 1,024); returns the limit now in force. Every tool
/// calls it once at startup (through [`crate::main`]); a library never changes it behind its
/// caller's back.
pub fn raise_open_file_limit() -> std::io::Result<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(soft.max(hard))
}
