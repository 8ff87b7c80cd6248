//! Renders `BENCHMARKS.md` from one run's measurements.
use std::fmt::Write as _;

use super::model::{
    Build, DEFINITION, DbFiles, EngineResults, FRESH_CLONE_GOAL_SECONDS, FullStackRun, INPUT,
    Machine, Mode, MotoResults, Plan, QUICK_GOAL_SECONDS, ServiceResults, median, readable,
};
use super::peer::{PACKAGE, PeerSetup};
use crate::moto::MOTO_VERSION;

/// How long this run took, and the verdict on its goal: a quick run's (it runs in CI after
/// `cargo xtask test`, whose builds it reuses), or a full run's on a fresh clone's target dir.
fn bench_time(machine: &Machine, plan: &Plan) -> String {
    let took = format!(
        "This run took **{:.0} s** ({:.1} min) from its start to this file",
        machine.wall_seconds,
        machine.wall_seconds / 60.0
    );
    let verdict = |goal: f64| {
        if machine.wall_seconds < goal {
            format!("met, with {:.0} s to spare", goal - machine.wall_seconds)
        } else {
            format!("**not met**: over by {:.0} s", machine.wall_seconds - goal)
        }
    };
    if plan.quick {
        return format!(
            "{took}. Goal for a `--quick` run: under {:.0} minutes: {}.",
            QUICK_GOAL_SECONDS / 60.0,
            verdict(QUICK_GOAL_SECONDS)
        );
    }
    if !machine.fresh_target {
        return format!(
            "{took}, reusing the builds its target dir already held (the goal, under {:.0} \
             minutes, is for a fresh clone, whose every build is part of the run).",
            FRESH_CLONE_GOAL_SECONDS / 60.0
        );
    }
    format!(
        "{took}, on a target dir that held no build (a fresh clone's: every build is part of \
         the run). Goal: under {:.0} minutes on a fresh clone: {}.",
        FRESH_CLONE_GOAL_SECONDS / 60.0,
        verdict(FRESH_CLONE_GOAL_SECONDS)
    )
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
        readable(m.best_rate()),
        readable(m.median_rate()),
        m.us_per_transition(transitions),
    );
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn files(f: &DbFiles) -> String {
    format!(
        "database {} + WAL {} + shared memory {} = **{}**",
        mib(f.db),
        mib(f.wal),
        mib(f.shm),
        mib(f.db + f.wal + f.shm)
    )
}

/// The highest 1-minute load average recorded (bench start, service runs, bench end), when it
/// exceeded the CPU count.
fn high_load(machine: &Machine, service: &ServiceResults) -> Option<String> {
    let one_minute = |s: &str| s.split_whitespace().next()?.parse::<f64>().ok();
    [
        &machine.load_before,
        &service.load_before,
        &service.load_after,
        &machine.load_after,
    ]
    .into_iter()
    .filter_map(|s| one_minute(s))
    .max_by(f64::total_cmp)
    .filter(|l| *l > machine.nproc as f64)
    .map(|l| format!("{l:.2}"))
}

