//! libFuzzer entry of the `choice` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("choice").expect("a target").run)(data);
});
