//! End-to-end tests: the real `slurpstats` binary against files in a temporary directory.

mod fixture;
mod slurp;
