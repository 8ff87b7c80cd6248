//! Shared helpers for the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;

use serde_json::Value;

/// The shared fixture corpus: `$CORDON_FIXTURES_DIR`, else
/// `$CARGO_MANIFEST_DIR/../../../shared/fixtures/events`. Panics (fails loudly) if absent.
pub fn shared_fixtures_dir() -> PathBuf {
    let dir = match std::env::var_os("CORDON_FIXTURES_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/events"),
    };
    assert!(
        dir.is_dir(),
        "fixture corpus not found at {}: set CORDON_FIXTURES_DIR to the folder holding the \
         EventBridge fixture events",
        dir.display()
    );
    dir
}

/// This crate's own extra fixtures.
pub fn own_fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn json_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

pub fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

pub fn shared(name: &str) -> Value {
    load(&shared_fixtures_dir().join(name))
}

/// The home account of the shared fixtures (their README: `111122223333`; the attacker's
/// account is `444455556666`). Tests classify them as the stack of that account would.
pub fn home() -> cordon_core::model::AccountId {
    cordon_core::model::AccountId::parse("111122223333").expect("a valid account id")
}
