//! A [`metrics`] recorder that publishes every counter, gauge and histogram of a program
//! instrumented with the `metrics` facade into mmstats files, where `slurpstats`, `pollstats`,
//! `mmash` and its `/metrics` read them like any other field.
//!
//! ```
//! # let tmp = tempfile::tempdir()?;
//! let recorder = mmstats_metrics::Builder::new()
//! #   .dir(tmp.path())
//!     .build();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("http_requests_total", "requests served");
//!     metrics::counter!("http_requests_total", "method" => "GET").increment(1);
//!     metrics::gauge!("queue_depth").set(3.0);
//!     metrics::histogram!("http_request_duration_seconds").record(0.0025);
//! });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a program, one line installs it as the global recorder: `mmstats_metrics::install()`.
//!
//! # Where values go
//!
//! `metrics` handles are `Sync` and used from any thread, while an mmstats file has one
//! writing thread. So a counter or histogram update goes to a field in **the calling thread's
//! own file**, found through a thread-local table indexed by the handle's number and
//! registered on the thread's first use of that handle: the update itself is the plain load and
//! store of an mmstats [`Counter`](mmstats::Counter), with no lock and no atomic
//! read-modify-write. When a thread ends, its file is folded into the process totals file
//! (FORMAT.md §6.4), so sums over the process never go back. Readers add a series over the
//! process's files.
//!
//! A gauge has one value for the whole process, whichever thread sets it, and
//! `Counter::absolute` one for the whole counter: both live in the process's **shared file**
//! (`{CMD}-{PID}-shared.mmstats`, [`mmstats::SharedGauge`], [`mmstats::SharedCounter`]),
//! updated with atomic stores and compare-and-swap.
//!
//! # Names, labels and units
//!
//! A key's name is the field's name as given (`http_requests_total` or `http.requests`; a
//! whitespace or NUL character, which FORMAT.md §3.3 does not allow in a name, becomes `_`), and
//! its labels are the field's label set (FORMAT.md §3.5), sorted; a label key that the format
//! does not allow has each bad character replaced by `_` (and `__` at its start by `_x_`).
//! Each family takes at most [`Builder::label_sets`] label sets; the series past the cap are
//! all counted in one overflow series of the family, labelled `mmstats_overflow="true"`.
//!
//! Units map to FORMAT.md units: [`metrics::Unit::Seconds`], `Milliseconds`, `Microseconds`
//! and `Nanoseconds` to themselves for gauges; `Bytes` and the binary multiples to `bytes`
//! (counters and gauges scaled by 1024ⁿ); `Percent` to `percent`; `Count` to none; rates to
//! their canonical label (`bps`, `Mbps`, shown but not converted). A metric's unit is fixed when its
//! name is first registered: describe it before then for the unit to apply.
//!
//! **Histograms** store integers (FORMAT.md §5.5). A histogram in a time unit, or without a
//! unit whose name ends in `_seconds` or `.seconds`, records nanoseconds: `0.0025` seconds is
//! stored as 2,500,000 ns, a resolution of 1 ns, and readers show seconds again. Any other
//! histogram records values rounded to the nearest integer in its unit (`bytes` × 1024ⁿ for
//! the binary multiples). Negative values count as 0, NaN is ignored, and values above
//! `u64::MAX` count as `u64::MAX`.
//!
//! # Descriptions
//!
//! `describe_*` may come before or after a metric is first used. Every field registered after
//! it carries its help text; for series already in use, the recorder publishes the help text on
//! a zero-valued field of the same series: in the shared file for counters and histograms whose
//! shared field is not registered yet, else (a gauge, which lives in the shared file from its
//! first update, or a counter already raised with `absolute`) in the process's descriptions
//! file (`{CMD}-{PID}-help.mmstats`). A published record never changes (FORMAT.md §7), so the
//! help is in the process's files either way, and readers take a family's help from any of its
//! fields; a zero adds nothing to any combination.
//!
//! # Failures
//!
//! Recording never panics and never blocks on another thread's update. If a thread's file
//! cannot be created (no usable stats directory) or is full ([`Builder::reserve`]), that
//! thread's updates of the affected series are dropped.

pub use mmstats::Reserve;
pub use recorder::{Builder, MmstatsRecorder, install};

mod files;
mod lane;
mod placement;
mod recorder;
mod series;
mod spec;
mod unit;
