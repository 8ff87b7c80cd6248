//! The durable-service half of `cargo xtask bench`, built with `--release` and run by the xtask
//! (run it by hand with `cargo run --release --bin service-bench -- --help`).
//!
//! Starts `cordon_sfn_local::serve` on 127.0.0.1:0 with a fresh SQLite file in the temp dir and
//! an `InProcessLambda` whose functions (the ones the definition names) echo their payload, so
//! the definition behaves as it does on the engine bench and on moto. Then, through aws-sdk-sfn:
//! creates the state machine, runs one probe execution (path, history, output), some warm-up
//! executions, and per measured run starts N executions with unique names (at most
//! `--in-flight` requests outstanding at once) while sweeping DescribeExecution over the ones not
//! yet finished, until every one is terminal or the time limit passes. Every execution must end
//! SUCCEEDED and ListExecutions must list all of them: a lost or failed execution fails the
//! bench. Prints one JSON object with the measurements on stdout.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator of the `cordon` binary, which serves the local API (`local serve`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use cordon_sfn_local::{
    InProcessLambda, LambdaError, ServiceConfig, ServiceHandle, Synchronous, serve,
};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

const USAGE: &str = "\
usage: service-bench --definition FILE --input FILE [--executions N] [--in-flight K]
                     [--runs R] [--warmup N] [--poll-ms MS] [--max-seconds S]
                     [--synchronous normal|full] [--keep-db yes]

  --executions N   executions started per measured run (default 1000)
  --in-flight K    most requests outstanding at once (default 64): half for StartExecution,
                   half for DescribeExecution, so polling does not queue behind the starts
  --runs R         measured runs, each N new executions on the same service (default 3)
  --warmup N       unmeasured executions first, run the same way (default 50)
  --poll-ms MS     pause between DescribeExecution sweeps over unfinished executions (default 20)
  --max-seconds S  a run fails if its executions are not all finished after this long; no new
                   run starts after this long either (default 120)
  --synchronous M  normal (the default: WAL, synchronous=NORMAL) or full (an fsync per commit)
  --keep-db yes    leave the SQLite file in the temp dir (its path is on stderr) to inspect
                   where the stored bytes go
";

const ROLE: &str = "arn:aws:iam::123456789012:role/cordon-bench";

struct Args {
    definition: String,
    input: String,
    executions: usize,
    in_flight: usize,
    runs: usize,
    warmup: usize,
    poll_ms: u64,
    max_seconds: u64,
    synchronous: Synchronous,
    keep_db: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        definition: String::new(),
        input: String::new(),
        executions: 1000,
        in_flight: 64,
        runs: 3,
        warmup: 50,
        poll_ms: 20,
        max_seconds: 120,
        synchronous: Synchronous::Normal,
        keep_db: false,
    };
    let files = cordon_bench::parse(|flag, value| {
        let count = || cordon_bench::count(flag, value);
        match flag {
            "--executions" => a.executions = count()?.max(1),
            "--in-flight" => a.in_flight = count()?.max(1),
            "--runs" => a.runs = count()?.max(1),
            "--warmup" => a.warmup = count()?,
            "--poll-ms" => a.poll_ms = count()? as u64,
            "--max-seconds" => a.max_seconds = count()?.max(1) as u64,
            "--synchronous" => {
                a.synchronous = match value {
                    "normal" => Synchronous::Normal,
                    "full" => Synchronous::Full,
                    other => return Err(format!("--synchronous {other}: normal or full")),
                }
            }
            "--keep-db" => a.keep_db = value == "yes",
            other => return cordon_bench::unknown(other),
        }
        Ok(())
    })?;
    a.definition = files.definition;
    a.input = files.input;
    Ok(a)
}

/// The function names a definition's Lambda Tasks use (`Parameters.FunctionName`, or the
/// Resource itself when it is a function ARN), reduced to the name as the service does.
fn function_names(def: &Value, out: &mut Vec<String>) {
    match def {
        Value::Object(m) => {
            for (k, v) in m {
                let reference = match (k.as_str(), v.as_str()) {
                    ("FunctionName", Some(s)) => Some(s),
                    ("Resource", Some(s)) if s.contains(":function:") => Some(s),
                    _ => None,
                };
                if let Some(r) = reference {
                    let name = r.split(":function:").nth(1).unwrap_or(r);
                    let name = name.split(':').next().unwrap_or(name).to_owned();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                function_names(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| function_names(v, out)),
        _ => {}
    }
}

/// A backend whose every function does nothing: it answers with its payload (the service wraps
/// it in Lambda's envelope for `lambda:invoke`).
fn echo_lambda(names: &[String]) -> InProcessLambda {
    let lambda = InProcessLambda::new();
    for name in names {
        lambda.register(name.clone(), |payload: Value| async move {
            Ok::<_, LambdaError>(payload)
        });
    }
    lambda
}

async fn client(endpoint: String) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "static"))
        // A request that fails is counted, not silently retried.
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&conf)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(mut xs: Vec<f64>) -> Value {
    xs.sort_by(f64::total_cmp);
    json!({
        "count": xs.len(),
        "p50": percentile(&xs, 0.50),
        "p99": percentile(&xs, 0.99),
        "max": xs.last().copied().unwrap_or(f64::NAN),
    })
}

