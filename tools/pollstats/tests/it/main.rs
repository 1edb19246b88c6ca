//! End-to-end tests: the real `pollstats` binary against files in a temporary directory.

#[path = "../../../slurpstats/tests/it/fixture.rs"]
mod fixture;
mod lines;
