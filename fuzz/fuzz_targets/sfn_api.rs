//! libFuzzer entry of the `sfn_api` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("sfn_api").expect("a target").run)(data);
});
