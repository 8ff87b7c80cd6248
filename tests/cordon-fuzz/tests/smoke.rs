//! Every fuzz target on its seeds and a fixed number of deterministic mutations of them:
//! the stable-toolchain run of what `cargo xtask fuzz` runs under libFuzzer. A failure
//! here names the target and prints the input so it can become a regression test and a
//! seed.
//!
//! `CORDON_FUZZ_ITERATIONS` sets the mutations per target (default 300).
use std::panic::{AssertUnwindSafe, catch_unwind};

fn iterations() -> usize {
    std::env::var("CORDON_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn exercise(name: &str) {
    let target = cordon_fuzz::target(name).expect("a target");
    let seeds = (target.seeds)();
    assert!(!seeds.is_empty(), "{name} has no seeds");
    let feed = |input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err() {
            panic!(
                "fuzz target {name} panicked on this input:\n{:?}",
                String::from_utf8_lossy(input)
            );
        }
    };
    for seed in &seeds {
        feed(seed);
    }
    let mut rng = fastrand::Rng::with_seed(0x0c0d_0016);
    for _ in 0..iterations() {
        let seed = &seeds[rng.usize(0..seeds.len())];
        let other = &seeds[rng.usize(0..seeds.len())];
        feed(&cordon_fuzz::mutate(seed, other, &mut rng));
    }
}

#[test]
fn every_target_has_a_test_here() {
    let names: Vec<_> = cordon_fuzz::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "event",
            "asl",
            "intrinsics",
            "choice",
            "jsonpath",
            "pattern",
            "put_events",
            "sfn_api"
        ]
    );
}

#[test]
fn event() {
    exercise("event");
}

#[test]
fn asl() {
    exercise("asl");
}

#[test]
fn intrinsics() {
    exercise("intrinsics");
}

#[test]
fn choice() {
    exercise("choice");
}

#[test]
fn jsonpath() {
    exercise("jsonpath");
}

#[test]
fn pattern() {
    exercise("pattern");
}

#[test]
fn put_events() {
    exercise("put_events");
}

#[test]
fn sfn_api() {
    exercise("sfn_api");
}