/// The "Durable local service under load" section.
fn service_section(
    w: &mut String,
    machine: &Machine,
    plan: &Plan,
    engine: &EngineResults,
    s: &ServiceResults,
) {
    let n = s.runs.first().map_or(0, |r| r.executions);
    let _ = writeln!(w, "\n## Durable local service under load\n");
    let _ = writeln!(
        w,
        "`cordon-sfn-local` ({} of `service-bench` (`xtask/cordon-bench`), with \
         mimalloc as its allocator, as the `cordon` binary that serves it has): \
         `cordon_sfn_local::serve` on 127.0.0.1:0 with a fresh SQLite file in the temp dir \
         ({}; WAL, `synchronous=NORMAL`, every execution persisted before the API answers and at \
         every parked point; one writer thread commits the writes of all waiting requests in one \
         transaction and answers each only after that commit; the history is stored as one \
         deflated chunk per save, the execution input referenced rather than repeated in its \
         events), and an `InProcessLambda` whose functions ({}) are no-op handlers \
         that return their payload, which the service wraps in Lambda's envelope: the same \
         definition and input as above. Everything goes through **aws-sdk-sfn** over loopback \
         HTTP (retries disabled, so a failed request is counted, not hidden). The client runs \
         in the same process and on the same tokio runtime ({} worker threads) as the service: \
         client, HTTP server, engine and SQLite share the machine's {} CPUs.",
        plan.build.describe(),
        s.file_system,
        s.functions
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
        s.worker_threads,
        machine.nproc,
    );
    let _ = writeln!(
        w,
        "\nOne probe execution and {} warm-up executions first. Each measured run then submits \
         **{n} executions concurrently** (`StartExecution`, unique names, all issued at once \
         and throttled only by the client's in-flight bound), with at most {} requests \
         outstanding (half of them `StartExecution`, half `DescribeExecution`), while sweeping \
         `DescribeExecution` over every execution not yet finished, one sweep every {} ms, \
         until all are terminal (a run fails after {} s). A run counts only if **every** \
         execution ended SUCCEEDED; after the runs, `ListExecutions` must list all {} \
         executions of the service (probe, warm-up and measured) as SUCCEEDED, and did. \
         A run's time is from the first `StartExecution` sent to the `DescribeExecution` \
         response that showed its last execution finished. *Start→terminal* is per execution: \
         client side, from its `StartExecution` being sent to the first `DescribeExecution` \
         response showing it finished (so it includes up to one sweep of polling delay, and a \
         sweep over 1,000 running executions takes a while); service side, the service's own `stopDate - \
         startDate` (millisecond resolution). *Peak running* is the most executions the service \
         was driving at once (`ServiceHandle::active_executions`, sampled at every \
         `DescribeExecution` response): executions finish while others are still being \
         submitted, so it is below {n}.",
        s.warmup, s.in_flight, s.poll_ms, plan.service_max_seconds, s.stored,
    );
    let _ = writeln!(
        w,
        "\n| run | executions submitted concurrently | peak running | lost | not SUCCEEDED | time (s) | executions/s \
         | start→terminal p50 / p99 / max, client (ms) | stopDate − startDate p50 / p99, service \
         (ms) | DescribeExecution calls (sweeps) |"
    );
    let _ = writeln!(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (i, r) in s.runs.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {} | {} | 0 | 0 | {:.2} | {} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} | {} ({}) |",
            i + 1,
            r.executions,
            r.peak_active,
            r.seconds,
            readable(r.executions as f64 / r.seconds),
            r.client.p50,
            r.client.p99,
            r.client.max,
            r.server.p50,
            r.server.p99,
            r.describe_calls,
            r.sweeps,
        );
    }
    let m = s.mode();
    let _ = writeln!(
        w,
        "\nMedian run: **{} executions/s** end to end, {:.0} µs of wall time per state transition \
         ({} states entered per execution, {} history events, as `GetExecutionHistory` reports \
         them). The engine alone, in process and without persistence, ran {} executions/s \
         concurrently (above): the difference is the HTTP API, the SQLite writes, the polling \
         client sharing the CPUs, and the service's one actor task per execution. Final output: \
         {}.",
        readable(m.median_rate()),
        m.us_per_transition(s.transitions),
        s.transitions,
        s.history_events,
        readable(engine.concurrent.median_rate()),
        if s.output == engine.output {
            "identical to the engine's"
        } else {
            "**different** from the engine's (see the xtask's stderr)"
        }
    );
    let _ = writeln!(
        w,
        "\nDurability cost: after the runs the SQLite files held {} for {} executions \
         (≈ {:.1} KiB per execution, history included); after a graceful shutdown: {}. \
         Load average (1, 5, 15 min) {} before the measured runs, {} after.",
        files(&s.after_runs),
        s.stored,
        (s.after_runs.db + s.after_runs.wal) as f64 / 1024.0 / s.stored.max(1) as f64,
        files(&s.after_shutdown),
        s.load_before,
        s.load_after,
    );
}

/// What the bench measured beyond the executors.
pub struct Extras {
    /// The burst under faults (`fullstack.rs`).
    pub burst: FullStackRun,
    /// The crash-recovery run (`fullstack.rs`).
    pub crash: FullStackRun,
    /// `cargo xtask fuzz`'s results table; `None` in a quick run.
    pub fuzz: Option<String>,
    /// Task cold start beside the Python reference (`coldstart.rs`); `None` in a quick run.
    pub coldstart: Option<super::coldstart::ColdStart>,
}

