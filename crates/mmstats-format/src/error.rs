//! What can be wrong with a file's bytes, and with a field a writer asks for.

use crate::codes::{Kind, ValueType};
use crate::labels::LabelError;
use crate::strings::StringError;

/// Why bytes are not a valid mmstats file or field. Carries no path: readers wrap it with one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The file is shorter than a structure it must contain.
    #[error("truncated: need {need} bytes, file has {have}")]
    Truncated {
        /// Bytes needed.
        need: u64,
        /// Bytes there.
        have: u64,
    },
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// Not an mmstats file at all.
    #[error("not an mmstats file (first bytes {0:02x?})")]
    Foreign(Vec<u8>),
    /// A version this reader does not know, newer than it.
    #[error(
        "format version {0} is newer than this reader understands (it reads 1 and 2); upgrade the tools"
    )]
    FutureVersion(u8),
    /// Required feature bits this reader does not know.
    #[error("file requires unknown features {0:#x}; upgrade the tools")]
    UnknownFeatures(u32),
    /// A header field has a value the format does not allow.
    #[error("bad header: {field} is {value}")]
    BadHeader {
        /// Name of the header field, as in FORMAT.md.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// The header's `file_length` disagrees with the file's real size.
    #[error("header says {header} bytes but the file has {actual} (truncated or replaced?)")]
    SizeMismatch {
        /// `file_length` from the header.
        header: u64,
        /// The file's size.
        actual: u64,
    },
    /// A size is beyond what the format allows a file to declare (FORMAT.md §2.4 check 8).
    #[error("{what} is {value}, more than the format allows ({max})")]
    TooLarge {
        /// What is too large, as named in FORMAT.md.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The largest allowed.
        max: u64,
    },
    /// Two records' strings or value slots share bytes (FORMAT.md §3.4).
    #[error("field {index}: {what} overlaps the {other_what} of field {other}")]
    Overlap {
        /// Index of the later record.
        index: usize,
        /// Its string or slot that overlaps.
        what: &'static str,
        /// Index of the record it overlaps.
        other: usize,
        /// Which of that record's strings or slot.
        other_what: &'static str,
    },
    /// A record or string points outside the area it must lie in.
    #[error("field {index}: {what} at offset {offset} length {len} is out of bounds")]
    OutOfBounds {
        /// Index of the record.
        index: usize,
        /// What points outside.
        what: &'static str,
        /// The offset found.
        offset: u64,
        /// The length found.
        len: u64,
    },
    /// A record is invalid for another reason.
    #[error("field {index}: {reason}")]
    BadRecord {
        /// Index of the record.
        index: usize,
        /// What is wrong.
        reason: RecordError,
    },
    /// Two records share a label.
    #[error("duplicate label {0:?}")]
    DuplicateLabel(String),
    /// A value slot holds something impossible.
    #[error("field {label:?}: corrupt value: {reason}")]
    CorruptValue {
        /// The field's label.
        label: String,
        /// What is wrong.
        reason: SlotValueError,
    },
    /// An original (version 1) file is malformed.
    #[error("version 1 file: {0}")]
    BadV1(V1Error),
    /// A HotSpot JVM's performance data file is malformed.
    #[error("{0}")]
    Hsperf(#[from] HsperfError),
    /// A field a writer asked for cannot be laid out ([`FieldError`]).
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// Why a field record is invalid (FORMAT.md §3.4), beyond bounds and overlaps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The field table ends inside the record.
    #[error("short record")]
    Short,
    /// The label is empty.
    #[error("empty label")]
    EmptyLabel,
    /// A string of the record is not UTF-8.
    #[error("{what} is not UTF-8")]
    NotUtf8 {
        /// Which string: label, help or unit.
        what: &'static str,
    },
    /// A string or the label set is longer than the format allows.
    #[error("{what} longer than {max} bytes")]
    TooLong {
        /// Which string, or the label set.
        what: &'static str,
        /// The most bytes allowed.
        max: usize,
    },
    /// The kind code is not one of FORMAT.md §3.2.
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    /// The value type code is not one of FORMAT.md §3.2.
    #[error("unknown value type {0}")]
    UnknownValueType(u8),
    /// The combine code is not one of FORMAT.md §3.2.
    #[error("unknown combine rule {0}")]
    UnknownCombine(u8),
    /// The label set does not decode or does not fit the label (FORMAT.md §3.5).
    #[error("label set of {label:?}: {error}")]
    LabelSet {
        /// The field's label.
        label: String,
        /// What is wrong with the set.
        error: LabelError,
    },
    /// Kind, value type, param and capacity do not make a slot (FORMAT.md §5).
    #[error("{label}: {error}")]
    Slot {
        /// The field's label.
        label: String,
        /// What is wrong.
        error: SlotError,
    },
    /// `value_length` is not the length the kind's slot needs.
    #[error("value_length {found} but {kind} needs {want}")]
    ValueLength {
        /// `value_length` of the record.
        found: u32,
        /// The field's kind.
        kind: Kind,
        /// The length its slot needs.
        want: u32,
    },
}

/// Why a value slot holds something impossible (FORMAT.md §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlotValueError {
    /// The field's description does not make a slot.
    #[error("{0}")]
    Slot(SlotError),
    /// The copy of the slot has fewer words than its kind needs.
    #[error("slot has {have} words, needs {need}")]
    ShortSlot {
        /// Words there.
        have: usize,
        /// Words needed.
        need: usize,
    },
    /// A text's length word is beyond its capacity.
    #[error("text length {len} exceeds capacity {capacity}")]
    TextTooLong {
        /// The length word.
        len: u64,
        /// The field's capacity.
        capacity: u32,
    },
    /// A text's bytes are not UTF-8.
    #[error("text is not UTF-8")]
    TextNotUtf8,
    /// A text field whose value type is a number.
    #[error("text field with a numeric type")]
    NumericText,
    /// Decoded as a histogram, but the field is of another kind.
    #[error("not a histogram or timer field")]
    NotAHistogram,
}

