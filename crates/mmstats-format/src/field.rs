//! Field records and their metadata (FORMAT.md §3, §5).

use serde::{Deserialize, Serialize};

use crate::bytes::ByteOrder;
use crate::codes::{Combine, Kind, ValueType};
use crate::error::{FieldError, FormatError, RecordError, SlotError};
use crate::header::Header;
use crate::labels::{self, LabelError};
use crate::layout::{self, HEADER_LEN, RECORD_LEN, limits, record as r};
use crate::strings::{self, StringError};

/// A field's metadata: what a writer declares and a reader decodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldMeta {
    /// The field's series key, unique within the file: its dotted name, followed for a
    /// labelled field by its label set, `http.requests{method="GET"}` (FORMAT.md §3.5, made by
    /// [`crate::labels::series_key`]). [`FieldMeta::name`] is the name alone.
    pub label: String,
    /// Label pairs, sorted by key with unique keys (FORMAT.md §3.5); empty for a plain field.
    /// Set them with [`FieldMeta::with_labels`], which keeps `label` the series key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
    /// One-line help text; may be empty.
    pub help: String,
    /// Unit (FORMAT.md §3.3); may be empty.
    pub unit: String,
    /// Metric kind.
    pub kind: Kind,
    /// Value type.
    #[serde(rename = "type")]
    pub value_type: ValueType,
    /// Default combine rule.
    pub combine: Combine,
    /// Kind-specific parameter (FORMAT.md §5).
    pub param: u16,
    /// Kind-specific capacity (FORMAT.md §5).
    pub capacity: u32,
}

impl FieldMeta {
    /// Metadata with the kind's default combine rule and no help, unit, param or capacity.
    pub fn new(label: impl Into<String>, kind: Kind, value_type: ValueType) -> FieldMeta {
        FieldMeta {
            label: label.into(),
            labels: Vec::new(),
            help: String::new(),
            unit: String::new(),
            kind,
            value_type,
            combine: kind.default_combine(),
            param: 0,
            capacity: 0,
        }
    }

    /// The same field with label pairs: they are sorted by key and `label` becomes the series
    /// key of the name and the pairs. Duplicate or invalid keys are reported by
    /// [`FieldMeta::validate`].
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> FieldMeta {
        let name = self.name().to_string();
        self.labels = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        labels::sort(&mut self.labels);
        self.label = labels::series_key(&name, &self.labels);
        self
    }

    /// The field's name: its label without the label set (the metric family it belongs to).
    pub fn name(&self) -> &str {
        if self.labels.is_empty() {
            &self.label
        } else {
            labels::name_of(&self.label)
        }
    }

    /// The canonical series key that tells this series apart from every other
    /// (`name{k="v",...}`, FORMAT.md §3.5): the same as `label`.
    pub fn series_key(&self) -> &str {
        &self.label
    }

    /// The series key of a value derived from this field, `name.suffix{k="v",...}`
    /// (`http.latency.p99{method="GET"}`).
    pub fn derived_key(&self, suffix: &str) -> String {
        labels::series_key(&format!("{}.{suffix}", self.name()), &self.labels)
    }

    /// The size of this field's value slot, or why the combination is not allowed
    /// (FORMAT.md §3.2 and §5).
    pub fn slot_length(&self) -> Result<u32, SlotError> {
        slot_length(self.kind, self.value_type, self.param, self.capacity)
    }

    /// Checks strings (FORMAT.md §3.3, [`crate::strings`]), the label set (§3.5) and the
    /// kind/type/param/capacity combination (§3.2).
    pub fn validate(&self) -> Result<u32, FieldError> {
        let label = || self.label.clone();
        let bad = |kind: StringError| FieldError::BadString {
            label: self.label.clone(),
            kind,
        };
        strings::check_name(self.name()).map_err(bad)?;
        strings::check_length(self.label.len()).map_err(bad)?;
        strings::check_help(&self.help).map_err(bad)?;
        strings::check_unit(&self.unit).map_err(bad)?;
        if !self.labels.is_empty() {
            check_labels(&self.label, &self.labels).map_err(|source| FieldError::BadLabels {
                label: label(),
                source,
            })?;
        }
        self.slot_length().map_err(|kind| FieldError::BadSlot {
            label: label(),
            kind,
        })
    }
}

