//! Fuzz target `decode_hsperf`: see `mmstats_fuzzing::decode_hsperf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::decode_hsperf(data));
