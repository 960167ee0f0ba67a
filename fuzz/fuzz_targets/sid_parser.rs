//! `cargo fuzz run sid_parser`: see `crossforest_fuzz::sid_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crossforest_fuzz::sid_parser(data));