/// Checks a labelled field's label set and that `label` is its series key (FORMAT.md §3.5).
fn check_labels(label: &str, pairs: &[(String, String)]) -> Result<(), LabelError> {
    labels::check(pairs)?;
    let name = labels::name_of(label);
    if name.is_empty() || name.len() == label.len() {
        return Err(LabelError::BadName(name.to_string()));
    }
    let want = labels::series_key(name, pairs);
    if want != label {
        return Err(LabelError::KeyMismatch {
            found: label.to_string(),
            want,
        });
    }
    Ok(())
}

/// The slot length FORMAT.md §3.2 gives for a kind, type, param and capacity.
pub fn slot_length(kind: Kind, vt: ValueType, param: u16, capacity: u32) -> Result<u32, SlotError> {
    let numeric = vt.is_numeric();
    let bad_type = || SlotError::BadType {
        kind,
        value_type: vt,
    };
    let range = |what, min: u32, max: u32, v: u32| {
        if (min..=max).contains(&v) {
            Ok(())
        } else {
            Err(SlotError::OutOfRange { what, min, max })
        }
    };
    let no_extra = || {
        if param != 0 || capacity != 0 {
            Err(SlotError::NoParamOrCapacity(kind))
        } else {
            Ok(())
        }
    };
    let text_slot = || {
        if param != 0 {
            return Err(SlotError::NoParam(kind));
        }
        range("text capacity", 1, limits::TEXT_CAPACITY_MAX, capacity)?;
        Ok((layout::TEXT_SLOT_HEAD + layout::align8(capacity as usize)) as u32)
    };
    match kind {
        Kind::Counter => {
            if !numeric || vt == ValueType::Bool {
                return Err(bad_type());
            }
            no_extra().map(|_| 8)
        }
        Kind::Gauge | Kind::Timestamp => {
            if !numeric {
                return Err(bad_type());
            }
            no_extra().map(|_| 8)
        }
        Kind::Constant if vt == ValueType::Text => text_slot(),
        Kind::Constant => no_extra().map(|_| 8),
        Kind::Text if vt == ValueType::Text => text_slot(),
        Kind::Text => Err(bad_type()),
        Kind::Average | Kind::MovingAverage | Kind::Windowed if !numeric => Err(bad_type()),
        Kind::Average => no_extra().map(|_| layout::AVERAGE_SLOT as u32),
        Kind::MovingAverage => {
            if param != 0 {
                return Err(SlotError::NoParam(kind));
            }
            range("window", 1, limits::WINDOW_MAX, capacity)?;
            Ok(layout::MOVING_AVERAGE_SLOT as u32)
        }
        Kind::Histogram | Kind::Timer => {
            if vt != ValueType::U64 {
                return Err(bad_type());
            }
            range(
                "sub-bucket exponent",
                limits::HISTOGRAM_K_MIN.into(),
                limits::HISTOGRAM_K_MAX.into(),
                param.into(),
            )?;
            let k = u32::from(param);
            let min = 1u32 << (k + 1);
            let max = crate::histogram::full_bucket_count(k);
            range("bucket count", min, max, capacity)?;
            Ok(layout::HISTOGRAM_SLOT_HEAD as u32 + 8 * capacity)
        }
        Kind::Windowed => {
            range(
                "slot width in seconds",
                1,
                limits::SLOT_SECONDS_MAX.into(),
                param.into(),
            )?;
            range(
                "slot count",
                limits::WINDOW_SLOTS_MIN,
                limits::WINDOW_SLOTS_MAX,
                capacity,
            )?;
            Ok((layout::WINDOWED_SLOT_HEAD + layout::WINDOWED_PERIOD * capacity as usize) as u32)
        }
    }
}

/// A published field: metadata plus where its value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its metadata.
    pub meta: FieldMeta,
    /// Absolute offset of its value slot.
    pub value_offset: u32,
    /// Length of its value slot.
    pub value_length: u32,
}

/// The raw numbers of a record, before strings are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Record {
    /// `label_offset`.
    pub label_offset: u32,
    /// `label_length`.
    pub label_length: u16,
    /// `help_offset`.
    pub help_offset: u32,
    /// `help_length`.
    pub help_length: u16,
    /// `unit_offset`.
    pub unit_offset: u32,
    /// `unit_length`.
    pub unit_length: u16,
    /// `kind` code.
    pub kind: u8,
    /// `value_type` code.
    pub value_type: u8,
    /// `combine` code.
    pub combine: u8,
    /// `flags`.
    pub flags: u8,
    /// `param`.
    pub param: u16,
    /// `value_offset`.
    pub value_offset: u32,
    /// `value_length`.
    pub value_length: u32,
    /// `capacity`.
    pub capacity: u32,
    /// `labels_offset` (minor version 1, §3.5).
    pub labels_offset: u32,
    /// `labels_length` (minor version 1, §3.5); 0 for a plain field.
    pub labels_length: u16,
}

