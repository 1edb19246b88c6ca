//! End-to-end tests: the real `pollstats` binary against files in a temporary directory.

use mmstats_testkit::file as fixture;
mod lines;
