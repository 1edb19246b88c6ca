//! End-to-end tests: the real `cleanstats` binary against files in a temporary directory.

mod clean;
#[path = "../../../slurpstats/tests/it/fixture.rs"]
mod fixture;
mod race;
