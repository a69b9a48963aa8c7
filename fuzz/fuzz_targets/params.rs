#![no_main]
// Body in fuzz/src/lib.rs, shared with the regression replay test.
libfuzzer_sys::fuzz_target!(|data: &[u8]| inkan_fuzz::params(data));
