//! Declaring fields: what a field is declared with, and what a handle needs to be registered.

use mmstats_format::{Combine, FieldMeta, Kind, ValueType};

use crate::error::Error;
use crate::region::Slot;

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
    note = "fields of a `#[derive(StatsModel)]` struct are handles: Counter, Gauge<T>, Text, Timestamp, \
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
