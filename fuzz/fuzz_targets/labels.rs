//! Fuzz target `labels`: see `mmstats_fuzzing::labels`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::labels(data));
