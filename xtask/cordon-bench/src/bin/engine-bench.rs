//! The engine half of `cargo xtask bench`, built with `--release` and run by the xtask
//! (run it by hand with `cargo run --release --bin engine-bench -- --help`).
//!
//! Runs one definition on the embedded engine, in process, with a no-op dispatcher that answers
//! every Task like Lambda would (`{"ExecutedVersion", "Payload", "StatusCode"}`), its `Payload`
//! an echo of the request's `Payload`: the same thing moto's Docker-less Lambda does, so the
//! definition behaves identically on both. Prints one JSON object with the timings on stdout.
use std::alloc::{GlobalAlloc, Layout};

use mimalloc::MiMalloc;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cordon_engine::{
    Definition, Execution, ExecutionStatus, FnDispatcher, HistoryEvent, Runtime, StartOptions,
    SystemClock, TaskFailure, TaskRequest, run_to_completion,
};
use serde_json::{Value, json};

/// The `cordon` binary's allocator (mimalloc: the engine runs in `cordon local up` and
/// `local serve`), counting every allocation (and reallocation) and the bytes asked
/// for while [`COUNTING`] is on, so the bench can report allocations per execution. Counting
/// is off while executions are timed: two atomic additions per allocation would be part of the
/// engine's time, and the package it is compared with pays nothing like it.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

fn count(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `MiMalloc` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded as is.
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Executions whose allocations are counted after each timed sequential run.
const COUNTED_EXECUTIONS: usize = 200;

/// Allocations and bytes counted so far, process-wide.
fn allocated() -> (u64, u64) {
    (
        ALLOCATIONS.load(Ordering::Relaxed),
        ALLOCATED_BYTES.load(Ordering::Relaxed),
    )
}

const USAGE: &str = "\
usage: engine-bench --definition FILE --input FILE [--sequential N] [--concurrent N]
                    [--one-call N] [--runs R] [--warmup N] [--max-seconds S]

  --sequential N   executions run one after another per run (default 2000)
  --concurrent N   executions spawned at once on the tokio runtime per run (default 1000;
                   0 skips the mode)
  --one-call N     sequential executions through run_to_completion, which also parses the
                   definition and copies the history each time (default 500; 0 skips it)
  --runs R         measured runs of each mode (default 5)
  --warmup N       unmeasured executions first (default 200)
  --max-seconds S  stop starting new runs once this much time has passed (default 120)
  --single-thread B  1: a current-thread tokio runtime (the Task dispatches never change
                   threads), as Node runs its peer; 0 (default): one worker per CPU
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
    single_thread: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        definition: String::new(),
        input: String::new(),
        sequential: 2000,
        concurrent: 1000,
        one_call: 500,
        runs: 5,
        warmup: 200,
        max_seconds: 120,
        single_thread: false,
    };
    let files = cordon_bench::parse(|flag, value| {
        let count = || cordon_bench::count(flag, value);
        match flag {
            "--sequential" => a.sequential = count()?,
            "--concurrent" => a.concurrent = count()?,
            "--one-call" => a.one_call = count()?,
            "--runs" => a.runs = count()?.max(1),
            "--warmup" => a.warmup = count()?,
            "--max-seconds" => a.max_seconds = count()? as u64,
            "--single-thread" => a.single_thread = count()? != 0,
            other => return cordon_bench::unknown(other),
        }
        Ok(())
    })?;
    a.definition = files.definition;
    a.input = files.input;
    Ok(a)
}

/// A Lambda that does nothing: its response's `Payload` is the request's `Payload` (moved,
/// as aws-local-stepfunctions' handler returns the very object it was given).
async fn echo_lambda(mut req: TaskRequest) -> Result<Value, TaskFailure> {
    let payload = req
        .input
        .get_mut("Payload")
        .map(Value::take)
        .unwrap_or(Value::Null);
    // Built by hand: `json!` would serialise `payload` into a copy rather than move it.
    let mut response = serde_json::Map::new();
    response.insert("ExecutedVersion".into(), Value::from("$LATEST"));
    response.insert("Payload".into(), payload);
    response.insert("StatusCode".into(), Value::from(200));
    Ok(Value::Object(response))
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
    let mut allocations = Vec::new();
    let mut allocated_bytes = Vec::new();
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

        // Allocations, counted over executions of their own (untimed).
        let counted = a.sequential.clamp(1, COUNTED_EXECUTIONS);
        COUNTING.store(true, Ordering::Relaxed);
        let (allocs_before, bytes_before) = allocated();
        for i in 0..counted {
            let ex = run_one(&def, &input, format!("count-{run}-{i}"), &rt).await;
            check(ex.status(), "counted")?;
        }
        let (allocs_after, bytes_after) = allocated();
        COUNTING.store(false, Ordering::Relaxed);
        // The runtime's idle worker threads allocate next to nothing: the counts are the
        // executions'.
        let n = counted as f64;
        allocations.push((allocs_after - allocs_before) as f64 / n);
        allocated_bytes.push((bytes_after - bytes_before) as f64 / n);

        if a.concurrent == 0 && a.one_call == 0 {
            continue;
        }

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
        "allocations_per_execution": allocations,
        "allocated_bytes_per_execution": allocated_bytes,
        "concurrent": {"executions": a.concurrent, "seconds": concurrent},
        "one_call": {"executions": a.one_call, "seconds": one_call},
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => return cordon_bench::usage_error("engine-bench", USAGE, &e),
    };
    let result = cordon_bench::read(&args.definition).and_then(|definition| {
        let input: Value = serde_json::from_str(&cordon_bench::read(&args.input)?)
            .map_err(|e| format!("{} is not JSON: {e}", args.input))?;
        // The default multi-thread runtime: one worker per CPU, as a service would use; or
        // one thread, as Node runs aws-local-stepfunctions (`--single-thread 1`).
        let rt = if args.single_thread {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Runtime::new()
        }
        .map_err(|e| format!("starting tokio: {e}"))?;
        rt.block_on(bench(&args, &definition, input))
    });
    cordon_bench::finish("engine-bench", result)
}