impl Record {
    /// Decodes the 64 bytes of a record.
    pub fn decode(b: &[u8; RECORD_LEN], o: ByteOrder) -> Record {
        Record {
            label_offset: o.u32(b, r::LABEL_OFFSET),
            label_length: o.u16(b, r::LABEL_LENGTH),
            help_length: o.u16(b, r::HELP_LENGTH),
            help_offset: o.u32(b, r::HELP_OFFSET),
            unit_offset: o.u32(b, r::UNIT_OFFSET),
            unit_length: o.u16(b, r::UNIT_LENGTH),
            kind: b[r::KIND],
            value_type: b[r::VALUE_TYPE],
            combine: b[r::COMBINE],
            flags: b[r::FLAGS],
            param: o.u16(b, r::PARAM),
            value_offset: o.u32(b, r::VALUE_OFFSET),
            value_length: o.u32(b, r::VALUE_LENGTH),
            capacity: o.u32(b, r::CAPACITY),
            labels_offset: o.u32(b, r::LABELS_OFFSET),
            labels_length: o.u16(b, r::LABELS_LENGTH),
        }
    }

    /// Encodes the record.
    pub fn encode(&self, o: ByteOrder) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        o.put_u32(&mut b, r::LABEL_OFFSET, self.label_offset);
        o.put_u16(&mut b, r::LABEL_LENGTH, self.label_length);
        o.put_u16(&mut b, r::HELP_LENGTH, self.help_length);
        o.put_u32(&mut b, r::HELP_OFFSET, self.help_offset);
        o.put_u32(&mut b, r::UNIT_OFFSET, self.unit_offset);
        o.put_u16(&mut b, r::UNIT_LENGTH, self.unit_length);
        b[r::KIND] = self.kind;
        b[r::VALUE_TYPE] = self.value_type;
        b[r::COMBINE] = self.combine;
        b[r::FLAGS] = self.flags;
        o.put_u16(&mut b, r::PARAM, self.param);
        o.put_u32(&mut b, r::VALUE_OFFSET, self.value_offset);
        o.put_u32(&mut b, r::VALUE_LENGTH, self.value_length);
        o.put_u32(&mut b, r::CAPACITY, self.capacity);
        o.put_u32(&mut b, r::LABELS_OFFSET, self.labels_offset);
        o.put_u16(&mut b, r::LABELS_LENGTH, self.labels_length);
        b
    }
}

/// The metadata parts of a file a reader copied out: enough to decode the field table.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    /// The file's byte order.
    pub order: ByteOrder,
    /// `field_count` records of 64 bytes.
    pub table: &'a [u8],
    /// Offset of the string area.
    pub strings_offset: u32,
    /// The used part of the string area (`strings_used` bytes).
    pub strings: &'a [u8],
    /// Offset of the value area.
    pub values_offset: u32,
    /// `values_used`.
    pub values_used: u64,
}

/// Decodes and validates a byte copy of a whole file (FORMAT.md §2.4 and §3.4): its header and
/// every published field. For files read in one piece, such as test vectors; a reader of a live
/// mapping copies the areas itself in the order of §7.
pub fn decode_file(bytes: &[u8]) -> Result<(Header, Vec<Field>), FormatError> {
    let header = Header::decode(bytes, bytes.len() as u64)?;
    let g = header.geometry;
    let table_end = HEADER_LEN + header.live.field_count as usize * RECORD_LEN;
    let strings_start = g.strings_offset as usize;
    let strings_end = strings_start + header.live.strings_used as usize;
    let out_of_bounds = |what, offset: usize, end: usize| FormatError::OutOfBounds {
        index: 0,
        what,
        offset: offset as u64,
        len: (end - offset) as u64,
    };
    let fields = TableView {
        order: header.byte_order,
        table: bytes
            .get(HEADER_LEN..table_end)
            .ok_or_else(|| out_of_bounds("field table", HEADER_LEN, table_end))?,
        strings_offset: g.strings_offset,
        strings: bytes
            .get(strings_start..strings_end)
            .ok_or_else(|| out_of_bounds("string area", strings_start, strings_end))?,
        values_offset: g.values_offset,
        values_used: header.live.values_used,
    }
    .decode()?;
    Ok((header, fields))
}

