//! The engine half of `cargo xtask bench`, built with `--release` and run by the xtask
//! (run it by hand with `cargo run --release -p xtask --example engine-bench -- --help`).
//!
//! Runs one definition on the embedded engine, in process, with a no-op dispatcher that answers
//! every Task like Lambda would (`{"ExecutedVersion", "Payload", "StatusCode"}`), its `Payload`
//! an echo of the request's `Payload`: the same thing moto's Docker-less Lambda does, so the
//! definition behaves identically on both. Prints one JSON object with the timings on stdout.
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_engine::{
    Definition, Execution, ExecutionStatus, FnDispatcher, HistoryEvent, Runtime, StartOptions,
    SystemClock, TaskFailure, TaskRequest, run_to_completion,
};
use serde_json::{Value, json};

const USAGE: &str = "\
usage: engine-bench --definition FILE --input FILE [--sequential N] [--concurrent N]
                    [--one-call N] [--runs R] [--warmup N] [--max-seconds S]

  --sequential N   executions run one after another per run (default 2000)
  --concurrent N   executions spawned at once on the tokio runtime per run (default 1000)
  --one-call N     sequential executions through run_to_completion, which also parses the
                   definition and copies the history each time (default 500)
  --runs R         measured runs of each mode (default 5)
  --warmup N       unmeasured executions first (default 200)
  --max-seconds S  stop starting new runs once this much time has passed (default 120)
";

struct Args {
    definition: String,
    input: String,
    sequential: usize,
    concurrent: usize,
    one_call: usize,
    runs: usize,
    warmup: usize,
    max_seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut definition = None;
    let mut input = None;
    let mut a = Args {
        definition: String::new(),
        input: String::new(),
        sequential: 2000,
        concurrent: 1000,
        one_call: 500,
        runs: 5,
        warmup: 200,
        max_seconds: 120,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let count = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--definition" => definition = Some(value.clone()),
            "--input" => input = Some(value.clone()),
            "--sequential" => a.sequential = count()?,
            "--concurrent" => a.concurrent = count()?,
            "--one-call" => a.one_call = count()?,
            "--runs" => a.runs = count()?.max(1),
            "--warmup" => a.warmup = count()?,
            "--max-seconds" => a.max_seconds = count()? as u64,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    a.definition = definition.ok_or("--definition is required")?;
    a.input = input.ok_or("--input is required")?;
    Ok(a)
}

/// A Lambda that does nothing: its response's `Payload` is the request's `Payload`.
async fn echo_lambda(req: TaskRequest) -> Result<Value, TaskFailure> {
    let payload = req.input.get("Payload").cloned().unwrap_or(Value::Null);
    Ok(json!({"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}))
}

fn options(name: String) -> StartOptions {
    StartOptions {
        name: Some(name),
        state_machine_name: Some("cordon-bench".into()),
        ..StartOptions::default()
    }
}

/// One execution through the service path: a parsed definition shared by every execution.
async fn run_one(def: &Arc<Definition>, input: &Value, name: String, rt: &Runtime) -> Execution {
    let mut ex = match Execution::start(def.clone(), input.clone(), options(name), rt) {
        Ok(ex) => ex,
        Err(e) => panic!("the engine refused to start the bench execution: {e}"),
    };
    ex.run_until_finished(rt).await;
    ex
}

fn check(status: ExecutionStatus, what: &str) -> Result<(), String> {
    if status == ExecutionStatus::Succeeded {
        Ok(())
    } else {
        Err(format!(
            "{what}: an execution ended {} instead of SUCCEEDED",
            status.as_str()
        ))
    }
}

fn states_entered(history: &[HistoryEvent]) -> usize {
    history
        .iter()
        .filter(|e| format!("{:?}", e.event_type).ends_with("StateEntered"))
        .count()
}

async fn bench(a: &Args, definition: &str, input: Value) -> Result<Value, String> {
    let def = Arc::new(Definition::parse(definition).map_err(|e| e.to_string())?);
    let rt = Runtime::new(Arc::new(FnDispatcher(echo_lambda)), Arc::new(SystemClock));
    let deadline = Instant::now() + Duration::from_secs(a.max_seconds);

    // Warm up, and learn the path from one execution's history.
    let probe = run_one(&def, &input, "probe".into(), &rt).await;
    check(probe.status(), "probe")?;
    let transitions = states_entered(probe.history());
    let history_events = probe.history().len();
    let output = probe.describe().output.unwrap_or(Value::Null);
    for i in 0..a.warmup {
        let ex = run_one(&def, &input, format!("warmup-{i}"), &rt).await;
        check(ex.status(), "warmup")?;
    }

    let mut sequential = Vec::new();
    let mut concurrent = Vec::new();
    let mut one_call = Vec::new();
    for run in 0..a.runs {
        if run > 0 && Instant::now() > deadline {
            break;
        }
        let t = Instant::now();
        for i in 0..a.sequential {
            let ex = run_one(&def, &input, format!("seq-{run}-{i}"), &rt).await;
            check(ex.status(), "sequential")?;
        }
        sequential.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..a.concurrent {
            let (def, input, rt) = (def.clone(), input.clone(), rt.clone());
            set.spawn(async move {
                run_one(&def, &input, format!("conc-{run}-{i}"), &rt)
                    .await
                    .status()
            });
        }
        while let Some(status) = set.join_next().await {
            check(
                status.map_err(|e| format!("a concurrent execution panicked: {e}"))?,
                "concurrent",
            )?;
        }
        concurrent.push(t.elapsed().as_secs_f64());

        let t = Instant::now();
        for _ in 0..a.one_call {
            let r = run_to_completion(
                definition,
                input.clone(),
                None,
                rt.dispatcher.clone(),
                rt.clock.clone(),
            )
            .await
            .map_err(|e| e.to_string())?;
            check(r.status(), "run_to_completion")?;
        }
        one_call.push(t.elapsed().as_secs_f64());
    }

    Ok(json!({
        "clock": "SystemClock",
        "worker_threads": tokio::runtime::Handle::current().metrics().num_workers(),
        "transitions_per_execution": transitions,
        "history_events_per_execution": history_events,
        "output": output,
        "sequential": {"executions": a.sequential, "seconds": sequential},
        "concurrent": {"executions": a.concurrent, "seconds": concurrent},
        "one_call": {"executions": a.one_call, "seconds": one_call},
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("engine-bench: {e}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("reading {p}: {e}"));
    let result = read(&args.definition).and_then(|definition| {
        let input: Value = serde_json::from_str(&read(&args.input)?)
            .map_err(|e| format!("{} is not JSON: {e}", args.input))?;
        // The default multi-thread runtime: one worker per CPU, as a service would use.
        let rt = tokio::runtime::Runtime::new().map_err(|e| format!("starting tokio: {e}"))?;
        rt.block_on(bench(&args, &definition, input))
    });
    match result {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("engine-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
