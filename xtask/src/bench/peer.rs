//! The engine side by side with npm `aws-local-stepfunctions`: the package is installed into
//! a scratch folder (next to the build output, never into the repository), then the engine
//! bench and `xtask/bench/als-bench.mjs` run the same definition and input sequentially,
//! alternating run by run (engine first in even rounds, the package first in odd ones), so
//! that a change in the machine's load hits both.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::Value;

use super::model::{INPUT, Plan};
use crate::util;

pub const PACKAGE: &str = "aws-local-stepfunctions";
pub const VERSION: &str = "3.0.0";
const SCRIPT: &str = "xtask/bench/als-bench.mjs";

/// One definition measured on both.
pub struct PeerComparison {
    /// What the definition is, for the report.
    pub label: String,
    /// Relative to the workspace root.
    pub definition: String,
    pub transitions: usize,
    pub executions: usize,
    /// Seconds of each engine run, in round order.
    pub engine_seconds: Vec<f64>,
    /// Allocations and bytes allocated per execution, per engine run.
    pub engine_allocations: Vec<f64>,
    pub engine_allocated_bytes: Vec<f64>,
    /// Seconds of each aws-local-stepfunctions run, in round order.
    pub peer_seconds: Vec<f64>,
    /// Whether both produced the same final output.
    pub same_output: bool,
}

/// What ran, for the report.
pub struct PeerSetup {
    pub package: String,
    pub node: String,
    pub comparisons: Vec<PeerComparison>,
}

/// Installs `aws-local-stepfunctions@3.0.0` with npm into `<target>/xtask-bench/npm` (once;
/// a marker records the version) and returns that folder.
fn install(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = util::target_dir(root).join("xtask-bench/npm");
    let marker = dir.join(".cordon-installed");
    let wanted = format!("{PACKAGE}@{VERSION}");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // A package.json of its own, so npm installs here and not into a parent project.
    std::fs::write(
        dir.join("package.json"),
        "{\"name\": \"cordon-bench-peer\", \"private\": true}\n",
    )?;
    eprintln!("xtask bench: npm install {wanted} into {}", dir.display());
    util::run(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                &wanted,
            ])
            .current_dir(&dir),
        "npm install (are node and npm installed?)",
    )?;
    std::fs::write(&marker, &wanted)?;
    Ok(dir)
}

/// Runs both on each definition (`(label, path relative to the root)`), alternating.
pub fn compare(
    root: &Path,
    plan: &Plan,
    engine_bin: &Path,
    definitions: &[(&str, &str)],
) -> anyhow::Result<PeerSetup> {
    let npm = install(root)?;
    let node = first_line(Command::new("node").arg("--version"));
    let mut comparisons = Vec::new();
    let mut package = String::new();
    for (label, definition) in definitions {
        let mut c = PeerComparison {
            label: (*label).to_owned(),
            definition: (*definition).to_owned(),
            transitions: 0,
            executions: plan.peer_executions,
            engine_seconds: Vec::new(),
            engine_allocations: Vec::new(),
            engine_allocated_bytes: Vec::new(),
            peer_seconds: Vec::new(),
            same_output: false,
        };
        let mut outputs = (Value::Null, Value::Null);
        for round in 0..plan.peer_rounds {
            let order = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for engine_turn in order {
                if engine_turn {
                    let v = run_engine(root, engine_bin, definition, plan)?;
                    c.transitions = v["transitions_per_execution"].as_u64().unwrap_or(0) as usize;
                    c.engine_seconds.push(first(&v["sequential"]["seconds"])?);
                    c.engine_allocations
                        .push(first(&v["allocations_per_execution"])?);
                    c.engine_allocated_bytes
                        .push(first(&v["allocated_bytes_per_execution"])?);
                    outputs.0 = v["output"].clone();
                } else {
                    let v = run_peer(root, &npm, definition, plan)?;
                    c.peer_seconds.push(
                        v["seconds"]
                            .as_f64()
                            .context("als-bench printed no seconds")?,
                    );
                    package = v["package"].as_str().unwrap_or_default().to_owned();
                    outputs.1 = v["output"].clone();
                }
            }
        }
        c.same_output = outputs.0 == outputs.1;
        if !c.same_output {
            eprintln!(
                "xtask bench: warning: {label}: the engine's and {PACKAGE}'s outputs differ\n  engine: {}\n  peer:   {}",
                outputs.0, outputs.1
            );
        }
        eprintln!(
            "xtask bench: {label}: engine {:.1} µs/transition, {PACKAGE} {:.1} (median runs)",
            c.engine_us(),
            c.peer_us()
        );
        comparisons.push(c);
    }
    Ok(PeerSetup {
        package,
        node,
        comparisons,
    })
}

impl PeerComparison {
    fn us(&self, seconds: &[f64]) -> f64 {
        super::model::median(seconds) * 1e6 / (self.executions * self.transitions.max(1)) as f64
    }

    /// µs per state transition in the median engine run.
    pub fn engine_us(&self) -> f64 {
        self.us(&self.engine_seconds)
    }

    /// µs per state transition in the median aws-local-stepfunctions run.
    pub fn peer_us(&self) -> f64 {
        self.us(&self.peer_seconds)
    }
}

fn first(v: &Value) -> anyhow::Result<f64> {
    v.as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_f64)
        .with_context(|| format!("expected a list of numbers, got {v}"))
}

fn run_engine(root: &Path, bin: &Path, definition: &str, plan: &Plan) -> anyhow::Result<Value> {
    let n = plan.peer_executions.to_string();
    let warmup = plan.peer_warmup.to_string();
    json_of(
        Command::new(bin)
            .arg("--definition")
            .arg(root.join(definition))
            .arg("--input")
            .arg(root.join(INPUT))
            .args(["--sequential", &n, "--concurrent", "0", "--one-call", "0"])
            .args(["--runs", "1", "--warmup", &warmup])
            .args(["--single-thread", "1"]),
        "engine-bench",
    )
}

fn run_peer(root: &Path, npm: &Path, definition: &str, plan: &Plan) -> anyhow::Result<Value> {
    json_of(
        Command::new("node")
            .arg(root.join(SCRIPT))
            .arg(npm)
            .arg(root.join(definition))
            .arg(root.join(INPUT))
            .arg(plan.peer_executions.to_string())
            .arg(plan.peer_warmup.to_string()),
        "als-bench.mjs",
    )
}

/// Runs a bench process and parses the one JSON object it prints.
fn json_of(cmd: &mut Command, what: &str) -> anyhow::Result<Value> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{what} did not print one JSON object"))
}

fn first_line(cmd: &mut Command) -> String {
    cmd.stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