/// Checks that no two strings and no two value slots of the records share a byte (FORMAT.md
/// §3.4), so that what a reader decodes from a file (labels, help texts, units, label sets and values) never
/// adds up to more than the file itself, however its records point. The records have passed
/// their own bounds checks.
fn check_disjoint(records: &[Record]) -> Result<(), FormatError> {
    let mut strings = Vec::with_capacity(records.len() * 4);
    let mut slots = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        let span = |what, off: u32, len: u64| (u64::from(off), u64::from(off) + len, i, what);
        strings.push(span("label", rec.label_offset, rec.label_length.into()));
        if rec.help_length != 0 {
            strings.push(span("help", rec.help_offset, rec.help_length.into()));
        }
        if rec.unit_length != 0 {
            strings.push(span("unit", rec.unit_offset, rec.unit_length.into()));
        }
        if rec.labels_length != 0 {
            strings.push(span(
                "label set",
                rec.labels_offset,
                rec.labels_length.into(),
            ));
        }
        slots.push(span(
            "value slot",
            rec.value_offset,
            rec.value_length.into(),
        ));
    }
    for spans in [&mut strings, &mut slots] {
        spans.sort_unstable();
        // The span reaching furthest so far: any later start before its end overlaps it.
        let mut reach: Option<(u64, usize, &'static str)> = None;
        for &(start, end, index, what) in spans.iter() {
            if let Some((far, other, other_what)) = reach
                && start < far
            {
                let (index, what, other, other_what) = if index > other {
                    (index, what, other, other_what)
                } else {
                    (other, other_what, index, what)
                };
                return Err(FormatError::Overlap {
                    index,
                    what,
                    other,
                    other_what,
                });
            }
            if reach.is_none_or(|(far, _, _)| end > far) {
                reach = Some((end, index, what));
            }
        }
    }
    Ok(())
}