/// One batch of executions, started concurrently and followed to the end.
struct Batch {
    executions: usize,
    seconds: f64,
    succeeded: usize,
    /// Terminal, but not SUCCEEDED: status -> count.
    failed: BTreeMap<String, usize>,
    /// Started but not seen terminal before the deadline, or never started.
    lost: usize,
    start_errors: Vec<String>,
    /// From just before StartExecution was sent until the DescribeExecution response that first
    /// showed the execution terminal arrived, in ms.
    client_ms: Vec<f64>,
    /// The service's own `stopDate - startDate` (millisecond resolution), in ms.
    server_ms: Vec<f64>,
    describe_calls: usize,
    sweeps: usize,
    /// The most executions the service was driving at once (`active_executions`, sampled at
    /// every DescribeExecution response).
    peak_active: usize,
    arns: Vec<String>,
}

impl Batch {
    fn ok(&self) -> Result<(), String> {
        if self.succeeded == self.executions {
            return Ok(());
        }
        Err(format!(
            "{} of {} executions SUCCEEDED: lost (never started or not finished in time) {}, \
             ended otherwise {:?}, start errors (first 3) {:?}",
            self.succeeded,
            self.executions,
            self.lost,
            self.failed,
            self.start_errors.iter().take(3).collect::<Vec<_>>()
        ))
    }

    fn json(&self) -> Value {
        json!({
            "executions": self.executions,
            "seconds": self.seconds,
            "succeeded": self.succeeded,
            "lost": self.lost,
            "failed": self.failed,
            "describe_calls": self.describe_calls,
            "sweeps": self.sweeps,
            "peak_active": self.peak_active,
            "client_latency_ms": summary(self.client_ms.clone()),
            "server_latency_ms": summary(self.server_ms.clone()),
        })
    }
}

struct Pending {
    arn: String,
    sent: Instant,
}

