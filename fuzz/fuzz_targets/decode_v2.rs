//! Fuzz target `decode_v2`: see `mmstats_fuzzing::decode_v2`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::decode_v2(data));
