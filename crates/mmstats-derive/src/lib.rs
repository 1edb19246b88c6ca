//! The `#[derive(StatsModel)]` macro of mmstats: it implements `mmstats::StatsModel`. Use it
//! through the `mmstats` crate, which re-exports it as `mmstats::StatsModel` (and under its
//! earlier name, `mmstats::Stats`); this crate is an implementation detail.
//!
//! A struct of handle fields declares a whole stats file at once:
//!
//! ```
//! use mmstats::{Counter, Gauge, StatsModel, Text};
//!
//! #[derive(mmstats::StatsModel)]
//! #[stats(prefix = "web.stats.", name = "web")]
//! struct WebStats {
//!     #[stat(label = "status.2XX", help = "responses with a 2xx status")]
//!     status2xx: Counter,
//!     /// When the last request arrived.
//!     #[stat(label = "timers.last_hit", unit = "seconds")]
//!     last_hit: Gauge<f64>,
//!     #[stat(capacity = 64)]
//!     build: Text,
//! }
//!
//! // A file of its own per instance, or one per thread:
//! fn serve() -> Result<(), mmstats::Error> {
//!     let stats = WebStats::create(mmstats::Options::new())?;
//!     stats.status2xx.incr(1);
//!     WebStats::local().build.set("v1.2.3");
//!     Ok(())
//! }
//! # let _ = serve;
//!
//! assert_eq!(WebStats::NAME, "web");
//! assert_eq!(WebStats::PREFIX, "web.stats.");
//! ```
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

mod attr;
mod expand;

/// Derives `mmstats::StatsModel` for a struct whose fields are handle types (`Counter`,
/// `Gauge<T>`, `Text`, ... : any type implementing `mmstats::Handle`), and adds three functions:
///
/// - `pub fn create(options: mmstats::Options) -> Result<mmstats::Instance<Self>, mmstats::Error>`:
///   a stats file for this model, with every field registered.
/// - `pub fn local() -> mmstats::Local<Self>`: the calling thread's instance, in a file of the
///   thread's own, created on first use. It never fails: if the file cannot be created (an
///   unusable stats directory), the instance records into memory only and the reason goes to
///   `mmstats::set_error_hook`'s hook (by default one line on standard error, once per process).
/// - `pub fn try_local() -> Result<mmstats::Local<Self>, mmstats::Error>`: the same instance,
///   or why its file cannot be created.
///
/// # Struct attributes: `#[stats(...)]`
///
/// | option | meaning |
/// |---|---|
/// | `prefix = "web.stats."` | prepended to every label (`StatsModel::PREFIX`) |
/// | `name = "web"` | the model's name, for `{NAME}` in file names (`StatsModel::NAME`); default: the struct's name in snake case |
/// | `crate = "path::to::mmstats"` | where the mmstats crate is, if it is renamed or re-exported; default `::mmstats` |
///
/// # Field attributes: `#[stat(...)]`
///
/// | option | meaning |
/// |---|---|
/// | `label = "status.2XX"` | the field's label; default: the field's name |
/// | `help = "..."` | one-line help; default: the first paragraph of the field's doc comment |
/// | `unit = "seconds"` | the unit (FORMAT.md §3.3) |
/// | `combine = "sum"` | how tools combine the field across files: `none`, `sum`, `max`, `min`, `avg`, `last`; default: the handle kind's rule |
/// | `window = N` | the window of a moving average or timer, or the slot count of a windowed field |
/// | `capacity = N` | the capacity in bytes of a text field, or the slot count of a windowed one (same setting as `window`; give one) |
/// | `width = N` | the slot width in seconds of a windowed field (1 to 3600; default 1) |
/// | `skip` | not a stat: the field is not registered and starts as `Default::default()` |
///
/// The macro checks at compile time, reporting every problem at once: unknown options, values
/// of the wrong type, empty labels or labels with whitespace, labels used twice, unknown
/// combine rules, `window` together with `capacity`, and inputs that are not structs with
/// named fields or are generic. A field whose type is not a handle fails to compile with an
/// error naming the `Handle` trait at the field's type. Each field's kind-specific checks
/// (for instance, that a text field has a capacity) are the handle's own and happen when the
/// file is created.
#[proc_macro_derive(StatsModel, attributes(stats, stat))]
pub fn derive_stats_model(input: TokenStream) -> TokenStream {
    derive_stats(input)
}

/// The earlier name of [`macro@StatsModel`], which it is in every respect: `#[derive(Stats)]`
/// implements `mmstats::StatsModel` (not the `mmstats::Stats` struct).
#[proc_macro_derive(Stats, attributes(stats, stat))]
pub fn derive_stats(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match attr::parse(&input) {
        Ok(model) => expand::expand(&model).into(),
        Err(errors) => errors.to_compile_error().into(),
    }
}
