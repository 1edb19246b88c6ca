//! Publish live metrics into memory-mapped files that separate tools read without touching
//! the program. Updating a counter costs a load and a store: no lock, no atomic
//! read-modify-write, no system call.
//!
//! Each [`Stats`](struct@Stats) object owns one file (usually one per thread), laid out as
//! `format-spec/FORMAT.md` describes. Fields are registered at any time; each registration
//! returns a handle that updates the field's value in place: [`Counter`], [`Gauge`], [`Text`],
//! [`Timestamp`].
//! Handles are `Send` but not `Sync`: one thread writes a file's fields, which is why an
//! increment needs no atomic read-modify-write. Each handle keeps its file published for as
//! long as it lives, even after its stats object is gone.
//!
//! Measuring kinds record values, and readers derive counts, means, rates and percentiles
//! from their slots with no extra work by the writer: [`Average`] (count and sum),
//! [`MovingAverage`] (the last N values), [`Histogram`] (log-linear buckets, percentiles within
//! 1.6%), [`Timer`] (a histogram of durations with a [`TimerGuard`]) and [`Windowed`] (rates
//! and means over the last minute that decay when the writer is idle). Each multi-word update
//! goes through a per-field sequence counter, so readers never see half of one.
//!
//! ```
//! use mmstats::{Options, Stats};
//! # let tmp = tempfile::tempdir()?;
//!
//! let stats = Stats::create(
//!     Options::new()
//!         .name("web")
//!         .prefix("web.stats.")
//! #       .dir(tmp.path())
//! )?;
//! let ok = stats.counter("status.2XX").help("responses with a 2xx status").register()?;
//! let busy = stats.gauge::<u32>("workers.busy").register()?;
//! let last = stats.text("last_path", 64).register()?;
//! let latency = stats.timer("latency", 100).register()?;
//! let sizes = stats.histogram("response.bytes").unit("bytes").register()?;
//! ok.incr(1);
//! busy.set(3);
//! last.set("/index.html");
//! {
//!     let _t = latency.start(); // records the elapsed time when dropped
//!     sizes.record(1500);
//! }
//! assert_eq!(ok.get(), 1);
//! assert_eq!(latency.count(), 1);
//! assert!(stats.path().exists());
//! let path = stats.path().to_path_buf();
//! drop(stats); // the handles keep the file published
//! ok.incr(1);
//! assert!(path.exists());
//! drop((ok, busy, last, latency, sizes)); // the last one marks the file closed and removes it
//! assert!(!path.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where files go
//!
//! `$MMSTATS_PATH` if set, else `$XDG_RUNTIME_DIR/mmstats`, else `/dev/shm/mmstats-<uid>`, else
//! `<temp dir>/mmstats-<uid>`; [`Options::dir`] overrides it. The directory is created with
//! mode 0700 if missing, and refused if it is a symlink, belongs to another user or is writable
//! by group or others. The name comes from `$MMSTATS_FILES` or [`Options::file_template`],
//! default `{CMD}-{PID}-{TID}.mmstats`. A file is built whole under a temporary name, locked,
//! preallocated and then renamed into place without ever replacing anything: an existing file
//! or a planted symlink is left untouched, and the file takes the next free name
//! (`web-7-7-2.mmstats`, up to `-16`; then [`Error::Exists`]).
//!
//! # Lifetime
//!
//! A file lives as long as its [`Stats`](struct@Stats) object or any of its handles: every
//! handle holds the file's mapping, so the one-line
//! `Stats::create(options)?.counter("hits").register()?` keeps publishing after the stats
//! object is dropped at the end of the statement. When the stats object and its last handle
//! are gone (or at [`Stats::close`], which reports errors, even while handles live), the file
//! is folded into the process totals if asked, marked `CLOSED`, removed unless
//! [`Options::keep`] was set, and its lock released. After a crash the file and its last
//! values stay readable; tools treat it as stale once its lock is free and its process gone.
//!
//! # A library that never hurts its host
//!
//! Recording never takes a lock or does I/O. A generated `local()` never fails:
//! if the thread's file cannot be created (the stats directory is a symlink, not a directory,
//! writable by others, or cannot be made), its instance records into memory only
//! ([`Stats::in_memory`]: the same handles at the same cost, over heap memory instead of a
//! mapping, so there is no branch per update) and the reason goes to the error hook, by
//! default one line on standard error, once per process; [`set_error_hook`] replaces it.
//! `try_local()` returns the error instead, for programs that would rather refuse to start.
//!
//! ```
//! #[derive(mmstats::StatsModel)]
//! struct Jobs {
//!     done: mmstats::Counter,
//! }
//!
//! let jobs = Jobs::local(); // publishes, or records into memory if it cannot
//! jobs.done.incr(1);
//! assert_eq!(jobs.done.get(), 1);
//! match Jobs::try_local() {
//!     Ok(jobs) => assert!(!jobs.stats().is_in_memory()),
//!     Err(e) => eprintln!("not publishing: {e}"),
//! }
//! ```
//!
//! # Models and threads
//!
//! A [`StatsModel`] (what `#[derive(StatsModel)]` implements; `#[derive(Stats)]` is its
//! earlier name) is a struct of handles registered
//! together. [`Instance::create`] gives a model a file of its own; a generated `local()`
//! function gives each thread its own instance through [`__private::LocalCell`]. When such a
//! thread ends, its counters, histograms, timers, averages and windows are added to a
//! per-process totals file (thread id 0, state `PROCESS`) before its file is removed, so sums
//! over a process's files never go backwards; [`Options::fold_totals`] asks the same of any
//! stats object. When the process exits, or calls [`remove_all`], the totals file and the files
//! of its threads still running are removed too.

