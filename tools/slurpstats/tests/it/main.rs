//! End-to-end tests: the real `slurpstats` binary against files in a temporary directory.

use mmstats_testkit::file as fixture;
mod slurp;