/// Why an original (version 1) file is malformed (FORMAT.md §11).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum V1Error {
    /// The first byte is not 1.
    #[error("version byte is {0}, not 1")]
    Version(u8),
    /// A part of a field runs past the end of the file.
    #[error("{what} at byte {offset} runs past the end of the file ({len} bytes)")]
    PastEnd {
        /// Which part: label, type size, type, write buffer, value(s).
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// The file's length.
        len: u64,
    },
    /// A label is not UTF-8.
    #[error("label at byte {0} is not UTF-8")]
    LabelNotUtf8(u64),
    /// A field's type is not one of the original's struct codes.
    #[error("field {label:?}: unknown type {code:?}")]
    UnknownType {
        /// The field's label.
        label: String,
        /// The type as written.
        code: String,
    },
    /// The file is larger than a version-1 file can be.
    #[error("{size} bytes is too large for a version-1 file (at most {max})")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The largest a reader accepts.
        max: u64,
    },
}

/// Why bytes are not a readable hsperfdata file (format-spec/HSPERFDATA.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HsperfError {
    /// Shorter than a structure it must contain.
    #[error("hsperfdata: truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: u64,
        /// Bytes there.
        have: u64,
    },
    /// The first bytes are not [`MAGIC`](crate::layout::MAGIC).
    #[error("not an hsperfdata file (first bytes {0:02x?})")]
    BadMagic(Vec<u8>),
    /// A major version other than 2.
    #[error("hsperfdata major version {0} is not supported (only 2, written since Java 5)")]
    Version(u8),
    /// A prologue field holds an impossible value.
    #[error("hsperfdata: bad prologue: {field} is {value}")]
    BadPrologue {
        /// The field, as named in HSPERFDATA.md.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// The JVM has not finished creating the file.
    #[error("hsperfdata: not accessible yet (the JVM is still starting); try again")]
    NotAccessible,
    /// The JVM ran out of room for entries: the table is incomplete.
    #[error(
        "hsperfdata: {0} bytes of entries overflowed the file (start the JVM with a larger -XX:PerfDataMemorySize)"
    )]
    Overflow(u32),
    /// An entry is malformed.
    #[error("hsperfdata: entry {index} at offset {offset}: {what}")]
    BadEntry {
        /// Index of the entry.
        index: usize,
        /// Offset of the entry in the file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// Two entries have the same name.
    #[error("hsperfdata: duplicate entry name {0:?}")]
    DuplicateName(String),
}

/// Why a field a writer asks for cannot be added to a file (FORMAT.md §3, §5, §7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// Its label, unit or help text is refused (§3.3).
    #[error("invalid field {label:?}: {kind}")]
    BadString {
        /// The requested label.
        label: String,
        /// What is wrong.
        kind: StringError,
    },
    /// Its label set is refused (§3.5).
    #[error("invalid field {label:?}: {source}")]
    BadLabels {
        /// The requested label.
        label: String,
        /// What is wrong.
        source: LabelError,
    },
    /// Its kind, value type, param and capacity do not make a slot (§3.2, §5).
    #[error("invalid field {label:?}: {kind}")]
    BadSlot {
        /// The requested label.
        label: String,
        /// What is wrong.
        kind: SlotError,
    },
    /// The file already has a field with this label.
    #[error("duplicate label {0:?}")]
    DuplicateLabel(String),
    /// The file's reserved capacity is used up.
    #[error("no room: {what} (reserve more capacity when creating the stats)")]
    NoRoom {
        /// Which capacity ran out.
        what: &'static str,
    },
}

/// Why a kind, value type, param and capacity do not make a value slot (FORMAT.md §3.2, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SlotError {
    /// The kind takes neither a param nor a capacity.
    #[error("{0} takes no param or capacity")]
    NoParamOrCapacity(Kind),
    /// The kind takes no param.
    #[error("{0} takes no param")]
    NoParam(Kind),
    /// The kind cannot have this value type.
    #[error("a {kind} cannot be {value_type}")]
    BadType {
        /// The kind.
        kind: Kind,
        /// The value type asked for.
        value_type: ValueType,
    },
    /// A capacity, window, slot count, width or exponent outside its range.
    #[error("{what} must be {min} to {max}")]
    OutOfRange {
        /// What is out of range, as FORMAT.md §5 names it.
        what: &'static str,
        /// The smallest allowed.
        min: u32,
        /// The largest allowed.
        max: u32,
    },
}
