//! Reading a stats file's bytes with the format crate alone.

use std::path::Path;

use mmstats_format::{Field, Header, Value};

/// A decoded copy of a whole file.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) header: Header,
    pub(crate) fields: Vec<Field>,
    pub(crate) bytes: Vec<u8>,
}

impl Decoded {
    /// The value of the field labelled `label`.
    pub(crate) fn value(&self, label: &str) -> Value {
        let f = self.field(label);
        let start = f.value_offset as usize;
        let words: Vec<u64> = self.bytes[start..start + f.value_length as usize]
            .chunks_exact(8)
            .map(|c| {
                self.header
                    .byte_order
                    .word(u64::from_ne_bytes(c.try_into().unwrap()))
            })
            .collect();
        Value::decode(&f.meta, &words, self.header.byte_order).unwrap()
    }

    /// The field labelled `label`.
    pub(crate) fn field(&self, label: &str) -> &Field {
        self.fields
            .iter()
            .find(|f| f.meta.label == label)
            .unwrap_or_else(|| panic!("no field {label}"))
    }

    /// Every label, in table order.
    pub(crate) fn labels(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.meta.label.as_str()).collect()
    }
}

/// Reads and validates the file at `path`.
pub(crate) fn decode(path: &Path) -> Decoded {
    let bytes = std::fs::read(path).unwrap();
    let (header, fields) = mmstats_format::decode_file(&bytes).unwrap();
    Decoded {
        header,
        fields,
        bytes,
    }
}

/// Names in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
