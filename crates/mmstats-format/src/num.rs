//! Numbers as the format stores them: every value type widened to a word (FORMAT.md §4.1, §5).

use serde::{Deserialize, Serialize};

use crate::codes::ValueType;

/// A number widened to a word (FORMAT.md §5, "num").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Num {
    /// Unsigned integers and bool.
    U(u64),
    /// Signed integers.
    I(i64),
    /// Floats.
    F(f64),
}

impl Num {
    /// Decodes a word (already in native order) of type `vt` (FORMAT.md §4.1): only the
    /// declared width counts.
    pub fn from_word(vt: ValueType, w: u64) -> Num {
        match vt {
            ValueType::U8 => Num::U(w & 0xff),
            ValueType::U16 => Num::U(w & 0xffff),
            ValueType::U32 => Num::U(w & 0xffff_ffff),
            ValueType::U64 => Num::U(w),
            ValueType::I8 => Num::I(i64::from(w as u8 as i8)),
            ValueType::I16 => Num::I(i64::from(w as u16 as i16)),
            ValueType::I32 => Num::I(i64::from(w as u32 as i32)),
            ValueType::I64 => Num::I(w as i64),
            ValueType::F32 => Num::F(f64::from(f32::from_bits(w as u32))),
            ValueType::F64 => Num::F(f64::from_bits(w)),
            ValueType::Bool => Num::U(u64::from(w & 1 != 0)),
            ValueType::Text => Num::U(w),
        }
    }

    /// Decodes a widened "num" word of a multi-word slot (sums, last values).
    pub fn from_wide(vt: ValueType, w: u64) -> Num {
        if vt.is_float() {
            Num::F(f64::from_bits(w))
        } else if vt.is_signed() {
            Num::I(w as i64)
        } else {
            Num::U(w)
        }
    }

    /// Encodes as the word of a single-word slot of type `vt` (FORMAT.md §4.1).
    pub fn to_word(self, vt: ValueType) -> u64 {
        match vt {
            ValueType::F32 => u64::from((self.as_f64() as f32).to_bits()),
            ValueType::F64 => self.as_f64().to_bits(),
            ValueType::Bool => u64::from(self.as_f64() != 0.0),
            ValueType::I8 => self.as_i64() as i8 as i64 as u64,
            ValueType::I16 => self.as_i64() as i16 as i64 as u64,
            ValueType::I32 => self.as_i64() as i32 as i64 as u64,
            ValueType::I64 => self.as_i64() as u64,
            ValueType::U8 => self.as_u64() & 0xff,
            ValueType::U16 => self.as_u64() & 0xffff,
            ValueType::U32 => self.as_u64() & 0xffff_ffff,
            ValueType::U64 | ValueType::Text => self.as_u64(),
        }
    }

    /// Encodes as a widened "num" word of type `vt`.
    pub fn to_wide(self, vt: ValueType) -> u64 {
        if vt.is_float() {
            self.as_f64().to_bits()
        } else if vt.is_signed() {
            self.as_i64() as u64
        } else {
            self.as_u64()
        }
    }

    /// As a float.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::U(v) => v as f64,
            Num::I(v) => v as f64,
            Num::F(v) => v,
        }
    }

    fn as_i64(self) -> i64 {
        match self {
            Num::U(v) => v as i64,
            Num::I(v) => v,
            Num::F(v) => v as i64,
        }
    }

    fn as_u64(self) -> u64 {
        match self {
            Num::U(v) => v,
            Num::I(v) => v as u64,
            Num::F(v) => v as u64,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::U(v) => write!(f, "{v}"),
            Num::I(v) => write!(f, "{v}"),
            Num::F(v) => write!(f, "{v}"),
        }
    }
}
