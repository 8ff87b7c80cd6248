//! The full-stack runs, taken from the test suite at the plan's size: each test writes its
//! figures as JSON to the file its report variable names, and the bench renders them.
//!
//! - `tests/tests/burst/main.rs`: CreateUser incidents delivered at once through PutEvents,
//!   the rules, the engine and the real handlers, against moto behind the fault proxy (a
//!   fifth of the calls failed, IAM's mutating calls rate-limited);
//! - `cli/tests/crash_recovery.rs`: the real `cordon local up` SIGKILLed three times
//!   while a burst of incidents runs, restarted on the same database each time.
//!
//! They run as `cargo test` runs them (the test profile the suite has just built, not a
//! release build): what they measure is dominated by moto and the injected faults.
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::Value;

use super::model::{FullStackRun, Plan};

mod report;
use crate::{moto, util};
pub use report::{burst_section, crash_section};

/// The burst at `plan.burst_incidents`.
pub fn burst(root: &Path, plan: &Plan, server: &moto::Moto) -> anyhow::Result<FullStackRun> {
    run_test(
        root,
        server,
        "burst",
        "a_burst_under_faults_contains_every_incident_exactly_once",
        &[("CORDON_BURST_SIZE", plan.burst_incidents.to_string())],
        "CORDON_BURST_REPORT",
    )
}

/// The crash-recovery run at `plan.crash_incidents`.
pub fn crash(root: &Path, plan: &Plan, server: &moto::Moto) -> anyhow::Result<FullStackRun> {
    run_test(
        root,
        server,
        "crash_recovery",
        "sigkill_three_times_mid_burst_loses_nothing_and_runs_nothing_twice",
        &[("CORDON_CRASH_INCIDENTS", plan.crash_incidents.to_string())],
        "CORDON_CRASH_REPORT",
    )
}

/// Runs one test of `tests/` (or `cli/tests/`) with `env`, and reads the JSON it wrote to
/// the file named by `report_var`.
fn run_test(
    root: &Path,
    server: &moto::Moto,
    binary: &str,
    test: &str,
    env: &[(&str, String)],
    report_var: &str,
) -> anyhow::Result<FullStackRun> {
    let dir = util::target_dir(root).join("xtask-bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let report = dir.join(format!("{binary}.json"));
    let _ = std::fs::remove_file(&report);
    let mut cmd = util::cargo(root);
    // `--workspace`: the suite's feature set, so after `cargo xtask test` nothing is rebuilt;
    // on a fresh clone only this test and what it links are built.
    cmd.args(["test", "--workspace", "--test", binary, "--"])
        .args(["--exact", test, "--nocapture"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env(report_var, &report)
        // The burst splits the CPU time it measures between moto and the test process.
        .env("CORDON_MOTO_PID", server.pid().to_string());
    server.export_to(&mut cmd);
    let started = Instant::now();
    // A test that fails its assertions has written its figures first: they are reported,
    // with the failure, rather than lost (a failure is a result too).
    let passed = util::run(&mut cmd, &format!("the {binary} test ({test})"))
        .inspect_err(|e| eprintln!("xtask bench: {e:#}; reporting its figures as a failure"))
        .is_ok();
    let wall_seconds = started.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("the {binary} test wrote no report to {}", report.display()))?;
    let report: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", report.display()))?;
    if !report.is_object() {
        bail!("{}: the report is not an object", report);
    }
    Ok(FullStackRun {
        report,
        wall_seconds,
        passed,
    })
}
