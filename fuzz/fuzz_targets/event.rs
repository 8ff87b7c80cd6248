//! libFuzzer entry of the `event` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("event").expect("a target").run)(data);
});
