//! libFuzzer entry of the `pattern` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("pattern").expect("a target").run)(data);
});
