//! `cargo xtask bench`: measures the embedded engine on a Cordon-shaped definition, the durable
//! local Step Functions service (`cordon-sfn-local`) under load with the same definition, then
//! the same definition on moto's Step Functions executor, then the whole local stack under a
//! burst of incidents with injected faults, fuzzes every target, and writes `BENCHMARKS.md`
//! from that run.
//!
//! The engine half is `engine-bench` and the service half `service-bench`, the binaries of
//! `xtask/cordon-bench` (so `cargo xtask` itself never compiles the engine or the SDK), built
//! with `--release` as the task binaries are. `--quick` is a smoke test of the bench itself:
//! it runs the dev builds `cargo xtask test` has already made, so in CI it compiles nothing
//! (see [`Build`]).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::{moto, util};

mod builds;
pub mod coldstart;
mod definitions;
mod fullstack;
mod host;
mod model;
mod peer;
mod report;
mod sfn;

use host::{command_line, load_average, read, release_profile, utc_now};
use model::*;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let plan = match args {
        [] => Plan::full(),
        [q] if q == "--quick" => Plan::quick(),
        _ => bail!("usage: cargo xtask bench [--quick]"),
    };
    let started = Instant::now();
    let root = util::workspace_root()?;
    let definition = definitions::generate(&root)?;
    let input = read(&root, INPUT)?;
    let mut machine = Machine::probe(&root)?;

    // A full run's unmeasured builds start now, at the lowest priority (see `builds.rs`).
    let builds = if plan.quick {
        None
    } else {
        Some(builds::Builds::start(&root)?)
    };
    eprintln!(
        "xtask bench: building the bench programs ({})",
        plan.build.describe()
    );
    build_programs(&root, plan.build)?;
    let venv = moto::ensure_venv(&root)?;
    if let Some(builds) = &builds {
        builds.pause()?;
    }

    eprintln!("xtask bench: the engine bench");
    let engine = engine_bench(&root, &plan)?;
    eprintln!(
        "xtask bench: engine: {:.0} executions/s sequential, {:.0} concurrent (median)",
        engine.sequential.median_rate(),
        engine.concurrent.median_rate()
    );

    eprintln!(
        "xtask bench: the engine beside {} {}",
        peer::PACKAGE,
        peer::VERSION
    );
    let peers = peer::compare(
        &root,
        &plan,
        &program_binary(&root, plan.build, "engine-bench"),
        &[
            ("Pass-state copy", definitions::PASS),
            ("Cordon-shaped, no-op Lambda tasks", definitions::SHAPED),
        ],
    )?;
    eprintln!("xtask bench: the durable service bench");
    let service = service_bench(&root, &plan, "normal", plan.service_runs)?;
    eprintln!(
        "xtask bench: service: {} x {} executions, {:.0} executions/s (median run), none lost",
        service.runs.len(),
        plan.service_executions,
        service.mode().median_rate(),
    );
    eprintln!("xtask bench: the durable service again, synchronous=FULL");
    let service_full = service_bench(&root, &plan, "full", 1)?;
    eprintln!(
        "xtask bench: service, synchronous=FULL: {:.0} executions/s",
        service_full.mode().median_rate(),
    );

    let server = moto::Moto::start(&root, &venv)?;
    eprintln!(
        "xtask bench: moto {} listening on {}",
        moto::MOTO_VERSION,
        server.endpoint()
    );
    let moto = moto_bench(&server.endpoint(), &venv, &plan, &definition, &input)?;

    // Nothing from here on measures time on the CPU as the engine, service and moto benches
    // do: the builds take what the full-stack runs leave.
    if let Some(builds) = &builds {
        builds.resume()?;
    }
    eprintln!(
        "xtask bench: the full stack: {} CreateUser incidents at once under faults \
         (tests/tests/burst/main.rs)",
        plan.burst_incidents
    );
    let burst = fullstack::burst(&root, &plan, &server)?;
    eprintln!(
        "xtask bench: crash recovery: {} incidents, cordon local up SIGKILLed three times \
         (cli/tests/crash_recovery.rs)",
        plan.crash_incidents
    );
    let crash = fullstack::crash(&root, &plan, &server)?;
    let built = match builds {
        Some(builds) => Some(builds.finish()?),
        None => None,
    };
    let (coldstart, fuzzing) = match built {
        Some(built) => {
            eprintln!(
                "xtask bench: task cold start beside Python 3.11 + boto3 under awslambdaric \
                 (release builds of the task binaries)"
            );
            let coldstart =
                coldstart::measure(&root, false, &server.endpoint(), Some(built.tasks))?;
            (Some(coldstart), Some((built.fuzzing, built.fuzz)))
        }
        None => (None, None),
    };
    drop(server);
    let fuzz = match (plan.fuzz_seconds, fuzzing) {
        (Some(seconds), Some((fuzzing, built))) => {
            eprintln!("xtask bench: every fuzz target for {seconds} s (cargo xtask fuzz)");
            Some(fuzzing.run(seconds, crate::fuzz::TARGETS, &built)?)
        }
        _ => None,
    };
    eprintln!(
        "xtask bench: moto: {:.2} executions/s sequential, {:.2} concurrent (median)",
        moto.sequential.median_rate(),
        moto.concurrent.median_rate()
    );

    if engine.output != moto.output {
        eprintln!(
            "xtask bench: warning: the executors' outputs differ\n  engine: {}\n  moto:   {}",
            engine.output, moto.output
        );
    }
    if service.output != engine.output {
        eprintln!(
            "xtask bench: warning: the service's output differs from the engine's\n  engine:  {}\n  service: {}",
            engine.output, service.output
        );
    }
    machine.load_after = load_average();
    machine.wall_seconds = started.elapsed().as_secs_f64();
    let text = report::render(
        &machine,
        &plan,
        &engine,
        &peers,
        (&service, &service_full),
        &moto,
        &report::Extras {
            burst,
            crash,
            fuzz,
            coldstart,
        },
    );
    // A quick run is a smoke test: it must not replace the committed figures.
    let out = if plan.quick {
        let dir = util::target_dir(&root).join("xtask-bench");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        dir.join("BENCHMARKS-quick.md")
    } else {
        root.join(OUTPUT)
    };
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "xtask bench: wrote {} (this run took {:.0} s)",
        out.display(),
        machine.wall_seconds
    );
    Ok(())
}

