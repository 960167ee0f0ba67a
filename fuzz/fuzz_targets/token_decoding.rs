//! `cargo fuzz run token_decoding`: see `crossforest_fuzz::token_decoding`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| crossforest_fuzz::token_decoding(data));