pub fn render(
    machine: &Machine,
    plan: &Plan,
    engine: &EngineResults,
    peers: &PeerSetup,
    // The durable service with synchronous=NORMAL, then FULL.
    (service, service_full): (&ServiceResults, &ServiceResults),
    moto: &MotoResults,
    extras: &Extras,
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
    let _ = writeln!(w, "\n{}", bench_time(machine, plan));
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
    match plan.build {
        Build::Release => {
            let _ = writeln!(
                w,
                "| Engine build | the workspace `[profile.release]`: {} |",
                machine.release_profile.replace('|', "\\|")
            );
        }
        Build::Dev => {
            let _ = writeln!(
                w,
                "| Engine build | the workspace `[profile.dev]`, as `cargo xtask test` built it \
                 (a `--quick` run: unoptimised, so no timing here says anything about speed) |"
            );
        }
    }
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
         `CreateUser` event as EventBridge delivers it. The definition is generated at every \
         run from `statemachine/incident.asl.json` (the workflow as deployed, every state, \
         Retry and Catch included) and `xtask/bench/stubs.json` (see \
         `xtask/src/bench/definitions.rs`); the event takes its auto-containment path: \
         OpenIncident (Task) → IsNewIncident (Choice) → Enrich (Task) → Route (Choice) → \
         Quarantine → Tag → NotifyContained → CloseContained (Tasks) → Contained (Succeed), with \
         Parameters with `.$` paths, `$$.Execution.Id` and a `States.Format` intrinsic, \
         ResultSelector and ResultPath, and the approval, notify-only and failure branches \
         present, not taken."
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
        "\n- **Engine** (`cordon-engine`, in process, {} of \
         `engine-bench` (`xtask/cordon-bench`), with mimalloc as its allocator, as the `cordon` \
         binary that runs the engine has): one parsed `Definition` shared by all executions, \
         each execution `Execution::start` + `run_until_finished`. The dispatcher is an async fn \
         that returns `{{\"ExecutedVersion\": \"$LATEST\", \"Payload\": <request Payload>, \
         \"StatusCode\": 200}}` at once. Clock: `{}`, the real one (nothing on this path \
         waits, so the virtual clock would change nothing but the timestamps). Runtime: tokio multi-thread, {} worker threads. {} warm-up executions first. \
         *Sequential* runs one execution after another; *concurrent* spawns all of a run's \
         executions as tokio tasks at once and joins them; *one call* is `run_to_completion`, \
         which also parses the definition and copies the history for every execution.",
        plan.build.describe(),
        engine.clock,
        engine.worker_threads,
        plan.engine_warmup
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

    peer_section(w, peers);

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
            readable(e.median_rate()),
            readable(m.median_rate()),
            ratio(e.median_rate() / m.median_rate())
        );
    }

    service_section(w, machine, plan, engine, service);
    durability_section(w, service, service_full);
    super::fullstack::burst_section(w, &extras.burst);
    cost_section(w, &extras.burst);
    super::fullstack::crash_section(w, &extras.crash);
    fuzz_section(w, extras.fuzz.as_deref());
    match &extras.coldstart {
        Some(c) => super::coldstart::section(w, c),
        None => {
            let _ = writeln!(
                w,
                "\n## Task cold start\n\nNot run in a `--quick` run (it needs release builds \
                 of the task binaries, minutes on this machine)."
            );
        }
    }

    let _ = writeln!(w, "\n## Caveats\n");
    if let Some(load) = high_load(machine, service) {
        let _ = writeln!(
            w,
            "- **The machine was busy during this run**: a 1-minute load average of up to {load} \
             on {} CPUs (see above), i.e. other work competed for the CPUs the whole time. All \
             numbers here are lower than an idle machine would give, and the spread between runs \
             is partly that other work.",
            machine.nproc
        );
    }
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
         - The durable-service numbers are for the service and its client together on one \
         machine (they share the CPUs), with the database on the file system named in that \
         section; SQLite with `synchronous=NORMAL` in WAL mode does not fsync every commit (the \
         `synchronous=FULL` row above does).\n\
         - The aws-local-stepfunctions comparison runs each side in its own process on a shared \
         machine; alternating the runs spreads a change in load over both, but does not remove \
         it: compare the spreads, not only the medians.\n\
         - **Not measured by this bench (still to do):** CPU per incident is split between moto and the test process, which also runs the fault \
         proxy, not between Cordon and the proxy; the cost of the approval and \
         notify paths (the cost model prices the path the burst took); the cold start of the \
         other four task binaries (the cold-start section times quarantine's). Nor: the \
         service's HTTP Lambda backend, and a restart under load of the durable service alone \
         (the crash run above restarts the whole stack)."
    );

    let _ = writeln!(w, "\n## Reproduce\n");
    let _ = writeln!(
        w,
        "```sh\n\
         cargo xtask bench           # builds the engine and service benches in release, starts moto, rewrites BENCHMARKS.md\n\
         cargo xtask bench --quick   # a smoke run with few executions, dev-profile benches (written under the target dir, not here)\n\
         # the engine half alone:\n\
         cargo run --release --bin engine-bench -- \\\n    \
         --definition {DEFINITION} --input {INPUT}\n\
         # the durable service half alone:\n\
         cargo run --release --bin service-bench -- \\\n    \
         --definition {DEFINITION} --input {INPUT}\n\
         # the full-stack burst alone (moto from `cargo xtask test`):\n\
         CORDON_BURST_SIZE=1000 cargo xtask test -- --test burst\n\
         # the fuzzing alone:\n\
         cargo xtask fuzz --seconds 20\n\
         ```\n\n\
         Plan of this run: engine {} sequential + {} concurrent + {} one-call executions per \
         run, {} run(s); service {} concurrent executions per run, {} run(s), at most {} \
         requests in flight; moto {} sequential + {} concurrent executions per run, {} run(s) \
         (bounded: at most 60 s per execution, no new moto run after 4 minutes).",
        plan.engine_sequential,
        plan.engine_concurrent,
        plan.engine_one_call,
        plan.engine_runs,
        plan.service_executions,
        plan.service_runs,
        plan.service_in_flight,
        plan.moto_sequential,
        plan.moto_concurrent,
        plan.moto_runs,
    );
    o
}

