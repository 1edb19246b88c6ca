//! Placing fields in a file: the writer's side of FORMAT.md §1, §3 and §7.
//!
//! A [`Plan`] tracks how much of each area is used and turns a field's metadata into a
//! [`Placement`]: the exact words to store. A writer applies placements to a byte image before
//! the file is named (§6.2) and with atomic word stores afterwards (§7): one mechanism for both.

use crate::bytes::ByteOrder;
use crate::error::FieldError;
use crate::field::{FieldMeta, Record};
use crate::header::{Geometry, Header, Identity, Live};
use crate::layout::{self, HEADER_LEN, MINOR_VERSION, RECORD_LEN};
use crate::value::initial_words;

/// Space reserved at creation for fields added later (FORMAT.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    /// Extra records.
    pub fields: u32,
    /// Extra string bytes.
    pub strings: usize,
    /// Extra value bytes.
    pub values: usize,
}

impl Default for Reserve {
    /// Room for 64 more fields with 64 bytes of strings each and 64 KiB of values (four
    /// histograms of every `u64` at k = 5 take 60 KiB).
    fn default() -> Self {
        Reserve {
            fields: 64,
            strings: 64 * 64,
            values: 64 * 1024,
        }
    }
}

/// Everything a writer stores to publish one field (FORMAT.md §7 steps 1 to 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Index of the record.
    pub index: usize,
    /// Absolute offset of the record.
    pub record_offset: usize,
    /// The record's 64 bytes.
    pub record: [u8; RECORD_LEN],
    /// Absolute offset of the string bytes (a multiple of 8).
    pub strings_offset: usize,
    /// Label, help and unit, each starting on a multiple of 8, zero-padded to a multiple of 8.
    pub strings: Vec<u8>,
    /// Absolute offset of the value slot (a multiple of 8).
    pub value_offset: usize,
    /// The slot's initial words, native values.
    pub value_words: Vec<u64>,
    /// The live words after this field is published.
    pub live: Live,
}

/// The layout of a file being written.
#[derive(Debug, Clone)]
pub struct Plan {
    order: ByteOrder,
    geometry: Geometry,
    live: Live,
}

/// Bytes the strings of one field take (each string padded to 8).
pub(crate) fn strings_len(meta: &FieldMeta) -> usize {
    layout::align8(meta.label.len())
        + layout::align8(meta.help.len())
        + layout::align8(meta.unit.len())
        + layout::align8(crate::labels::encoded_len(&meta.labels))
}

impl Plan {
    /// A plan with room for `fields` plus `reserve`.
    pub fn new(fields: &[FieldMeta], reserve: Reserve) -> Result<Plan, FieldError> {
        let mut strings = reserve.strings;
        let mut values = reserve.values;
        for f in fields {
            strings += strings_len(f);
            values += f.validate()? as usize;
        }
        let count = u32::try_from(fields.len())
            .ok()
            .and_then(|n| n.checked_add(reserve.fields))
            .ok_or(FieldError::NoRoom {
                what: "too many fields",
            })?;
        let geometry = Geometry::new(count, strings, values)?;
        Ok(Plan {
            order: ByteOrder::NATIVE,
            geometry,
            live: Live {
                generation: 1,
                ..Live::default()
            },
        })
    }

    /// The geometry.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The live words so far.
    pub fn live(&self) -> Live {
        self.live
    }

    /// The header for `identity` with the live words so far.
    pub fn header(&self, identity: Identity) -> Header {
        Header {
            byte_order: self.order,
            minor_version: MINOR_VERSION,
            identity,
            geometry: self.geometry,
            live: self.live,
        }
    }

    /// Places one more field, or says which capacity ran out.
    pub fn place(&mut self, meta: &FieldMeta) -> Result<Placement, FieldError> {
        let slot_len = meta.validate()?;
        let g = self.geometry;
        let index = self.live.field_count as usize;
        if index >= g.table_capacity as usize {
            return Err(FieldError::NoRoom {
                what: "field table full",
            });
        }
        let str_start = g.strings_offset as usize + self.live.strings_used as usize;
        let str_len = strings_len(meta);
        if self.live.strings_used as usize + str_len > g.strings_capacity as usize {
            return Err(FieldError::NoRoom {
                what: "string area full",
            });
        }
        let value_offset = g.values_offset as usize + self.live.values_used as usize;
        let slot_bytes = layout::align8(slot_len as usize);
        if self.live.values_used as usize + slot_bytes > g.values_capacity as usize {
            return Err(FieldError::NoRoom {
                what: "value area full",
            });
        }

        let mut strings = Vec::with_capacity(str_len);
        let mut put = |s: &str| -> u32 {
            let off = (str_start + strings.len()) as u32;
            strings.extend_from_slice(s.as_bytes());
            strings.resize(layout::align8(strings.len()), 0);
            off
        };
        let label_offset = put(&meta.label);
        let help_offset = put(&meta.help);
        let unit_offset = put(&meta.unit);
        let label_set = crate::labels::encode(&meta.labels);
        let labels_offset = if label_set.is_empty() {
            0
        } else {
            let off = (str_start + strings.len()) as u32;
            strings.extend_from_slice(&label_set);
            strings.resize(layout::align8(strings.len()), 0);
            off
        };

        let record = Record {
            label_offset,
            label_length: meta.label.len() as u16,
            help_offset,
            help_length: meta.help.len() as u16,
            unit_offset,
            unit_length: meta.unit.len() as u16,
            kind: meta.kind.code(),
            value_type: meta.value_type.code(),
            combine: meta.combine.code(),
            flags: 0,
            param: meta.param,
            value_offset: value_offset as u32,
            value_length: slot_len,
            capacity: meta.capacity,
            labels_offset,
            labels_length: label_set.len() as u16,
        };
        self.live.field_count += 1;
        self.live.strings_used += str_len as u64;
        self.live.values_used += slot_bytes as u64;
        self.live.generation += 1;
        Ok(Placement {
            index,
            record_offset: HEADER_LEN + index * RECORD_LEN,
            record: record.encode(self.order),
            strings_offset: str_start,
            strings,
            value_offset,
            value_words: initial_words(meta)?,
            live: self.live,
        })
    }
}

