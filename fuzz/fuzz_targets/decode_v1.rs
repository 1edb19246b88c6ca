//! Fuzz target `decode_v1`: see `mmstats_fuzzing::decode_v1`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::decode_v1(data));
