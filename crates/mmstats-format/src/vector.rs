//! The JSON form of a field in the test vectors (FORMAT.md §10), written once for the program
//! that writes the vectors and the tests that read them back: the field's metadata as its
//! serde form gives it (`label`, `labels` when labelled, `kind`, `type`, `combine`, `unit`,
//! `help`, `param`, `capacity`), and its `value`, plain for scalars and named by its shape for
//! composites (`{"histogram": {...}}`), a histogram's buckets ending at the last non-zero one (as [`crate::Buckets`] serialises
//! them).
//!
//! The tools' own JSON (slurpstats, mmash) is another document with another purpose (values
//! for programs, with derived values and errors) and lives with the renderers.
//!
//! ```
//! use mmstats_format::{FieldMeta, Kind, Num, Value, ValueType, vector::VectorField};
//!
//! let meta = FieldMeta::new("requests", Kind::Counter, ValueType::U64);
//! let value = Value::Number(Num::U(17));
//! let field = VectorField::new(&meta, &value);
//! assert_eq!(field.meta.label, "requests");
//! ```

use std::borrow::Cow;

use serde::Serialize;

use crate::field::FieldMeta;
use crate::num::Num;
use crate::value::Value;

/// One field of a vector's expected reading (FORMAT.md §10); serialise it with any serde
/// format (the vectors use JSON).
#[derive(Debug, Serialize)]
pub struct VectorField<'a> {
    /// The field's metadata.
    #[serde(flatten)]
    pub meta: &'a FieldMeta,
    /// Its value.
    pub value: VectorValue<'a>,
}

/// A value in the vectors' form: scalars plain, composites named by their shape.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum VectorValue<'a> {
    /// A number.
    Number(Num),
    /// A bool.
    Bool(bool),
    /// A text.
    Text(&'a str),
    /// An average, moving average, histogram or windowed value, tagged by its shape.
    Composite(Cow<'a, Value>),
}

impl<'a> VectorField<'a> {
    /// The vector form of `value` read from the field `meta`.
    pub fn new(meta: &'a FieldMeta, value: &'a Value) -> VectorField<'a> {
        let value = match value {
            Value::Number(n) => VectorValue::Number(*n),
            Value::Bool(b) => VectorValue::Bool(*b),
            Value::Text(t) => VectorValue::Text(t),
            other => VectorValue::Composite(Cow::Borrowed(other)),
        };
        VectorField { meta, value }
    }
}