impl Placement {
    /// Writes this placement into a byte image of the whole file (before it is named).
    pub fn apply_to_image(&self, image: &mut [u8]) {
        image[self.record_offset..self.record_offset + RECORD_LEN].copy_from_slice(&self.record);
        image[self.strings_offset..self.strings_offset + self.strings.len()]
            .copy_from_slice(&self.strings);
        for (i, w) in self.value_words.iter().enumerate() {
            let at = self.value_offset + 8 * i;
            image[at..at + 8].copy_from_slice(&w.to_ne_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Kind, ValueType};

    #[test]
    fn placed_fields_decode_back() {
        let mut metas = vec![
            FieldMeta::new("a.count", Kind::Counter, ValueType::U64),
            FieldMeta::new("b.text", Kind::Text, ValueType::Text),
        ];
        metas[1].capacity = 13;
        metas[0].help = "requests served".into();
        metas[0].unit = "requests".into();
        let mut plan = Plan::new(&metas, Reserve::default()).unwrap();
        let g = plan.geometry();
        let mut image = vec![0u8; g.file_length as usize];
        for m in &metas {
            plan.place(m).unwrap().apply_to_image(&mut image);
        }
        let header = plan.header(Identity::default());
        image[..HEADER_LEN].copy_from_slice(&header.encode());
        let (h, fields) = crate::field::decode_file(&image).unwrap();
        assert_eq!(h.live.field_count, 2);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].meta, metas[0]);
        assert_eq!(fields[1].meta, metas[1]);
        assert_eq!(fields[1].value_length, 32);
    }

    #[test]
    fn labelled_fields_decode_back_and_bad_sets_are_refused() {
        let plain = FieldMeta::new("http.requests", Kind::Counter, ValueType::U64);
        let get = plain
            .clone()
            .with_labels([("method", "GET"), ("code", "200")]);
        let post = plain.clone().with_labels([("method", "POST")]);
        assert_eq!(get.label, r#"http.requests{code="200",method="GET"}"#);
        assert_eq!(get.name(), "http.requests");
        let metas = [get, post];
        let mut plan = Plan::new(&metas, Reserve::default()).unwrap();
        let mut image = vec![0u8; plan.geometry().file_length as usize];
        let mut placed = Vec::new();
        for m in &metas {
            let p = plan.place(m).unwrap();
            p.apply_to_image(&mut image);
            placed.push(p);
        }
        image[..HEADER_LEN].copy_from_slice(&plan.header(Identity::default()).encode());
        let (h, fields) = crate::field::decode_file(&image).unwrap();
        assert_eq!(h.minor_version, 1);
        assert_eq!(fields[0].meta, metas[0]);
        assert_eq!(fields[1].meta.labels, [("method".into(), "POST".into())]);

        // Corrupt the first label set in place: each must be refused with a reason.
        let rec = Record::decode(&placed[0].record, ByteOrder::NATIVE);
        let at = rec.labels_offset as usize;
        let len = rec.labels_length as usize;
        let refuse = |patch: &dyn Fn(&mut Vec<u8>)| {
            let mut bad = image.clone();
            patch(&mut bad);
            let err = crate::field::decode_file(&bad).unwrap_err().to_string();
            assert!(err.contains("label"), "{err}");
        };
        refuse(&|b| b[at..at + 4].copy_from_slice(b"zzzz")); // unsorted
        refuse(&|b| b[at + 5] = 0xff); // not UTF-8
        refuse(&|b| b[at + len - 1] = b'x'); // no final NUL
        refuse(&|b| b[at..at + 4].copy_from_slice(b"meth")); // duplicate key
        refuse(&|b| {
            let off = placed[0].record_offset + layout::record::LABELS_LENGTH;
            b[off..off + 2].copy_from_slice(&1000u16.to_ne_bytes()); // past the used area
        });
        let mut dup = FieldMeta::new("r", Kind::Counter, ValueType::U64)
            .with_labels([("a", "1"), ("a", "2")]);
        assert!(dup.validate().is_err());
        dup.labels.pop();
        assert!(dup.validate().is_err(), "label no longer the series key");
    }

    #[test]
    fn capacity_runs_out_cleanly() {
        let m = FieldMeta::new("x", Kind::Counter, ValueType::U64);
        let mut plan = Plan::new(
            &[],
            Reserve {
                fields: 1,
                strings: 8,
                values: 8,
            },
        )
        .unwrap();
        plan.place(&m).unwrap();
        assert!(matches!(plan.place(&m), Err(FieldError::NoRoom { .. })));
    }
}
