//! `cargo fuzz run shell_parser`: see `crossforest_fuzz::shell_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crossforest_fuzz::shell_parser(data));
