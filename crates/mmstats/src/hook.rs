//! What a generated `local()` does with the error when it cannot publish: it hands it to the
//! error hook, then records into memory only.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::error::Error;

/// The hook set with [`set_error_hook`]; `None` for the default.
static HOOK: RwLock<Option<fn(&Error)>> = RwLock::new(None);

/// Sets the function that a generated `local()` calls with the reason whenever it cannot
/// create a thread's stats file (the stats directory is unusable, say) and falls back to
/// recording into memory only ([`crate::Stats::in_memory`]). It is called once for each
/// instance that falls back, from the thread that asked for it, and must not panic.
///
/// The default hook writes one line to standard error, the first time only in the process:
///
/// ```text
/// mmstats: stats of model web kept in memory only: /tmp/x: unsafe stats directory: ...
/// ```
///
/// ```
/// fn log(e: &mmstats::Error) {
///     // hand it to the program's own logger
///     let _ = e;
/// }
/// mmstats::set_error_hook(log);
/// ```
pub fn set_error_hook(hook: fn(&Error)) {
    *HOOK.write().unwrap_or_else(PoisonError::into_inner) = Some(hook);
}

/// Hands `error`, why the instance of `model` is kept in memory only, to the hook.
pub(crate) fn report(model: &str, error: &Error) {
    let hook = *HOOK.read().unwrap_or_else(PoisonError::into_inner);
    match hook {
        Some(hook) => hook(error),
        None => default_hook(model, error),
    }
}

/// One line on standard error, the first time only; a closed or full stderr is ignored.
fn default_hook(model: &str, error: &Error) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr(),
            "mmstats: stats of model {model} kept in memory only: {error}"
        );
    }
}
