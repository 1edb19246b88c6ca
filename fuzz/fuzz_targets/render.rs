//! Fuzz target `render`: see `mmstats_fuzzing::render_all`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mmstats_fuzzing::render_all(data));
