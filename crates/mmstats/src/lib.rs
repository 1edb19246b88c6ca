//! Publish live metrics into memory-mapped files that separate tools read without touching
//! the program. Updating a counter costs a load and a store: no lock, no atomic
//! read-modify-write, no system call.
//!
//! API SKELETON: signatures are the contract; bodies are being written.
//!
//! ```no_run
//! use mmstats::{Options, Stats};
//!
//! let stats = Stats::create(Options::new().name("web").prefix("web.stats."))?;
//! let ok = stats.counter("status.2XX").help("responses with a 2xx status").register()?;
//! ok.incr(1);
//! # Ok::<(), mmstats::Error>(())
//! ```

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

pub use mmstats_derive::Stats;
pub use mmstats_format::{Combine, FieldMeta, Kind, Reserve, ValueType};

/// Why stats could not be created or a field registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stats directory is unsafe to use (symlink, wrong owner, writable by others).
    #[error("{path}: unsafe stats directory: {why}")]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The target file name already exists; the writer never replaces a file it did not create.
    #[error("{0}: already exists; refusing to replace it")]
    Exists(PathBuf),
    /// A field cannot be added (bad label, capacity used up, duplicate label).
    #[error(transparent)]
    Format(#[from] mmstats_format::FormatError),
}

/// How and where to create a stats file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    name: String,
}

impl Options {
    /// Defaults: directory from `$MMSTATS_PATH` or the per-user tmpfs directory, name template
    /// from `$MMSTATS_FILES` or `{CMD}-{PID}-{TID}.mmstats`, mode 0644, removed on drop.
    pub fn new() -> Options {
        Options::default()
    }
    /// The model's name, for `{NAME}` in the file name template.
    pub fn name(self, name: &str) -> Options {
        let _ = name;
        todo!()
    }
    /// Prepended to every label registered through this stats object.
    pub fn prefix(self, prefix: &str) -> Options {
        let _ = prefix;
        todo!()
    }
    /// The directory to create the file in.
    pub fn dir(self, dir: impl Into<PathBuf>) -> Options {
        let _ = dir.into();
        todo!()
    }
    /// The file name template (`{CMD}`, `{PID}`, `{TID}`, `{NAME}` expand).
    pub fn file_template(self, template: &str) -> Options {
        let _ = template;
        todo!()
    }
    /// File permission bits (default 0o644).
    pub fn mode(self, mode: u32) -> Options {
        let _ = mode;
        todo!()
    }
    /// Keep the file when the stats object is dropped, for post-mortem reading.
    pub fn keep(self, keep: bool) -> Options {
        let _ = keep;
        todo!()
    }
    /// Room for fields registered after creation (FORMAT.md §7).
    pub fn reserve(self, reserve: Reserve) -> Options {
        let _ = reserve;
        todo!()
    }
}

/// A stats file and the right to register fields in it.
#[derive(Debug)]
pub struct Stats {
    path: PathBuf,
}

/// A field being declared: label, help, unit and kind-specific sizes.
#[derive(Debug, Clone, Default)]
pub struct FieldDecl {
    /// Label (the stats object's prefix is prepended).
    pub label: String,
    /// One-line help text.
    pub help: String,
    /// Unit (FORMAT.md §3.3).
    pub unit: String,
    /// Combine rule; `None` for the kind's default.
    pub combine: Option<Combine>,
    /// Text capacity in bytes, moving-average or timer window, windowed slot count.
    pub capacity: Option<u32>,
}

/// A handle type that can be registered: it says what field it needs and binds to its slot.
/// Implemented by every handle; the derive macro calls it generically.
pub trait Handle: Sized {
    /// The metadata for this declaration.
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error>;
    /// Binds to the registered slot.
    #[doc(hidden)]
    fn bind(slot: __private::Slot) -> Self;
}

/// Fluent registration of one field: `stats.counter("hits").help("...").register()?`.
#[derive(Debug)]
pub struct Register<'a, H> {
    stats: &'a Stats,
    decl: FieldDecl,
    _h: PhantomData<H>,
}

impl<H: Handle> Register<'_, H> {
    /// Sets the help text.
    pub fn help(mut self, help: &str) -> Self {
        self.decl.help = help.into();
        self
    }
    /// Sets the unit.
    pub fn unit(mut self, unit: &str) -> Self {
        self.decl.unit = unit.into();
        self
    }
    /// Overrides the combine rule.
    pub fn combine(mut self, rule: Combine) -> Self {
        self.decl.combine = Some(rule);
        self
    }
    /// Adds the field to the file and returns its handle.
    pub fn register(self) -> Result<H, Error> {
        self.stats.register(self.decl)
    }
}

