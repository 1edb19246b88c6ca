//! Times as Unix seconds and nanoseconds, as files record them: the format crate's one
//! conversion, under the name the reader's modules use.

pub(crate) use mmstats_format::{time_from_ns, unix_seconds};
