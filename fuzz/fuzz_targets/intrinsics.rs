//! libFuzzer entry of the `intrinsics` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("intrinsics").expect("a target").run)(data);
});
