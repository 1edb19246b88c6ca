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
    #[error("field {index}: {what}")]
    BadRecord {
        /// Index of the record.
        index: usize,
        /// What is wrong.
        what: String,
    },
    /// Two records share a label.
    #[error("duplicate label {0:?}")]
    DuplicateLabel(String),
    /// A value slot holds something impossible.
    #[error("field {label:?}: corrupt value: {what}")]
    CorruptValue {
        /// The field's label.
        label: String,
        /// What is wrong.
        what: String,
    },
    /// An original (version 1) file is malformed.
    #[error("version 1 file: {0}")]
    BadV1(String),
    /// A HotSpot JVM's performance data file is malformed.
    #[error("{0}")]
    Hsperf(#[from] crate::hsperf::HsperfError),
    /// A field a writer asked for cannot be laid out ([`FieldError`]).
    #[error(transparent)]
    Field(#[from] FieldError),
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