impl Stats {
    /// Creates the file (FORMAT.md §6.2) with the `sys.*` fields.
    pub fn create(options: Options) -> Result<Stats, Error> {
        let _ = options;
        todo!()
    }
    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Registers a field of any handle type.
    pub fn register<H: Handle>(&self, decl: FieldDecl) -> Result<H, Error> {
        let _ = decl;
        todo!()
    }
    /// Declares a counter.
    pub fn counter(&self, label: &str) -> Register<'_, Counter> {
        self.declare(label)
    }
    /// Declares a gauge of type `T`.
    pub fn gauge<T: GaugeValue>(&self, label: &str) -> Register<'_, Gauge<T>> {
        self.declare(label)
    }
    /// Declares a text field of `capacity` bytes.
    pub fn text(&self, label: &str, capacity: u32) -> Register<'_, Text> {
        let mut r = self.declare(label);
        r.decl.capacity = Some(capacity);
        r
    }
    /// Adds a constant, set once now.
    pub fn constant<T: GaugeValue>(&self, label: &str, value: T) -> Result<(), Error> {
        let _ = (label, value);
        todo!()
    }
    /// Adds a text constant, set once now.
    pub fn constant_text(&self, label: &str, value: &str) -> Result<(), Error> {
        let _ = (label, value);
        todo!()
    }
    /// msyncs the file.
    pub fn flush(&self) -> Result<(), Error> {
        todo!()
    }
    /// Marks the file closed and removes it (unless kept), reporting errors that drop hides.
    pub fn close(self) -> Result<(), Error> {
        todo!()
    }
    fn declare<H: Handle>(&self, label: &str) -> Register<'_, H> {
        Register {
            stats: self,
            decl: FieldDecl {
                label: label.into(),
                ..FieldDecl::default()
            },
            _h: PhantomData,
        }
    }
}

/// Types a gauge or constant can hold: integers of 8 to 64 bits, `f32`, `f64`, `bool`.
pub trait GaugeValue: Copy + Send + 'static + sealed::Sealed {
    /// The stored type.
    const TYPE: ValueType;
}

mod sealed {
    pub trait Sealed {}
}

/// A counter. `Send` but not `Sync`: one thread owns it, which is why `incr` is a load and a
/// store, not an atomic read-modify-write.
#[derive(Debug)]
pub struct Counter {
    _slot: __private::Slot,
}

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn incr(&self, n: u64) {
        let _ = n;
        todo!()
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        todo!()
    }
}

/// A gauge of type `T`.
#[derive(Debug)]
pub struct Gauge<T> {
    _slot: __private::Slot,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> Gauge<T> {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: T) {
        let _ = v;
        todo!()
    }
    /// The current value.
    pub fn get(&self) -> T {
        todo!()
    }
}

/// A text field of fixed capacity; longer text is truncated on a character boundary.
#[derive(Debug)]
pub struct Text {
    _slot: __private::Slot,
}

impl Text {
    /// Sets the text.
    pub fn set(&self, text: &str) {
        let _ = text;
        todo!()
    }
}

#[doc(hidden)]
pub mod __private {
    //! What generated code names. Not part of the public API.
    pub use crate::{FieldDecl, Handle, Stats};

    /// A field's value slot in a mapping.
    #[derive(Debug)]
    pub struct Slot {}

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

    /// Per-thread storage for one model type, declared by generated `local()` functions
    /// inside `thread_local!`. Creates the thread's instance on first use; when the thread
    /// exits, folds its counters into the process totals and removes its file.
    #[derive(Debug)]
    pub struct LocalCell<M: crate::StatsModel> {
        _m: std::marker::PhantomData<M>,
    }

    impl<M: crate::StatsModel> LocalCell<M> {
        /// An empty cell (usable in `thread_local!`).
        pub const fn new() -> Self {
            LocalCell {
                _m: std::marker::PhantomData,
            }
        }
        /// The thread's instance, created on first use with default options and `M::PREFIX`.
        /// Panics only if the file cannot be created, with the reason.
        pub fn get(&self) -> crate::Local<M> {
            todo!()
        }
    }
}

/// The calling thread's instance of a model (from `Model::local()`): derefs to the handles.
/// Cheap to get again; not `Send`, because it belongs to its thread.
#[derive(Debug)]
pub struct Local<M> {
    inner: std::rc::Rc<Instance<M>>,
}

impl<M> std::ops::Deref for Local<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.inner.model
    }
}

impl Handle for Counter {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let _ = decl;
        todo!()
    }
    fn bind(slot: __private::Slot) -> Self {
        Counter { _slot: slot }
    }
}

impl<T: GaugeValue> Handle for Gauge<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let _ = decl;
        todo!()
    }
    fn bind(slot: __private::Slot) -> Self {
        Gauge {
            _slot: slot,
            _t: PhantomData,
        }
    }
}

impl Handle for Text {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let _ = decl;
        todo!()
    }
    fn bind(slot: __private::Slot) -> Self {
        Text { _slot: slot }
    }
}

/// A struct of handles that registers all its fields at once: what `#[derive(Stats)]`
/// implements.
pub trait StatsModel: Sized + 'static {
    /// The model's name, for `{NAME}` in file names (the struct's name in snake case unless
    /// `#[stats(name = "...")]`).
    const NAME: &'static str;
    /// The label prefix from `#[stats(prefix = "...")]`, prepended before the options' prefix.
    const PREFIX: &'static str;
    /// Registers every field in `stats` and returns the handles.
    fn register_all(stats: &Stats) -> Result<Self, Error>;
    /// The room the model's fields need, so creation reserves enough (FORMAT.md §7).
    fn reserve() -> Reserve;
}

/// A model bound to its own stats file: derefs to the model's handles. Dropping it removes
/// the file (unless kept).
#[derive(Debug)]
pub struct Instance<M> {
    model: M,
    stats: Stats,
}

impl<M: StatsModel> Instance<M> {
    /// Creates a file for the model with `options` and registers its fields.
    pub fn create(options: Options) -> Result<Instance<M>, Error> {
        let _ = options;
        todo!()
    }
    /// The underlying stats object, to add fields at run time.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl<M> std::ops::Deref for Instance<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}