pub use mmstats_derive::{Stats, StatsModel};
pub use mmstats_format::{Combine, FieldMeta, Kind, Reserve, ValueType};

pub use average::{Average, DEFAULT_WINDOW, MovingAverage, Numeric};
pub use decl::{FieldDecl, Handle};
pub use error::Error;
pub use handle::{Constant, ConstantText, Counter, Gauge, GaugeValue, Text, Timestamp};
pub use histogram::{Histogram, Timer, TimerGuard};
pub use hook::set_error_hook;
pub use model::{Instance, Local, StatsModel};
pub use options::{DEFAULT_LABEL_SETS, Options};
pub use shared::{SharedCounter, SharedGauge};
pub use stats::{Register, Stats};
pub use totals::remove_all;
pub use windowed::{DEFAULT_SLOTS, Windowed};

mod average;
mod create;
mod decl;
mod dir;
mod error;
mod handle;
mod histogram;
mod hook;
mod identity;
mod model;
mod options;
mod region;
mod seqlock;
mod shared;
mod stats;
mod totals;
mod windowed;

#[doc(hidden)]
pub mod __private {
    //! What generated code names. Not part of the public API.
    pub use crate::model::LocalCell;
    pub use crate::region::Slot;
    pub use crate::{FieldDecl, Handle, Stats};
    pub use std::thread_local;

    /// Adds the room one field of handle type `H` takes to `reserve` (derived
    /// `StatsModel::reserve`). A declaration `H` rejects adds only its strings.
    pub fn reserve_field<H: Handle>(reserve: &mut crate::Reserve, prefix: &str, decl: &FieldDecl) {
        let align8 = mmstats_format::layout::align8;
        reserve.fields += 1;
        let labels: usize = decl.labels.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        // The series key repeats the pairs, quoted and escaped: at most twice their bytes.
        let key_extra = if labels == 0 { 0 } else { 2 * labels + 2 };
        reserve.strings += align8(prefix.len() + decl.label.len() + key_extra)
            + align8(decl.help.len())
            + align8(decl.unit.len())
            + align8(labels);
        if let Some(len) = H::meta(decl).ok().and_then(|meta| meta.slot_length().ok()) {
            reserve.values += align8(len as usize);
        }
    }
}

/// The README's examples, compiled as doc tests so that they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
