//! Integration tests of the writer: every check reads the file's bytes with `mmstats-format`
//! alone, so the writer is tested against the format, not against a reader built alongside it.

mod create;
mod fields;
mod file;
mod lifecycle;
mod model;