#[allow(clippy::too_many_arguments)]
async fn batch(
    svc: &ServiceHandle,
    c: &Client,
    sm: &str,
    input: &str,
    prefix: &str,
    n: usize,
    in_flight: usize,
    poll: Duration,
    limit: Duration,
) -> Batch {
    // Separate halves of the in-flight budget: a DescribeExecution never waits behind the
    // StartExecution backlog (which would make the start->terminal times mostly queueing).
    let starting = Arc::new(Semaphore::new(in_flight.div_ceil(2)));
    let describing = Arc::new(Semaphore::new((in_flight / 2).max(1)));
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<Pending, String>>();
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..n {
        let (c, sm, input, sem, tx) = (
            c.clone(),
            sm.to_owned(),
            input.to_owned(),
            starting.clone(),
            tx.clone(),
        );
        let name = format!("{prefix}-{i}");
        starts.spawn(async move {
            let Ok(_permit) = sem.acquire_owned().await else {
                return;
            };
            let sent = Instant::now();
            let r = tokio::time::timeout_at(
                deadline.into(),
                c.start_execution()
                    .state_machine_arn(sm)
                    .name(name)
                    .input(input)
                    .send(),
            )
            .await;
            let msg = match r {
                Ok(Ok(out)) => Ok(Pending {
                    arn: out.execution_arn,
                    sent,
                }),
                Ok(Err(e)) => Err(format!("{e:?}")),
                Err(_) => Err("StartExecution timed out".to_owned()),
            };
            let _ = tx.send(msg);
        });
    }
    drop(tx);

    let mut b = Batch {
        executions: n,
        seconds: 0.0,
        succeeded: 0,
        failed: BTreeMap::new(),
        lost: 0,
        start_errors: Vec::new(),
        client_ms: Vec::with_capacity(n),
        server_ms: Vec::with_capacity(n),
        describe_calls: 0,
        sweeps: 0,
        peak_active: 0,
        arns: Vec::with_capacity(n),
    };
    let mut pending: Vec<Pending> = Vec::new();
    let mut channel_open = true;
    let mut last_terminal = t0;
    while Instant::now() < deadline {
        // Take what has been started so far (waiting for the first when there is nothing).
        if channel_open && pending.is_empty() {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some(m)) => accept(m, &mut pending, &mut b),
                Ok(None) => channel_open = false,
                Err(_) => break,
            }
        }
        while channel_open {
            match rx.try_recv() {
                Ok(m) => accept(m, &mut pending, &mut b),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => channel_open = false,
            }
        }
        if pending.is_empty() {
            if channel_open {
                continue;
            }
            break;
        }

        // One sweep: DescribeExecution of every unfinished execution.
        b.sweeps += 1;
        let mut describes = tokio::task::JoinSet::new();
        for p in std::mem::take(&mut pending) {
            let (c, sem) = (c.clone(), describing.clone());
            describes.spawn(async move {
                let Ok(_permit) = sem.acquire_owned().await else {
                    return (p, Err("semaphore closed".to_owned()), Instant::now());
                };
                let r = tokio::time::timeout_at(
                    deadline.into(),
                    c.describe_execution().execution_arn(&p.arn).send(),
                )
                .await;
                let seen = Instant::now();
                let r = match r {
                    Ok(Ok(d)) => Ok(d),
                    Ok(Err(e)) => Err(format!("{e:?}")),
                    Err(_) => Err("DescribeExecution timed out".to_owned()),
                };
                (p, r, seen)
            });
        }
        while let Some(joined) = describes.join_next().await {
            let Ok((p, r, seen)) = joined else {
                continue;
            };
            b.describe_calls += 1;
            b.peak_active = b.peak_active.max(svc.active_executions());
            let d = match r {
                Ok(d) => d,
                // A failed describe is retried on the next sweep (until the deadline).
                Err(_) => {
                    pending.push(p);
                    continue;
                }
            };
            if d.status == ExecutionStatus::Running {
                pending.push(p);
                continue;
            }
            last_terminal = last_terminal.max(seen);
            b.client_ms
                .push(seen.duration_since(p.sent).as_secs_f64() * 1e3);
            if let Some(stop) = d.stop_date {
                b.server_ms
                    .push((stop.as_secs_f64() - d.start_date.as_secs_f64()) * 1e3);
            }
            if d.status == ExecutionStatus::Succeeded {
                b.succeeded += 1;
            } else {
                *b.failed.entry(d.status.as_str().to_owned()).or_default() += 1;
            }
        }
        if !pending.is_empty() || channel_open {
            tokio::time::sleep(poll).await;
        }
    }
    starts.abort_all();
    b.seconds = last_terminal.duration_since(t0).as_secs_f64();
    let terminal = b.succeeded + b.failed.values().sum::<usize>();
    b.lost = n - terminal;
    b
}

fn accept(m: Result<Pending, String>, pending: &mut Vec<Pending>, b: &mut Batch) {
    match m {
        Ok(p) => {
            b.arns.push(p.arn.clone());
            pending.push(p);
        }
        Err(e) => b.start_errors.push(e),
    }
}

/// Every SUCCEEDED execution of the state machine that ListExecutions returns.
async fn listed_succeeded(c: &Client, sm: &str) -> Result<usize, String> {
    let mut count = 0;
    let mut next = None;
    // Bounded: at most 1000 pages of 1000.
    for _ in 0..1000 {
        let page = c
            .list_executions()
            .state_machine_arn(sm)
            .status_filter(ExecutionStatus::Succeeded)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| format!("ListExecutions: {e:?}"))?;
        count += page.executions.len();
        next = page.next_token;
        if next.is_none() {
            return Ok(count);
        }
    }
    Err("ListExecutions did not end after 1000 pages".to_owned())
}

/// States entered, all events, and the output of one finished execution.
async fn probe(c: &Client, arn: &str) -> Result<(usize, usize, Value), String> {
    let d = c
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| format!("DescribeExecution: {e:?}"))?;
    let output = match d.output.as_deref() {
        Some(s) => serde_json::from_str(s).map_err(|e| format!("probe output: {e}"))?,
        None => Value::Null,
    };
    let (mut entered, mut events) = (0, 0);
    let mut next = None;
    for _ in 0..100 {
        let h = c
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| format!("GetExecutionHistory: {e:?}"))?;
        events += h.events.len();
        entered += h
            .events
            .iter()
            .filter(|e| e.r#type.as_str().ends_with("StateEntered"))
            .count();
        next = h.next_token;
        if next.is_none() {
            break;
        }
    }
    Ok((entered, events, output))
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn db_files(db: &Path) -> Value {
    json!({
        "db_bytes": file_size(db),
        "wal_bytes": file_size(&with_suffix(db, "-wal")),
        "shm_bytes": file_size(&with_suffix(db, "-shm")),
    })
}

