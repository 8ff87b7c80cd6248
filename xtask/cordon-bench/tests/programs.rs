//! The bench programs run end to end on the bench definition, a few executions each: they
//! agree on its output, report the measurements `cargo xtask bench` reads, and refuse bad
//! arguments with their usage. (These tests are also why `cargo test --workspace` builds
//! both binaries, which `cargo xtask bench --quick` then runs.)
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const ENGINE: &str = env!("CARGO_BIN_EXE_engine-bench");
const SERVICE: &str = env!("CARGO_BIN_EXE_service-bench");

fn bench_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../bench")
        .join(name)
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .arg("--definition")
        .arg(bench_file("cordon-shaped.asl.json"))
        .arg("--input")
        .arg(bench_file("cordon-shaped.input.json"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"))
}

fn json(program: &str, out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{program} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{program} printed no JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn seconds(v: &Value, mode: &str) -> Vec<f64> {
    v[mode]["seconds"]
        .as_array()
        .unwrap_or_else(|| panic!("no {mode}.seconds in {v}"))
        .iter()
        .map(|s| s.as_f64().expect("a number of seconds"))
        .collect()
}

#[test]
fn the_engine_and_the_service_run_the_bench_definition_to_the_same_output() {
    let engine = json(
        ENGINE,
        &run(
            ENGINE,
            &[
                "--sequential",
                "3",
                "--concurrent",
                "2",
                "--one-call",
                "1",
                "--runs",
                "2",
                "--warmup",
                "1",
            ],
        ),
    );
    for mode in ["sequential", "concurrent", "one_call"] {
        let runs = seconds(&engine, mode);
        assert_eq!(runs.len(), 2, "{mode}: {engine}");
        assert!(runs.iter().all(|s| *s > 0.0), "{mode}: {engine}");
    }
    assert_eq!(engine["sequential"]["executions"], 3);
    // The auto-containment path: OpenIncident, IsNewIncident, Enrich, Route, Quarantine, Tag,
    // NotifyContained, CloseContained and Contained, each entered once.
    assert_eq!(engine["transitions_per_execution"], 9, "{engine}");
    // The counting allocator: one figure per sequential run.
    let allocations = engine["allocations_per_execution"]
        .as_array()
        .unwrap_or_else(|| panic!("no allocations_per_execution in {engine}"));
    assert_eq!(allocations.len(), 2, "{engine}");
    assert!(
        allocations.iter().all(|a| a.as_f64() > Some(0.0)),
        "{engine}"
    );
    assert!(engine["output"].is_object(), "{engine}");

    let service = json(
        SERVICE,
        &run(
            SERVICE,
            &[
                "--executions",
                "4",
                "--in-flight",
                "4",
                "--runs",
                "1",
                "--warmup",
                "1",
                "--poll-ms",
                "5",
                "--max-seconds",
                "60",
            ],
        ),
    );
    assert_eq!(
        service["output"], engine["output"],
        "the service and the engine end the same execution differently"
    );
}

#[test]
fn bad_arguments_get_the_usage_and_exit_code_2() {
    for program in [ENGINE, SERVICE] {
        let out = Command::new(program)
            .arg("--input")
            .arg(bench_file("cordon-shaped.input.json"))
            .output()
            .expect("starting the bench program");
        assert_eq!(out.status.code(), Some(2), "{program}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--definition is required"), "{stderr}");
        assert!(stderr.contains("usage:"), "{stderr}");

        let out = run(program, &["--runs", "many"]);
        assert_eq!(out.status.code(), Some(2), "{program}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--runs many"),
            "{program}"
        );
    }
}
