//! Renders `BENCHMARKS.md` from one run's measurements.
use std::fmt::Write as _;

use super::{DEFINITION, EngineResults, INPUT, Machine, Mode, MotoResults, Plan, median};
use crate::moto::MOTO_VERSION;

/// A rate with as many digits as are worth reading.
fn rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.1}×")
    }
}

fn row(out: &mut String, executor: &str, mode: &str, m: &Mode, transitions: usize) {
    let _ = writeln!(
        out,
        "| {executor} | {mode} | {} | {} | {:.3} | {:.3} | {} | {} | {:.0} |",
        m.executions,
        m.seconds.len(),
        m.min(),
        m.median(),
        rate(m.best_rate()),
        rate(m.median_rate()),
        m.us_per_transition(transitions),
    );
}

pub fn render(
    machine: &Machine,
    plan: &Plan,
    engine: &EngineResults,
    moto: &MotoResults,
) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `cargo xtask bench` at {} from the runs it had just measured. Every run \
         rewrites this file: each number below was measured in that one run.",
        machine.date
    );
    if plan.quick {
        let _ = writeln!(
            w,
            "\n**This was a `--quick` run** (few executions, one or two runs): a smoke test of \
             the bench, not numbers to quote."
        );
    }

    let _ = writeln!(w, "\n## Machine\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| CPUs (`nproc`) | {} |", machine.nproc);
    let _ = writeln!(w, "| CPU (`/proc/cpuinfo`) | {} |", machine.cpu);
    let _ = writeln!(w, "| Rust | {} |", machine.rustc);
    let _ = writeln!(
        w,
        "| Engine build | the workspace `[profile.release]`: {} |",
        machine.release_profile.replace('|', "\\|")
    );
    let _ = writeln!(w, "| moto | {MOTO_VERSION} on {} |", moto.python);
    let _ = writeln!(
        w,
        "| Load average (1, 5, 15 min) | {} before, {} after |",
        machine.load_before, machine.load_after
    );

    let same_output = engine.output == moto.output;
    let _ = writeln!(w, "\n## What runs\n");
    let _ = writeln!(
        w,
        "[`{DEFINITION}`]({DEFINITION}) with the input [`{INPUT}`]({INPUT}), a CloudTrail \
         `CreateUser` event as EventBridge delivers it. The definition is the auto-containment \
         path of `statemachine/incident.asl.json`: OpenIncident (Task) → IsNewIncident (Choice) → \
         Enrich (Task) → Route (Choice) → Quarantine → Tag → NotifyContained → CloseContained \
         (Tasks) → Done (Succeed), with the real workflow's Retry (backoff, `MaxDelaySeconds`, \
         full jitter) and Catch on every Task, Parameters with `.$` paths, `$$.Execution.Id` and a \
         `States.Format` intrinsic, ResultSelector and ResultPath, plus the failure and \
         alternative branches (present, not taken)."
    );
    let _ = writeln!(
        w,
        "\nEvery Task is `arn:aws:states:::lambda:invoke` of a no-op function that answers with \
         the request's `Payload`, so each Payload also carries the stub result its ResultSelector \
         picks (`\"outcome\": \"opened\"`, the assessment, ...). That is exactly what moto's \
         Lambda does without Docker, so **the same definition runs unchanged on both \
         executors**:"
    );
    let _ = writeln!(
        w,
        "\n- **Engine** (`cordon-engine`, in process, release build of \
         `xtask/examples/engine-bench.rs`): one parsed `Definition` shared by all executions, \
         each execution `Execution::start` + `run_until_finished`. The dispatcher is an async fn \
         that returns `{{\"ExecutedVersion\": \"$LATEST\", \"Payload\": <request Payload>, \
         \"StatusCode\": 200}}` at once. Clock: `{}`, the real one (nothing on this path \
         waits, so the virtual clock would change nothing but the timestamps). Runtime: tokio multi-thread, {} worker threads. {} warm-up executions first. \
         *Sequential* runs one execution after another; *concurrent* spawns all of a run's \
         executions as tokio tasks at once and joins them; *one call* is `run_to_completion`, \
         which also parses the definition and copies the history for every execution.",
        engine.clock, engine.worker_threads, plan.engine_warmup
    );
    let _ = writeln!(
        w,
        "- **moto** {MOTO_VERSION}'s own executor (`execute_state_machine`, one Python thread per \
         execution), driven over the Step Functions JSON API on 127.0.0.1 \
         (`CreateStateMachine`, `StartExecution` with a unique name, `DescribeExecution`). Its \
         `lambda:invoke` Tasks call moto's own Lambda Invoke API over loopback HTTP through a \
         fresh boto3 client, answered by `LambdaSimpleBackend` (`{{\"lambda\": {{\"use_docker\": \
         false}}}}`), which echoes the payload: that round trip is part of every moto Task. \
         Times run from the first `StartExecution` until `DescribeExecution` has shown every \
         execution of the run finished. *Sequential* polls every 5 ms, one execution at a time; \
         *concurrent* starts all of a run's executions back to back, then sweeps over the \
         running ones every 20 ms. {} warm-up execution(s) first.",
        plan.moto_warmup.max(1)
    );
    let _ = writeln!(
        w,
        "\nState transitions per execution (states entered): {} on the engine (from its \
         history, {} events), {} on moto (from `GetExecutionHistory`). Final outputs: {}.",
        engine.transitions,
        engine.history_events,
        moto.transitions,
        if same_output {
            "identical on both executors"
        } else {
            "**different** on the two executors (see the xtask's stderr); the throughput \
             numbers still hold, but one of them does not run this definition as AWS would"
        }
    );

    let _ = writeln!(w, "\n## Results\n");
    let _ = writeln!(
        w,
        "| executor | mode | executions per run | runs | fastest run (s) | median run (s) | \
         best executions/s | median executions/s | µs per state transition (median run) |"
    );
    let _ = writeln!(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|");
    let t = engine.transitions;
    row(w, "engine", "sequential", &engine.sequential, t);
    row(w, "engine", "concurrent", &engine.concurrent, t);
    row(w, "engine", "one call, sequential", &engine.one_call, t);
    row(w, "moto", "sequential", &moto.sequential, moto.transitions);
    row(w, "moto", "concurrent", &moto.concurrent, moto.transitions);
    let server = median(&moto.server_seconds);
    let _ = writeln!(
        w,
        "\nmoto's own duration of one execution (`stopDate` - `startDate`, millisecond \
         resolution): median {:.0} ms over the {} sequential executions, against {:.0} ms per \
         execution seen by the client in the median sequential run (the rest is \
         `StartExecution`, polling and HTTP). The engine's per-transition time includes the \
         Task dispatch (a spawned tokio task per Task state) and the history it records.",
        server * 1e3,
        moto.server_seconds.len(),
        moto.sequential.median() * 1e3 / moto.sequential.executions as f64,
    );

    let _ = writeln!(w, "\n## Engine vs moto\n");
    let _ = writeln!(
        w,
        "| mode | engine, median executions/s | moto, median executions/s | engine / moto |"
    );
    let _ = writeln!(w, "|---|--:|--:|--:|");
    for (mode, e, m) in [
        ("sequential", &engine.sequential, &moto.sequential),
        ("concurrent", &engine.concurrent, &moto.concurrent),
    ] {
        let _ = writeln!(
            w,
            "| {mode} | {} | {} | **{}** |",
            rate(e.median_rate()),
            rate(m.median_rate()),
            ratio(e.median_rate() / m.median_rate())
        );
    }

    let _ = writeln!(w, "\n## Caveats\n");
    let _ = writeln!(
        w,
        "- The machine may be shared (see the load averages above); fastest and median runs are \
         both shown so that noise is visible. moto gets far fewer executions per run than the \
         engine (it is much slower), so its numbers are the noisier ones.\n\
         - A moto Task costs a loopback HTTP Lambda Invoke (moto's executor builds a boto3 \
         client and calls its own Lambda API); an engine Task costs a function call. The ratio \
         compares the executors as they are, including how each reaches a no-op Task: moto has \
         no in-process way to answer `lambda:invoke` (its mocked-response mode is disabled in \
         5.2.5), and how much of its time that round trip takes was not measured separately.\n\
         - Not measured here: the engine's persistence, its Step Functions HTTP API, and real \
         task handlers (each real Cordon Task makes AWS API calls of its own)."
    );

    let _ = writeln!(w, "\n## Reproduce\n");
    let _ = writeln!(
        w,
        "```sh\n\
         cargo xtask bench           # builds the engine bench in release, starts moto, rewrites BENCHMARKS.md\n\
         cargo xtask bench --quick   # a smoke run with few executions\n\
         # the engine half alone:\n\
         cargo run --release -p xtask --example engine-bench -- \\\n    \
         --definition {DEFINITION} --input {INPUT}\n\
         ```\n\n\
         Plan of this run: engine {} sequential + {} concurrent + {} one-call executions per \
         run, {} run(s); moto {} sequential + {} concurrent executions per run, {} run(s) \
         (bounded: at most 60 s per execution, no new moto run after 4 minutes).",
        plan.engine_sequential,
        plan.engine_concurrent,
        plan.engine_one_call,
        plan.engine_runs,
        plan.moto_sequential,
        plan.moto_concurrent,
        plan.moto_runs,
    );
    o
}
