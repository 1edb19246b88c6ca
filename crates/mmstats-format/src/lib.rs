//! The mmstats file format: layout constants, codecs and value decoding, with no I/O and no
//! `unsafe`. The writer (`mmstats`) and the reader (`mmstats-reader`) both build on it, so they
//! cannot disagree; `format-spec/FORMAT.md` is the document it implements.
//!
//! ```
//! use mmstats_format::{FieldMeta, Kind, Plan, Reserve, ValueType, Header, Identity};
//!
//! // Lay out a file with one counter, as a writer does before naming the file.
//! let counter = FieldMeta::new("requests", Kind::Counter, ValueType::U64);
//! let mut plan = Plan::new(std::slice::from_ref(&counter), Reserve::default())?;
//! let mut image = vec![0u8; plan.geometry().file_length as usize];
//! plan.place(&counter)?.apply_to_image(&mut image);
//! let header = plan.header(Identity { pid: 42, ..Identity::default() });
//! image[..256].copy_from_slice(&header.encode());
//!
//! // A reader validates it.
//! let back = Header::decode(&image, image.len() as u64)?;
//! assert_eq!(back.identity.pid, 42);
//! assert_eq!(back.live.field_count, 1);
//! # Ok::<(), mmstats_format::FormatError>(())
//! ```
#![forbid(unsafe_code)]

pub use bytes::ByteOrder;
pub use codes::{Combine, Kind, ValueType};
pub use detection::{Detected, detect};
pub use error::{FieldError, FormatError, RecordError, SlotError, SlotValueError, V1Error};
pub use field::{Field, FieldMeta, Record, TableView, decode_file, slot_length};
pub use header::{Geometry, Header, Identity, Live, parse_boot_id};
pub use histogram::{
    Buckets, HistogramValue, QUANTILES, bucket_bounds, bucket_index, full_bucket_count,
    used_buckets,
};
pub use labels::{LabelError, series_key};
pub use merge::{fold, folds, merge};
pub use num::Num;
pub use plan::{Placement, Plan, Reserve};
pub use procstat::{StatLine, parse_start_time};
pub use strings::truncate_utf8;
pub use time::{time_from_ns, unix_seconds};
pub use value::{
    MovingAverageValue, Value, histogram_derived_values, initial_words, slot_words, text_words,
};
pub use windowed::{Period, WindowSummary, WindowedValue};

mod bytes;
mod codes;
mod detection;
mod error;
mod field;
mod header;
mod histogram;
pub mod hsperf;
pub mod labels;
pub mod layout;
mod merge;
pub mod names;
mod num;
mod plan;
mod procstat;
pub mod strings;
mod time;
pub mod v1;
mod value;
pub mod vector;
mod windowed;
