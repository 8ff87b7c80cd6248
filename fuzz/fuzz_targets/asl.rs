//! libFuzzer entry of the `asl` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("asl").expect("a target").run)(data);
});
