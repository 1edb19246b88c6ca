//! Publish live metrics into memory-mapped files that separate tools read without touching
//! the program. Updating a counter costs a load and a store: no lock, no atomic
//! read-modify-write, no system call.
//!
//! Each [`Stats`] object owns one file (usually one per thread), laid out as
//! `format-spec/FORMAT.md` describes. Fields are registered at any time; each registration
//! returns a handle ([`Counter`], [`Gauge`], [`Text`]) that updates the field's value in place.
//! Handles are `Send` but not `Sync`: one thread writes a file's fields, which is why an
//! increment needs no atomic read-modify-write.
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
//! ok.incr(1);
//! busy.set(3);
//! last.set("/index.html");
//! assert_eq!(ok.get(), 1);
//! assert!(stats.path().exists());
//! let path = stats.path().to_path_buf();
//! drop(stats); // marks the file closed and removes it
//! assert!(!path.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where files go: `$MMSTATS_PATH` if set, else `$XDG_RUNTIME_DIR/mmstats`, else
//! `/dev/shm/mmstats-<uid>`, else `<temp dir>/mmstats-<uid>`; the name comes from
//! `$MMSTATS_FILES`, default `{CMD}-{PID}-{TID}.mmstats`. [`Options`] overrides both.

pub use mmstats_derive::Stats;
pub use mmstats_format::{Combine, FieldMeta, Kind, Reserve, ValueType};

pub use decl::{FieldDecl, Handle, Register};
pub use error::Error;
pub use handle::{Counter, Gauge, GaugeValue, Text};
pub use model::{Instance, Local, StatsModel};
pub use options::Options;
pub use stats::Stats;

mod create;
mod decl;
mod dir;
mod error;
mod handle;
mod identity;
mod model;
mod options;
mod region;
mod seqlock;
mod stats;

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
        reserve.strings += align8(prefix.len() + decl.label.len())
            + align8(decl.help.len())
            + align8(decl.unit.len());
        if let Some(len) = H::meta(decl).ok().and_then(|meta| meta.slot_length().ok()) {
            reserve.values += align8(len as usize);
        }
    }
}
