//! libFuzzer entry of the `put_events` target (see tests/cordon-fuzz).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    (cordon_fuzz::target("put_events").expect("a target").run)(data);
});
