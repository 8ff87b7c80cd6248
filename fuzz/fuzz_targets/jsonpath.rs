//! libFuzzer entry of the `jsonpath` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("jsonpath").expect("a target").run)(data);
});
