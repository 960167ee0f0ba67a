//! `cargo fuzz run opath_parser`: see `crossforest_fuzz::opath_parser`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crossforest_fuzz::opath_parser(data));