/// The file system holding `path`, from /proc/mounts: "ext4 on /".
fn file_system(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mount, fs) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mount).then_some((mount.len(), fs, mount))
        })
        .max_by_key(|(len, _, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, fs, m)| format!("{fs} on {m}"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn bench(a: &Args, db: &Path, definition: &str, input: &str) -> Result<Value, String> {
    let def: Value =
        serde_json::from_str(definition).map_err(|e| format!("the definition: {e}"))?;
    let mut names = Vec::new();
    function_names(&def, &mut names);
    let lambda = echo_lambda(&names);
    let config = ServiceConfig::new(db)
        .with_lambda(Arc::new(lambda))
        .with_synchronous(a.synchronous);
    let handle = serve(config)
        .await
        .map_err(|e| format!("starting cordon-sfn-local: {e}"))?;
    let endpoint = handle.endpoint();
    eprintln!(
        "service-bench: cordon-sfn-local on {endpoint}, database {}",
        db.display()
    );
    let c = client(endpoint).await;
    let sm = c
        .create_state_machine()
        .name("cordon-bench")
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .map_err(|e| format!("CreateStateMachine: {e:?}"))?
        .state_machine_arn;

    let poll = Duration::from_millis(a.poll_ms);
    let limit = Duration::from_secs(a.max_seconds);
    let started = Instant::now();

    let p = batch(&handle, &c, &sm, input, "probe", 1, 1, poll, limit).await;
    p.ok().map_err(|e| format!("probe: {e}"))?;
    let (transitions, history_events, output) = probe(&c, &p.arns[0]).await?;
    let mut stored = 1;
    if a.warmup > 0 {
        let w = batch(
            &handle,
            &c,
            &sm,
            input,
            "warmup",
            a.warmup,
            a.in_flight,
            poll,
            limit,
        )
        .await;
        w.ok().map_err(|e| format!("warm-up: {e}"))?;
        stored += a.warmup;
    }

    let load_before = load_average();
    let mut runs = Vec::new();
    for run in 0..a.runs {
        if run > 0 && started.elapsed() > limit {
            eprintln!("service-bench: time budget spent after {run} runs");
            break;
        }
        let b = batch(
            &handle,
            &c,
            &sm,
            input,
            &format!("run-{run}"),
            a.executions,
            a.in_flight,
            poll,
            limit,
        )
        .await;
        b.ok().map_err(|e| format!("run {}: {e}", run + 1))?;
        stored += b.executions;
        let s = b.json();
        eprintln!(
            "service-bench: run {}: {} executions in {:.2}s ({:.0}/s), start->terminal p50 {:.0} ms, p99 {:.0} ms (client)",
            run + 1,
            b.executions,
            b.seconds,
            b.executions as f64 / b.seconds,
            s["client_latency_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
            s["client_latency_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        );
        runs.push(s);
    }
    let load_after = load_average();

    // None lost, counted a second way: what the service lists as SUCCEEDED.
    let listed = listed_succeeded(&c, &sm).await?;
    if listed != stored {
        return Err(format!(
            "ListExecutions lists {listed} SUCCEEDED executions, {stored} were run"
        ));
    }
    let after_run = db_files(db);
    handle.shutdown().await;
    drop(c);
    // The aborted execution actors let go of the store shortly after.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_shutdown = db_files(db);

    Ok(json!({
        "worker_threads": tokio::runtime::Handle::current().metrics().num_workers(),
        "synchronous": match a.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        },
        "in_flight": a.in_flight,
        "poll_ms": a.poll_ms,
        "warmup": a.warmup,
        "functions": names,
        "transitions_per_execution": transitions,
        "history_events_per_execution": history_events,
        "output": output,
        "runs": runs,
        "listed_succeeded": listed,
        "executions_stored": stored,
        "database": {
            "file_system": file_system(db.parent().unwrap_or(Path::new("/"))),
            "after_runs": after_run,
            "after_shutdown": after_shutdown,
        },
        "load_before": load_before,
        "load_after": load_after,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => return cordon_bench::usage_error("service-bench", USAGE, &e),
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let db = std::env::temp_dir().join(format!(
        "cordon-service-bench-{}-{stamp}.sqlite",
        std::process::id()
    ));
    let result = cordon_bench::read(&args.definition).and_then(|definition| {
        let input = cordon_bench::read(&args.input)?;
        serde_json::from_str::<Value>(&input)
            .map_err(|e| format!("{} is not JSON: {e}", args.input))?;
        // The default multi-thread runtime (one worker per CPU), shared by the service and
        // the aws-sdk-sfn client driving it.
        let rt = tokio::runtime::Runtime::new().map_err(|e| format!("starting tokio: {e}"))?;
        rt.block_on(bench(&args, &db, &definition, &input))
    });
    if args.keep_db {
        eprintln!("service-bench: database kept at {}", db.display());
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(&db, suffix));
        }
    }
    cordon_bench::finish("service-bench", result)
}
