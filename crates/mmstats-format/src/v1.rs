//! The original Python mmstats format, version 1 (FORMAT.md §11).
//!
//! Version 1 fields are unaligned, so readers parse a byte copy of the whole file. Its double
//! buffer can return a torn value; that is the format's weakness, not this decoder's.

use crate::codes::{Kind, ValueType};
use crate::error::{FormatError, V1Error};
use crate::field::FieldMeta;
use crate::layout;
use crate::num::Num;
use crate::value::Value;

/// One decoded version-1 field.
#[derive(Debug, Clone, PartialEq)]
pub struct V1Field {
    /// Metadata, inferred: numbers are gauges, strings text.
    pub meta: FieldMeta,
    /// The current value.
    pub value: Value,
}

/// A version-1 type code: its value type and size in bytes.
fn parse_type(t: &str) -> Option<(ValueType, usize)> {
    Some(match t {
        "b" => (ValueType::I8, 1),
        "B" => (ValueType::U8, 1),
        "?" => (ValueType::Bool, 1),
        "h" => (ValueType::I16, 2),
        "H" => (ValueType::U16, 2),
        "i" => (ValueType::I32, 4),
        "I" => (ValueType::U32, 4),
        "l" | "q" => (ValueType::I64, 8),
        "L" | "Q" => (ValueType::U64, 8),
        "f" => (ValueType::F32, 4),
        "d" => (ValueType::F64, 8),
        _ => {
            let n: usize = t.strip_suffix('s')?.parse().ok()?;
            if n == 0 || n > 1 << 20 {
                return None;
            }
            (ValueType::Text, n)
        }
    })
}

fn take<'a>(
    b: &'a [u8],
    pos: &mut usize,
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], FormatError> {
    let end = pos
        .checked_add(n)
        .filter(|e| *e <= b.len())
        .ok_or(FormatError::BadV1(V1Error::PastEnd {
            what,
            offset: *pos as u64,
            len: b.len() as u64,
        }))?;
    let s = &b[*pos..end];
    *pos = end;
    Ok(s)
}

fn decode_value(vt: ValueType, raw: &[u8]) -> Value {
    if vt == ValueType::Text {
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        return Value::Text(String::from_utf8_lossy(&raw[..end]).into());
    }
    let mut w = [0u8; 8];
    w[..raw.len()].copy_from_slice(raw);
    let word = u64::from_ne_bytes(w);
    if vt == ValueType::Bool {
        return Value::Bool(raw[0] != 0);
    }
    Value::Number(Num::from_word(vt, word))
}

/// Decodes a whole version-1 file.
pub fn decode(b: &[u8]) -> Result<Vec<V1Field>, FormatError> {
    match b.first() {
        None => return Err(FormatError::Empty),
        Some(1) => {}
        Some(v) => return Err(FormatError::BadV1(V1Error::Version(*v))),
    }
    let mut pos = 1;
    let mut fields = Vec::new();
    while pos + 2 <= b.len() {
        let label_size = u16::from_ne_bytes([b[pos], b[pos + 1]]) as usize;
        if label_size == 0 {
            break;
        }
        pos += 2;
        let label = std::str::from_utf8(take(b, &mut pos, label_size, "label")?)
            .map_err(|_| FormatError::BadV1(V1Error::LabelNotUtf8(pos as u64)))?
            .to_string();
        let ts = take(b, &mut pos, 2, "type size")?;
        let type_size = u16::from_ne_bytes([ts[0], ts[1]]) as usize;
        let t = std::str::from_utf8(take(b, &mut pos, type_size, "type")?).unwrap_or("");
        let (vt, size) = parse_type(t).ok_or_else(|| {
            FormatError::BadV1(V1Error::UnknownType {
                label: label.clone(),
                code: t.to_owned(),
            })
        })?;
        let wb = take(b, &mut pos, 1, "write buffer")?[0];
        let raw = if wb == 0xFF {
            take(b, &mut pos, size, "value")?
        } else {
            let both = take(b, &mut pos, 2 * size, "values")?;
            let cur = usize::from((wb ^ 1) & 1);
            &both[cur * size..(cur + 1) * size]
        };
        let value = decode_value(vt, raw);
        // The original's system fields (`sys.pid`, or `<prefix>sys.pid` with a label prefix)
        // describe the writer: constants, never summed across its threads.
        let system = label
            .rsplit_once("sys.")
            .is_some_and(|(_, name)| !name.is_empty() && !name.contains('.'));
        let kind = match vt {
            ValueType::Text => Kind::Text,
            _ if system => Kind::Constant,
            _ => Kind::Gauge,
        };
        let mut meta = FieldMeta::new(label, kind, vt);
        if vt == ValueType::Text {
            meta.capacity = size as u32;
        }
        if fields.len() == layout::limits::TABLE_CAPACITY_MAX as usize {
            return Err(FormatError::TooLarge {
                what: "version-1 field count",
                value: fields.len() as u64 + 1,
                max: layout::limits::TABLE_CAPACITY_MAX.into(),
            });
        }
        fields.push(V1Field { meta, value });
    }
    Ok(fields)
}

/// Encodes fields in the version-1 layout, double-buffered for numbers as the original wrote
/// them; for test files and vectors. Each field is `(label, type code, value bytes)`.
pub fn encode(fields: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![1u8];
    for (label, t, value) in fields {
        out.extend_from_slice(&(label.len() as u16).to_ne_bytes());
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(&(t.len() as u16).to_ne_bytes());
        out.extend_from_slice(t.as_bytes());
        if t.ends_with('s') {
            out.push(0xFF);
            out.extend_from_slice(value);
        } else {
            // writer last wrote buffer 0 and flipped the byte to 1; readers read buffer 0
            out.push(1);
            out.extend_from_slice(value);
            out.extend(std::iter::repeat_n(0xEE, value.len()));
        }
    }
    out.extend_from_slice(&[0, 0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encodes() {
        let mut s = b"hello".to_vec();
        s.resize(16, 0);
        let bytes = encode(&[
            ("sys.pid", "I", 1234u32.to_ne_bytes().to_vec()),
            ("name", "16s", s),
            ("temp", "d", 21.5f64.to_ne_bytes().to_vec()),
        ]);
        let f = decode(&bytes).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].value, Value::Number(Num::U(1234)));
        assert_eq!(f[1].value, Value::Text("hello".into()));
        assert_eq!(f[2].value, Value::Number(Num::F(21.5)));
    }

    #[test]
    fn every_truncation_is_an_error_or_a_prefix() {
        let bytes = encode(&[
            ("a", "Q", 7u64.to_ne_bytes().to_vec()),
            ("b", "Q", 8u64.to_ne_bytes().to_vec()),
        ]);
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]);
        }
        assert!(decode(&bytes[..5]).is_err());
    }
}