/// The engine beside aws-local-stepfunctions: µs per transition, allocations, the ratio.
fn peer_section(w: &mut String, peers: &PeerSetup) {
    let _ = writeln!(w, "\n## Engine vs {PACKAGE}\n");
    let _ = writeln!(
        w,
        "npm `{}` on Node {} (installed by the bench into a scratch folder beside the build \
         output; Node 20 lacks `Promise.withResolvers`, which the package calls, so \
         `xtask/bench/als-bench.mjs` defines it first), against the engine bench's sequential \
         mode on a current-thread tokio runtime (one thread, as Node runs the package; a \
         Task dispatch then never hands over to another thread), on the same definition and \
         input, each in its own process with its own \
         warm-up, **alternating run by run** (the engine first in even rounds, the package \
         first in odd ones). The package's Tasks are answered by `taskResourceLocalHandlers` \
         with the same echo the engine's no-op dispatcher gives, and each execution gets a \
         context object like the engine's (the package's default has no `Execution.Id`). \
         Allocations are counted by a counting global allocator (over mimalloc) in the engine bench (every \
         `alloc`, `alloc_zeroed` and `realloc`), switched on only for 200 executions run after \
         each timed run and not timed themselves (two atomic additions per allocation would \
         otherwise be part of the engine's time). \
         The goal is the engine at least 10× faster per transition.",
        peers.package, peers.node
    );
    let _ = writeln!(
        w,
        "\n| definition | states entered | executions per run | runs each | engine µs/transition: median (min–max) | {PACKAGE} µs/transition: median (min–max) | {PACKAGE} / engine | engine allocations per execution | engine KiB allocated per execution | same output | 10× goal |"
    );
    let _ = writeln!(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|");
    for c in &peers.comparisons {
        let per = |s: f64| s * 1e6 / (c.executions * c.transitions.max(1)) as f64;
        let spread = |xs: &[f64]| {
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{:.1} – {:.1}", per(lo), per(hi))
        };
        let r = c.peer_us() / c.engine_us();
        let _ = writeln!(
            w,
            "| {} ([`{}`]({})) | {} | {} | {} | **{:.2}** ({}) | **{:.1}** ({}) | **{}** | {:.0} | {:.1} | {} | {} |",
            c.label,
            c.definition,
            c.definition,
            c.transitions,
            c.executions,
            c.engine_seconds.len(),
            c.engine_us(),
            spread(&c.engine_seconds),
            c.peer_us(),
            spread(&c.peer_seconds),
            ratio(r),
            median(&c.engine_allocations),
            median(&c.engine_allocated_bytes) / 1024.0,
            if c.same_output { "yes" } else { "**no**" },
            if r >= 10.0 {
                "met".to_owned()
            } else {
                // "1.0× short" read as met: say how far, in percent of the goal.
                format!(
                    "**not met**: {:.0} % short of 10×",
                    (1.0 - r / 10.0) * 100.0
                )
            },
        );
    }
}

/// The throughput measured before the storage rework (BENCHMARKS.md of 2026-11-22, issue
/// 15): the baseline of the 5× goal. A constant, not a measurement of this run.
const SERVICE_BASELINE_PER_SECOND: f64 = 160.0;

/// Stored bytes per execution once the WAL is checkpointed (after a graceful shutdown).
fn kib_per_execution(s: &ServiceResults) -> f64 {
    (s.after_shutdown.db + s.after_shutdown.wal) as f64 / 1024.0 / s.stored.max(1) as f64
}

/// The service with `synchronous=NORMAL` and `FULL` side by side, against the goals.
fn durability_section(w: &mut String, normal: &ServiceResults, full: &ServiceResults) {
    let _ = writeln!(w, "\n## Durable service: NORMAL vs FULL, and the goals\n");
    let _ = writeln!(
        w,
        "The same service bench again on a fresh database with `synchronous=FULL` (an fsync \
         at every commit: an answered request survives a power loss, not only a crash), one \
         measured run. Stored per execution is the database after a graceful shutdown (the WAL \
         checkpointed into it) over every execution the service ran, history included. Goals: \
         at least 5× the {SERVICE_BASELINE_PER_SECOND:.0} executions/s measured before this \
         rework, at most 8 KiB stored per execution."
    );
    let _ = writeln!(
        w,
        "\n| synchronous | runs | median executions/s | × {SERVICE_BASELINE_PER_SECOND:.0}/s (goal 5×) | client start→terminal p50 / p99 (ms, median run) | KiB stored per execution (goal ≤ 8) |"
    );
    let _ = writeln!(w, "|---|--:|--:|--:|--:|--:|");
    for s in [normal, full] {
        let per_second = s.mode().median_rate();
        let mut lat: Vec<&super::model::ServiceRun> = s.runs.iter().collect();
        lat.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let mid = lat[lat.len() / 2];
        let _ = writeln!(
            w,
            "| {} | {} | {} | **{}** | {:.0} / {:.0} | **{:.1}** |",
            s.synchronous,
            s.runs.len(),
            readable(per_second),
            ratio(per_second / SERVICE_BASELINE_PER_SECOND),
            mid.client.p50,
            mid.client.p99,
            kib_per_execution(s),
        );
    }
}

/// Step Functions Standard, US East (N. Virginia): $0.025 per 1,000 state transitions
/// (<https://aws.amazon.com/step-functions/pricing/>).
const USD_PER_TRANSITION: f64 = 0.025 / 1000.0;
/// Lambda on arm64 (the template's architecture), US East (N. Virginia): $0.20 per million
/// requests and $0.0000133334 per GB-second, first pricing tier
/// (<https://aws.amazon.com/lambda/pricing/>).
const USD_PER_INVOCATION: f64 = 0.20 / 1_000_000.0;
const USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The memory the cost model bills at (128 MiB, as the issue sets it).
const GB: f64 = 128.0 / 1024.0;

/// What 10,000 incidents cost on the path the burst took, from what the burst measured,
/// next to the same work in one Lambda with no orchestration.
fn cost_section(w: &mut String, run: &FullStackRun) {
    let per = &run.report["per_execution"];
    let mean = |k: &str| per[k]["mean"].as_f64().unwrap_or(f64::NAN);
    let (transitions, invocations, ms) = (
        mean("state_transitions"),
        mean("lambda_invocations"),
        mean("lambda_milliseconds"),
    );
    let n = 10_000.0;
    let sfn = transitions * USD_PER_TRANSITION * n;
    let requests = invocations * USD_PER_INVOCATION * n;
    let compute = ms / 1000.0 * GB * USD_PER_GB_SECOND * n;
    let single = (USD_PER_INVOCATION + ms / 1000.0 * GB * USD_PER_GB_SECOND) * n;
    let _ = writeln!(w, "\n## Cost model\n");
    let _ = writeln!(
        w,
        "Per execution of the burst above (the `auto` path: open, enrich, quarantine, tag, \
         notify, close; under its injected faults, so retries included), from each \
         execution's history: {transitions:.1} state transitions (states entered, plus each \
         retried attempt, as Step Functions Standard counts them), {invocations:.1} Lambda \
         invocations (every attempt) and {ms:.0} ms of function time (each attempt from \
         start to end; against moto on loopback, so AWS's own latencies would add to it). \
         Priced at US East list prices, arm64 at 128 MiB, free tiers left out: Step \
         Functions Standard $0.025 per 1,000 transitions \
         (<https://aws.amazon.com/step-functions/pricing/>), Lambda $0.20 per million \
         requests and $0.0000133334 per GB-second (<https://aws.amazon.com/lambda/pricing/>).\n"
    );
    let _ = writeln!(
        w,
        "| per 10,000 incidents | Cordon (Step Functions + 5 Lambdas) | one Lambda, no orchestration |\n|---|--:|--:|"
    );
    let _ = writeln!(w, "| state transitions | ${sfn:.4} | — |");
    let _ = writeln!(
        w,
        "| Lambda requests | ${requests:.4} | ${:.4} |",
        USD_PER_INVOCATION * n
    );
    let _ = writeln!(
        w,
        "| Lambda compute | ${compute:.4} | ${:.4} |",
        ms / 1000.0 * GB * USD_PER_GB_SECOND * n
    );
    let _ = writeln!(
        w,
        "| **total** | **${:.4}** | **${single:.4}** |",
        sfn + requests + compute
    );
    let _ = writeln!(
        w,
        "\nThe one-Lambda reference does the same calls in one invocation (the same function \
         time, one request, no transitions). It cannot wait an hour for an approver, retry one \
         step without repeating the others, or be redriven from the failed step; Step \
         Functions' transitions are what those cost, and they dominate Cordon's bill."
    );
}

/// Every fuzz target's run, as `cargo xtask fuzz` reported it.
fn fuzz_section(w: &mut String, fuzz: Option<&str>) {
    let _ = writeln!(w, "\n## Fuzzing\n");
    match fuzz {
        Some(table) => {
            let _ = writeln!(
                w,
                "`cargo xtask fuzz` (cargo-fuzz, libFuzzer on the nightly toolchain), every target of `tests/cordon-fuzz` seeded from the shared \
                 fixtures, the conformance cases, the workflow and the template:\n\n{table}"
            );
        }
        None => {
            let _ = writeln!(
                w,
                "Not run in a `--quick` run (building the targets alone takes minutes); \
                 `cargo xtask test` runs each target's fixed-iteration smoke test."
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(fresh_target: bool, wall_seconds: f64) -> Machine {
        Machine {
            date: String::new(),
            nproc: 2,
            cpu: String::new(),
            rustc: String::new(),
            release_profile: String::new(),
            load_before: String::new(),
            load_after: String::new(),
            fresh_target,
            wall_seconds,
        }
    }

    #[test]
    fn the_bench_time_has_a_verdict_only_for_a_full_run_on_a_fresh_clone() {
        let full = Plan::full();
        let met = bench_time(&machine(true, 1100.0), &full);
        assert!(met.contains("**1100 s**"), "{met}");
        assert!(met.contains("met, with 100 s to spare"), "{met}");
        let over = bench_time(&machine(true, 1260.0), &full);
        assert!(over.contains("**not met**: over by 60 s"), "{over}");
        let reused = bench_time(&machine(false, 300.0), &full);
        assert!(reused.contains("reusing the builds"), "{reused}");
        assert!(!reused.contains("met"), "{reused}");
        let quick = bench_time(&machine(false, 200.0), &Plan::quick());
        assert!(quick.contains("`--quick` run"), "{quick}");
        assert!(quick.contains("**not met**: over by 20 s"), "{quick}");
        let quick = bench_time(&machine(false, 150.0), &Plan::quick());
        assert!(quick.contains("met, with 30 s to spare"), "{quick}");
    }
}
