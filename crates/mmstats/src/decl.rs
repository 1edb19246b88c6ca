//! Declaring fields: what a handle needs, and the fluent builder that registers it.

use std::marker::PhantomData;

use mmstats_format::{Combine, FieldMeta, Kind, ValueType};

use crate::error::Error;
use crate::region::Slot;
use crate::stats::Stats;

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
    /// Slot width in seconds of a windowed field (default 1); other kinds ignore it.
    pub width: Option<u16>,
    /// Label pairs (FORMAT.md §3.5), in any order: registration sorts them, and the field's
    /// label becomes its series key, `name{k="v",...}`. Empty for a plain field.
    pub labels: Vec<(String, String)>,
}

impl FieldDecl {
    /// A declaration of `label` with no help, unit or capacity.
    pub fn new(label: &str) -> FieldDecl {
        FieldDecl {
            label: label.into(),
            ..FieldDecl::default()
        }
    }

    /// The metadata of this declaration as a field of `kind` and `value_type`.
    pub fn meta(&self, kind: Kind, value_type: ValueType) -> FieldMeta {
        let mut meta = FieldMeta::new(self.label.clone(), kind, value_type);
        meta.help.clone_from(&self.help);
        meta.unit.clone_from(&self.unit);
        if let Some(c) = self.combine {
            meta.combine = c;
        }
        meta.capacity = self.capacity.unwrap_or(0);
        if self.labels.is_empty() {
            meta
        } else {
            meta.with_labels(self.labels.iter().cloned())
        }
    }
}

/// A handle type that can be registered: it says what field it needs and binds to its slot.
/// Implemented by every handle; the derive macro calls it generically.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an mmstats field type",
    label = "not a field handle",
    note = "fields of a `#[derive(Stats)]` struct are handles: Counter, Gauge<T>, Text, Timestamp, \
            Constant<T>, ConstantText, \
            Average<T>, MovingAverage<T>, Histogram, Timer or Windowed<T>; mark other fields \
            `#[stat(skip)]`"
)]
pub trait Handle: Sized {
    /// The metadata for this declaration.
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error>;
    /// Binds to the registered slot.
    #[doc(hidden)]
    fn bind(slot: Slot) -> Self;
    /// Binds to the registered slot, given the declaration it was registered with, for handles
    /// that keep sizes the slot does not record (a timer's window). Defaults to [`Handle::bind`].
    #[doc(hidden)]
    fn bind_decl(slot: Slot, decl: &FieldDecl) -> Self {
        let _ = decl;
        Self::bind(slot)
    }
}

/// Fluent registration of one field: `stats.counter("hits").help("...").register()?`.
#[derive(Debug)]
pub struct Register<'a, H> {
    pub(crate) stats: &'a Stats,
    pub(crate) decl: FieldDecl,
    pub(crate) _h: PhantomData<H>,
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
    /// Sets the kind-specific capacity: text bytes, the window of a moving average or timer,
    /// the bucket count of a histogram, the slot count of a windowed field.
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.decl.capacity = Some(capacity);
        self
    }
    /// Sets the slot width in seconds of a windowed field (1 to 3600; default 1): with 60
    /// slots of 60 s, `label.rate` is the rate over the last hour.
    pub fn width(mut self, seconds: u16) -> Self {
        self.decl.width = Some(seconds);
        self
    }
    /// Adds a label pair (FORMAT.md §3.5): fields of the same name with different label sets
    /// are the series of one family (`stats.counter("http.requests").label("method", "GET")`).
    /// Keys match `[A-Za-z_][A-Za-z0-9_]*`; a family takes at most
    /// [`Options::label_sets`](crate::Options::label_sets) label sets per file.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.decl.labels.push((key.into(), value.into()));
        self
    }
    /// Adds label pairs, as [`Register::label`] does for each.
    pub fn labels<'k, 'v>(mut self, pairs: impl IntoIterator<Item = (&'k str, &'v str)>) -> Self {
        self.decl
            .labels
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
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