/// Runs one of the bench programs (`xtask/cordon-bench`, built by [`build_programs`]) on the
/// bench definition and input, and returns the one JSON object it prints.
fn run_program(
    root: &Path,
    build: Build,
    program: &str,
    flags: &[(&str, usize)],
    extra: &[&str],
) -> anyhow::Result<Value> {
    let binary = program_binary(root, build, program);
    let mut cmd = Command::new(&binary);
    cmd.arg("--definition").arg(root.join(DEFINITION));
    cmd.arg("--input").arg(root.join(INPUT));
    for (flag, n) in flags {
        cmd.arg(flag).arg(n.to_string());
    }
    cmd.args(extra);
    cmd.stdin(Stdio::null()).stderr(Stdio::inherit());
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", binary.display()))?;
    if !out.status.success() {
        bail!("{program} failed ({})", out.status);
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{program} did not print one JSON object"))
}

/// Compiles both bench programs.
///
/// A release build is `cargo build --release --bin engine-bench --bin service-bench` at the
/// workspace root, which resolves features as the `cordon` binary does. A dev build is
/// `cargo test --workspace --no-run`: the build `cargo xtask test` made (the package's tests
/// run both programs), so after the suite it compiles nothing.
fn build_programs(root: &Path, build: Build) -> anyhow::Result<()> {
    let mut cmd = util::cargo(root);
    let what = match build {
        Build::Release => {
            cmd.args([
                "build",
                "--release",
                "--bin",
                "engine-bench",
                "--bin",
                "service-bench",
            ]);
            "cargo build --release --bin engine-bench --bin service-bench"
        }
        Build::Dev => {
            cmd.args(["test", "--workspace", "--no-run", "--quiet"]);
            "cargo test --workspace --no-run"
        }
    };
    util::run(&mut cmd, what)
}

/// Where cargo puts one of the bench programs built as `build` says ([`build_programs`]).
fn program_binary(root: &Path, build: Build, program: &str) -> PathBuf {
    util::target_dir(root).join(build.dir()).join(program)
}

fn engine_bench(root: &Path, plan: &Plan) -> anyhow::Result<EngineResults> {
    let v = run_program(
        root,
        plan.build,
        "engine-bench",
        &[
            ("--sequential", plan.engine_sequential),
            ("--concurrent", plan.engine_concurrent),
            ("--one-call", plan.engine_one_call),
            ("--runs", plan.engine_runs),
            ("--warmup", plan.engine_warmup),
        ],
        &[],
    )?;
    let count = |key: &str| {
        v[key]
            .as_u64()
            .with_context(|| format!("the engine bench printed no {key}"))
    };
    let mode = |key: &str| -> anyhow::Result<Mode> {
        let m = &v[key];
        Ok(Mode {
            executions: m["executions"]
                .as_u64()
                .with_context(|| format!("no {key}.executions"))? as usize,
            seconds: m["seconds"]
                .as_array()
                .with_context(|| format!("no {key}.seconds"))?
                .iter()
                .filter_map(Value::as_f64)
                .collect(),
        })
    };
    Ok(EngineResults {
        clock: v["clock"].as_str().unwrap_or("unknown").to_owned(),
        worker_threads: count("worker_threads")?,
        transitions: count("transitions_per_execution")? as usize,
        history_events: count("history_events_per_execution")? as usize,
        output: v["output"].clone(),
        sequential: mode("sequential")?,
        concurrent: mode("concurrent")?,
        one_call: mode("one_call")?,
    })
}

/// The durable service bench, its commits as `synchronous` says (`normal` or `full`), with
/// `runs` measured runs.
fn service_bench(
    root: &Path,
    plan: &Plan,
    synchronous: &str,
    runs: usize,
) -> anyhow::Result<ServiceResults> {
    let v = run_program(
        root,
        plan.build,
        "service-bench",
        &[
            ("--executions", plan.service_executions),
            ("--in-flight", plan.service_in_flight),
            ("--runs", runs),
            ("--warmup", plan.service_warmup),
            ("--poll-ms", plan.service_poll_ms),
            ("--max-seconds", plan.service_max_seconds),
        ],
        &["--synchronous", synchronous],
    )?;
    parse_service(&v)
}

fn parse_service(v: &Value) -> anyhow::Result<ServiceResults> {
    let count = |v: &Value, key: &str| {
        v[key]
            .as_u64()
            .with_context(|| format!("the service bench printed no {key}"))
    };
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or("unknown").to_owned();
    let latency = |v: &Value| -> anyhow::Result<Latency> {
        let num = |k: &str| {
            v[k].as_f64()
                .with_context(|| format!("the service bench printed no latency {k}"))
        };
        Ok(Latency {
            count: count(v, "count")? as usize,
            p50: num("p50")?,
            p99: num("p99")?,
            max: num("max")?,
        })
    };
    let files = |v: &Value| DbFiles {
        db: v["db_bytes"].as_u64().unwrap_or(0),
        wal: v["wal_bytes"].as_u64().unwrap_or(0),
        shm: v["shm_bytes"].as_u64().unwrap_or(0),
    };
    let mut runs = Vec::new();
    for r in v["runs"]
        .as_array()
        .context("the service bench printed no runs")?
    {
        let executions = count(r, "executions")? as usize;
        if count(r, "succeeded")? as usize != executions || count(r, "lost")? != 0 {
            bail!("the service bench reported a run with lost or failed executions: {r}");
        }
        let run = ServiceRun {
            executions,
            seconds: r["seconds"].as_f64().context("no run seconds")?,
            describe_calls: count(r, "describe_calls")? as usize,
            sweeps: count(r, "sweeps")? as usize,
            peak_active: count(r, "peak_active")? as usize,
            client: latency(&r["client_latency_ms"])?,
            server: latency(&r["server_latency_ms"])?,
        };
        if run.client.count != executions || run.server.count != executions {
            bail!("the service bench timed only some executions of a run: {r}");
        }
        runs.push(run);
    }
    if runs.is_empty() {
        bail!("the service bench measured no run");
    }
    let db = &v["database"];
    Ok(ServiceResults {
        synchronous: text(v, "synchronous"),
        worker_threads: count(v, "worker_threads")?,
        in_flight: count(v, "in_flight")? as usize,
        poll_ms: count(v, "poll_ms")?,
        warmup: count(v, "warmup")? as usize,
        functions: v["functions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        transitions: count(v, "transitions_per_execution")? as usize,
        history_events: count(v, "history_events_per_execution")? as usize,
        output: v["output"].clone(),
        runs,
        stored: count(v, "executions_stored")? as usize,
        file_system: text(db, "file_system"),
        after_runs: files(&db["after_runs"]),
        after_shutdown: files(&db["after_shutdown"]),
        load_before: text(v, "load_before"),
        load_after: text(v, "load_after"),
    })
}

fn moto_bench(
    endpoint: &str,
    venv: &Path,
    plan: &Plan,
    definition: &str,
    input: &str,
) -> anyhow::Result<MotoResults> {
    let client = sfn::Client::new(endpoint.to_owned());
    client.enable_executor()?;
    let sm = client.create_state_machine("cordon-bench", definition)?;

    // Warm up (the first execution imports half of moto), and learn the path and output.
    let (_, warm) = sfn::sequential(&client, &sm, input, "warmup", plan.moto_warmup.max(1))?;
    let probe = warm.last().context("no warm-up execution")?;
    let transitions = client.states_entered(&probe.arn)?;
    let output = probe.output.clone();

    let started = Instant::now();
    let mut sequential = Mode {
        executions: plan.moto_sequential,
        seconds: Vec::new(),
    };
    let mut concurrent = Mode {
        executions: plan.moto_concurrent,
        seconds: Vec::new(),
    };
    let mut server_seconds = Vec::new();
    for run in 0..plan.moto_runs {
        if run > 0 && started.elapsed() > MOTO_BUDGET {
            eprintln!("xtask bench: moto time budget spent after {run} runs");
            break;
        }
        let prefix = format!("seq-{run}");
        let (t, done) = sfn::sequential(&client, &sm, input, &prefix, plan.moto_sequential)?;
        sequential.seconds.push(t.as_secs_f64());
        server_seconds.extend(done.iter().map(|f| f.server_seconds));

        let prefix = format!("conc-{run}");
        let (t, done) = sfn::concurrent(&client, &sm, input, &prefix, plan.moto_concurrent)?;
        concurrent.seconds.push(t.as_secs_f64());
        if done.len() != plan.moto_concurrent {
            bail!(
                "moto finished {} of {} executions",
                done.len(),
                plan.moto_concurrent
            );
        }
        eprintln!(
            "xtask bench: moto run {}: sequential {:.1}s, concurrent {:.1}s",
            run + 1,
            sequential.seconds[run],
            concurrent.seconds[run]
        );
    }
    Ok(MotoResults {
        python: command_line(Command::new(venv.join("bin/python")).arg("--version")),
        transitions,
        output,
        sequential,
        concurrent,
        server_seconds,
    })
}

/// Whether `target` holds nothing a fresh clone's would not: no release build, and of the
/// debug builds only xtask's own (`cargo xtask` builds it before the bench starts; it does
/// not depend on cordon-core, which everything the bench builds does).
fn holds_no_build(target: &Path) -> bool {
    let debug_deps = std::fs::read_dir(target.join("debug/deps"))
        .map(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("libcordon_core-")
            })
        })
        .unwrap_or(false);
    !target.join("release").exists() && !debug_deps
}

