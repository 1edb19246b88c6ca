//! Fuzz target `mmash_request`: see `mmstats_fuzzing::mmash_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::mmash_request(data));
