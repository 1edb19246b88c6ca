//! Integration tests of the writer: every check reads the file's bytes with `mmstats-format`
//! alone, so the writer is tested against the format, not against a reader built alongside it.

mod create;
mod descriptors;
mod fallback;
mod fields;
mod file;
mod kinds;
mod labels;
mod lifecycle;
mod model;
mod totals;

/// Runs a test again in a child process with a private stats directory, so per-process state
/// (thread-local instances, process totals, removal at exit) starts empty and its exit can be
/// observed; the kit checks that the child really ran the test.
pub(crate) use mmstats_testkit::child::{child_output_in as child_output, is_child, run_in_child};