impl TableView<'_> {
    /// Decodes and validates every record (FORMAT.md §3.4).
    pub fn decode(&self) -> Result<Vec<Field>, FormatError> {
        let count = self.table.len() / RECORD_LEN;
        let mut fields = Vec::with_capacity(count);
        let mut labels = std::collections::HashSet::with_capacity(count);
        let mut records = Vec::with_capacity(count);
        for (index, chunk) in self.table.chunks_exact(RECORD_LEN).enumerate() {
            let bytes: &[u8; RECORD_LEN] =
                chunk.try_into().map_err(|_| FormatError::BadRecord {
                    index,
                    reason: RecordError::Short,
                })?;
            let rec = Record::decode(bytes, self.order);
            let field = self.decode_one(index, &rec)?;
            if !labels.insert(field.meta.label.clone()) {
                return Err(FormatError::DuplicateLabel(field.meta.label));
            }
            records.push(rec);
            fields.push(field);
        }
        check_disjoint(&records)?;
        Ok(fields)
    }

    fn string(
        &self,
        index: usize,
        what: &'static str,
        offset: u32,
        len: u16,
        max: usize,
    ) -> Result<String, FormatError> {
        let bytes = self.bytes(index, what, offset, len, max)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| FormatError::BadRecord {
            index,
            reason: RecordError::NotUtf8 { what },
        })
    }

    /// The `len` bytes at `offset`, which must lie in the used string area.
    fn bytes(
        &self,
        index: usize,
        what: &'static str,
        offset: u32,
        len: u16,
        max: usize,
    ) -> Result<&[u8], FormatError> {
        if len == 0 {
            return Ok(&[]);
        }
        let oob = FormatError::OutOfBounds {
            index,
            what,
            offset: offset.into(),
            len: len.into(),
        };
        if len as usize > max {
            return Err(FormatError::BadRecord {
                index,
                reason: RecordError::TooLong { what, max },
            });
        }
        let start = (offset as usize)
            .checked_sub(self.strings_offset as usize)
            .ok_or(oob.clone())?;
        let end = start + len as usize;
        self.strings.get(start..end).ok_or(oob)
    }

    fn decode_one(&self, index: usize, rec: &Record) -> Result<Field, FormatError> {
        let bad = |reason: RecordError| FormatError::BadRecord { index, reason };
        if rec.label_length == 0 {
            return Err(bad(RecordError::EmptyLabel));
        }
        let label = self.string(
            index,
            "label",
            rec.label_offset,
            rec.label_length,
            limits::LABEL_MAX,
        )?;
        let help = self.string(
            index,
            "help",
            rec.help_offset,
            rec.help_length,
            limits::HELP_MAX,
        )?;
        let unit = self.string(
            index,
            "unit",
            rec.unit_offset,
            rec.unit_length,
            limits::UNIT_MAX,
        )?;
        let kind =
            Kind::from_code(rec.kind).ok_or_else(|| bad(RecordError::UnknownKind(rec.kind)))?;
        let value_type = ValueType::from_code(rec.value_type)
            .ok_or_else(|| bad(RecordError::UnknownValueType(rec.value_type)))?;
        let combine = Combine::from_code(rec.combine)
            .ok_or_else(|| bad(RecordError::UnknownCombine(rec.combine)))?;
        let labels = if rec.labels_length == 0 {
            Vec::new()
        } else {
            let bytes = self.bytes(
                index,
                "label set",
                rec.labels_offset,
                rec.labels_length,
                limits::LABELS_MAX,
            )?;
            let label_set = |error: LabelError| {
                bad(RecordError::LabelSet {
                    label: label.clone(),
                    error,
                })
            };
            let pairs = labels::decode(bytes).map_err(label_set)?;
            check_labels(&label, &pairs).map_err(label_set)?;
            pairs
        };
        let meta = FieldMeta {
            label,
            labels,
            help,
            unit,
            kind,
            value_type,
            combine,
            param: rec.param,
            capacity: rec.capacity,
        };
        let want = meta.slot_length().map_err(|error| {
            bad(RecordError::Slot {
                label: meta.label.clone(),
                error,
            })
        })?;
        if rec.value_length != want {
            return Err(bad(RecordError::ValueLength {
                found: rec.value_length,
                kind: meta.kind,
                want,
            }));
        }
        let start = u64::from(rec.value_offset);
        let end = start + u64::from(rec.value_length);
        let area_end = u64::from(self.values_offset) + self.values_used;
        if start % 8 != 0 || start < u64::from(self.values_offset) || end > area_end {
            return Err(FormatError::OutOfBounds {
                index,
                what: "value slot",
                offset: start,
                len: rec.value_length.into(),
            });
        }
        Ok(Field {
            meta,
            value_offset: rec.value_offset,
            value_length: rec.value_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_lengths_follow_the_spec() {
        assert_eq!(slot_length(Kind::Counter, ValueType::U64, 0, 0), Ok(8));
        assert!(slot_length(Kind::Counter, ValueType::Bool, 0, 0).is_err());
        assert!(slot_length(Kind::Counter, ValueType::Text, 0, 0).is_err());
        assert_eq!(slot_length(Kind::Text, ValueType::Text, 0, 10), Ok(16 + 16));
        assert!(slot_length(Kind::Text, ValueType::Text, 0, 0).is_err());
        assert_eq!(slot_length(Kind::Constant, ValueType::Text, 0, 8), Ok(24));
        assert_eq!(slot_length(Kind::Average, ValueType::F64, 0, 0), Ok(24));
        assert_eq!(
            slot_length(Kind::MovingAverage, ValueType::F64, 0, 100),
            Ok(40)
        );
        assert_eq!(
            slot_length(Kind::Histogram, ValueType::U64, 5, 64),
            Ok(64 + 512)
        );
        assert!(slot_length(Kind::Histogram, ValueType::U64, 5, 63).is_err());
        assert!(slot_length(Kind::Histogram, ValueType::U64, 5, 60 * 32 + 1).is_err());
        assert!(slot_length(Kind::Histogram, ValueType::F64, 5, 64).is_err());
        assert_eq!(
            slot_length(Kind::Windowed, ValueType::U64, 1, 60),
            Ok(24 + 24 * 60)
        );
        assert!(slot_length(Kind::Windowed, ValueType::U64, 0, 60).is_err());
    }

    #[test]
    fn record_round_trips() {
        let rec = Record {
            label_offset: 1,
            label_length: 2,
            help_offset: 3,
            help_length: 4,
            unit_offset: 5,
            unit_length: 6,
            kind: 7,
            value_type: 8,
            combine: 1,
            flags: 0,
            param: 11,
            value_offset: 12,
            value_length: 13,
            capacity: 14,
            labels_offset: 15,
            labels_length: 16,
        };
        for o in [ByteOrder::Little, ByteOrder::Big] {
            assert_eq!(Record::decode(&rec.encode(o), o), rec);
        }
    }
}
