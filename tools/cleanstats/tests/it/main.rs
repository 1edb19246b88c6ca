//! End-to-end tests: the real `cleanstats` binary against files in a temporary directory.

mod clean;
use mmstats_testkit::file as fixture;
mod race;