impl Machine {
    fn probe(root: &Path) -> anyhow::Result<Machine> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown (no model name in /proc/cpuinfo)".to_owned());
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
        Ok(Machine {
            date: utc_now(),
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            rustc: command_line(Command::new(rustc).arg("--version").current_dir(root)),
            release_profile: release_profile(&read(root, "Cargo.toml")?),
            load_before: load_average(),
            load_after: String::new(),
            fresh_target: holds_no_build(&util::target_dir(root)),
            wall_seconds: 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_dir_with_only_xtask_built_is_a_fresh_clones() {
        let dir = std::env::temp_dir().join(format!("xtask-fresh-{}", std::process::id()));
        let deps = dir.join("debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("libanyhow-0123.rlib"), "").unwrap();
        assert!(holds_no_build(&dir), "only xtask's dependencies");
        std::fs::write(deps.join("libcordon_core-4567.rlib"), "").unwrap();
        assert!(!holds_no_build(&dir), "a debug build of the workspace");
        std::fs::remove_file(deps.join("libcordon_core-4567.rlib")).unwrap();
        std::fs::create_dir_all(dir.join("release")).unwrap();
        assert!(!holds_no_build(&dir), "a release build");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let m = Mode {
            executions: 100,
            seconds: vec![2.0, 1.0, 4.0],
        };
        assert_eq!(m.min(), 1.0);
        assert_eq!(m.best_rate(), 100.0);
        assert_eq!(m.median_rate(), 50.0);
        assert_eq!(m.us_per_transition(10), 2000.0);
    }

    #[test]
    fn service_results_are_parsed_and_lost_executions_refused() {
        let lat = serde_json::json!({"count": 2, "p50": 5.0, "p99": 9.0, "max": 9.5});
        let mut v = serde_json::json!({
            "worker_threads": 2, "in_flight": 64, "poll_ms": 20, "warmup": 1,
            "functions": ["cordon-record"], "transitions_per_execution": 9,
            "history_events_per_execution": 38, "output": {"ok": true},
            "runs": [{"executions": 2, "seconds": 0.5, "succeeded": 2, "lost": 0, "failed": {},
                      "describe_calls": 4, "sweeps": 2, "peak_active": 2,
                      "client_latency_ms": lat, "server_latency_ms": lat}],
            "listed_succeeded": 4, "executions_stored": 4,
            "database": {"file_system": "ext4 on /",
                         "after_runs": {"db_bytes": 4096, "wal_bytes": 8192, "shm_bytes": 32768},
                         "after_shutdown": {"db_bytes": 12288, "wal_bytes": 0, "shm_bytes": 0}},
            "load_before": "1.00 1.00 1.00", "load_after": "2.00 1.00 1.00",
        });
        let s = parse_service(&v).unwrap();
        assert_eq!(s.mode().median_rate(), 4.0);
        assert_eq!(s.after_runs.wal, 8192);
        assert_eq!(s.functions, ["cordon-record"]);
        v["runs"][0]["lost"] = serde_json::json!(1);
        v["runs"][0]["succeeded"] = serde_json::json!(1);
        assert!(parse_service(&v).is_err());
    }
}
