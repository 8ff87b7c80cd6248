//! Cordon's fuzz targets, in one place for both of their runners:
//!
//! - `fuzz/` (cargo-fuzz, nightly, not a workspace member): `cargo xtask fuzz` runs each
//!   target under libFuzzer, coverage-guided, seeded from [`Target::seeds`];
//! - `tests/smoke.rs` (stable, in `cargo test`): each target on its seeds and a fixed
//!   number of deterministic mutations of them ([`mutate`]), so a regression a fuzzer
//!   found once stays found.
//!
//! A target takes arbitrary bytes and must never panic, hang or abort: whatever it is fed
//! is either parsed or refused with an error. Targets whose input has two parts (a pattern
//! and an event, a path and a document) split it at the first [`SEPARATOR`] byte, which
//! valid UTF-8 never contains.
//!
//! - `targets/event.rs`: EventBridge envelope and CloudTrail parsing, classification;
//! - `targets/asl.rs`: the engine's ASL parser and validator, and runs of what it accepts
//!   (intrinsic functions and Choice rules in their own wrappers);
//! - `targets/jsonpath.rs`: ASL's JSONPath, reference paths and `put`;
//! - `targets/pattern.rs`: the EventBridge pattern parser and matcher;
//! - `targets/api.rs`: the Step Functions and PutEvents API request parsers, over loopback;
//! - `seeds.rs`: where the seeds come from; `mutate.rs`: the deterministic mutator;
//!   `input.rs`: two-part inputs; `runtime.rs`: the async targets' runtime.
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

mod input;
mod mutate;
mod runtime;
mod seeds;
mod targets;

pub use input::{SEPARATOR, join, split};
pub use mutate::mutate;
pub use seeds::shared_dir;

/// One fuzz target.
pub struct Target {
    /// The cargo-fuzz target name (`fuzz/fuzz_targets/<name>.rs`).
    pub name: &'static str,
    /// Feeds one input; panics only on a bug.
    pub run: fn(&[u8]),
    /// The starting corpus.
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "event",
        run: targets::event::run,
        seeds: seeds::events,
    },
    Target {
        name: "asl",
        run: targets::asl::run,
        seeds: seeds::definitions,
    },
    Target {
        name: "intrinsics",
        run: targets::asl::run_intrinsic,
        seeds: seeds::intrinsics,
    },
    Target {
        name: "choice",
        run: targets::asl::run_choice,
        seeds: seeds::choice_rules,
    },
    Target {
        name: "jsonpath",
        run: targets::jsonpath::run,
        seeds: seeds::paths,
    },
    Target {
        name: "pattern",
        run: targets::pattern::run,
        seeds: seeds::patterns,
    },
    Target {
        name: "put_events",
        run: targets::api::put_events,
        seeds: seeds::put_events_requests,
    },
    Target {
        name: "sfn_api",
        run: targets::api::sfn,
        seeds: seeds::sfn_requests,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
