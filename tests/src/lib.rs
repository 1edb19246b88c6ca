//! Helpers for the cross-process tests: a per-test stats directory and the writer child.
