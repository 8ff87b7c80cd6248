//! A burst of CreateUser incidents at once through the whole local stack (the template's
//! rules on the local bus, the engine, the real handlers) with moto behind the
//! fault-injection proxy: a fifth of every IAM, DynamoDB and SNS call throttled, failed,
//! reset or stalled, or (IAM and DynamoDB) its answer lost after it took effect, and IAM's
//! mutating calls rate-limited. Every incident must end contained and recorded (its
//! timeline opened once and closed once), with exactly one quarantine attachment and one
//! notification, and no execution stuck, lost or doubled.
//!
//! `CORDON_BURST_SIZE` sets the size (default 100; `cargo xtask bench` runs 1,000), and
//! `CORDON_BURST_REPORT`, when set, names a JSON file for the figures (time to contain as IAM
//! lists the deny policy's users, execution times, CPU split between moto and this process,
//! retries spent, executions that needed a redrive).
//!
//! This binary holds one test on purpose: the stack's functions read `AWS_ENDPOINT_URL`
//! from the environment, so the test points it at the proxy before anything else runs.
//!
//! Needs moto (`AWS_ENDPOINT_URL`); fails, never skips, without it.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate;
use cordon_aws::testing::unique;
use cordon_faults::{FaultPlan, FaultProxy, RateLimit};
use serde_json::{Value, json};

mod readback;
use readback::{check_incident, timelines};

const AUTO_USER_CREATED: &str = r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#;

/// How long the whole burst may take to settle before an execution counts as stuck.
const SETTLE: Duration = Duration::from_secs(15 * 60);

/// Stalls outlast a second of the caller's patience, but not the functions' SDK attempt
/// timeout (`cordon_aws::function_timeouts`, 10 s), so they wait it out and meet the reset.
const STALL: Duration = Duration::from_millis(1500);

/// Incidents checked at once after the burst (each check is three reads from moto).
const CHECKS_IN_FLIGHT: usize = 8;

#[test]
fn a_burst_under_faults_contains_every_incident_exactly_once() {
    let moto_url = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .expect("this test needs moto: run it with `cargo xtask test` (AWS_ENDPOINT_URL is unset)");
    let size: usize = std::env::var("CORDON_BURST_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let port = cordon_loopback::free_port().expect("a free port for the proxy");
    // SAFETY: this is the binary's only test and no other thread exists yet (the runtime
    // is built below), so nothing reads the environment while it changes.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(burst(&moto_url, port, size));
}

async fn burst(moto_url: &str, port: u16, size: usize) {
    let proxy = FaultProxy::start(moto_url, port)
        .await
        .expect("starting the fault proxy");
    // The test's own reads go straight to moto, never through the faults.
    let direct: SdkConfig = cordon_aws::testing::moto()
        .await
        .config
        .to_builder()
        .endpoint_url(moto_url)
        .build();
    let iam = aws_sdk_iam::Client::new(&direct);

    let db_dir = std::env::temp_dir().join(unique("cordon-burst-db"));
    let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
    options.names = StackNames {
        table: unique("cordon-burst"),
        topic: unique("cordon-burst"),
        tap_queue: unique("cordon-burst-tap"),
    };
    options.db = db_dir.join("sfn.sqlite");
    options.set_response_policy(AUTO_USER_CREATED);
    let stack = Arc::new(
        LocalStack::start(&options)
            .await
            .unwrap_or_else(|e| panic!("starting the local stack: {e:#}")),
    );
    let events_api = cordon::local::up::serve_events(&stack, 0)
        .await
        .unwrap_or_else(|e| panic!("starting the PutEvents API: {e:#}"));

    // The attacker and the users it creates, really in IAM.
    let attacker = simulate::Attacker::create(
        &iam,
        cordon::local::LOCAL_ACCOUNT,
        &unique("burst-attacker"),
    )
    .await
    .expect("creating the attacker");
    let prefix = unique("burst");
    let mut events = Vec::with_capacity(size);
    for i in 0..size {
        let created = simulate::create_backdoor_user(&iam, &format!("{prefix}-{i}"))
            .await
            .expect("creating a backdoor user");
        events.push((
            created.user_name.clone(),
            simulate::create_user_event(&attacker, &created, chrono::Utc::now()),
        ));
    }

    // Faults on; every event at once, ten entries a PutEvents call as EventBridge allows.
    proxy.reset_stats();
    proxy.set_plan(
        FaultPlan::aws_bad_day(0.2, STALL)
            .iam_rate_limit(RateLimit::IAM_MUTATING)
            .seed(16),
    );
    let started = tokio::time::Instant::now();
    let cpu_before = CpuTimes::now();
    // Event in to deny policy attached, as IAM itself lists the policy's users.
    let stop_watching = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = tokio::spawn(watch_attachments(
        iam.clone(),
        stack.resources.quarantine_policy_arn.clone(),
        events.iter().map(|(user, _)| user.clone()).collect(),
        started,
        stop_watching.clone(),
    ));
    let mut puts = tokio::task::JoinSet::new();
    for chunk in events.chunks(10) {
        let body = json!({
            "Entries": chunk.iter().map(|(_, e)| simulate::put_events_entry(e)).collect::<Vec<_>>()
        });
        let endpoint = events_api.endpoint();
        let token = stack.delivery_token.clone();
        puts.spawn(async move {
            // As CloudTrail delivers (PutEvents refuses `aws.*` sources from customers).
            let response = cordon::local::delivery::deliver(&endpoint, &token, &body)
                .await
                .unwrap_or_else(|e| panic!("delivering: {e:#}"));
            let answer: Value = serde_json::from_str(&response.text()).expect("JSON");
            assert_eq!(response.status, 200, "{answer}");
            assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
        });
    }
    while let Some(put) = puts.join_next().await {
        put.expect("a PutEvents call");
    }

    // PutEvents answered after starting the executions; wait until every one has ended (or
    // the budget is spent: then it is stuck).
    let deadline = tokio::time::Instant::now() + SETTLE;
    let executions = loop {
        // The service is busiest now: a listing that times out is tried again.
        let executions = match try_list_executions(&stack).await {
            Ok(executions) => executions,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "ListExecutions still failing after {SETTLE:?}: {e}"
                );
                eprintln!("burst: ListExecutions failed ({e}); trying again");
                continue;
            }
        };
        let running = executions
            .iter()
            .filter(|e| e.status == aws_sdk_sfn::types::ExecutionStatus::Running)
            .count();
        if running == 0 {
            break executions;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{running} of {} executions still running after {SETTLE:?}: stuck",
            executions.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let wall = started.elapsed();
    let cpu = CpuTimes::now().since(&cpu_before);
    stop_watching.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut attached_after = watcher.await.expect("the attachment watcher");
    attached_after.sort_by(f64::total_cmp);
    let faults = proxy.stats();
    proxy.set_plan(FaultPlan::none());

    // No execution lost or doubled: one per event, each succeeded.
    assert_eq!(executions.len(), size, "one execution per event");
    let failed: Vec<_> = executions
        .iter()
        .filter(|e| e.status != aws_sdk_sfn::types::ExecutionStatus::Succeeded)
        .map(|e| format!("{} {:?}", e.execution_arn, e.status))
        .collect();

    // Every incident contained and recorded, its user quarantined once: the reads go to
    // moto a few at a time (one by one, a thousand incidents' reads took minutes).
    let checks_started = tokio::time::Instant::now();
    let store =
        cordon_aws::Aws::new(direct.clone()).incident_store(stack.resources.table_name.clone());
    let quarantine_arn = Arc::new(stack.resources.quarantine_policy_arn.clone());
    let mut timelines = timelines(&direct, &stack.resources.table_name).await;
    eprintln!(
        "burst: scanning the timelines took {:.1} s",
        checks_started.elapsed().as_secs_f64()
    );
    let limit = Arc::new(tokio::sync::Semaphore::new(CHECKS_IN_FLIGHT));
    let mut checks = tokio::task::JoinSet::new();
    for (user, event) in &events {
        let (store, iam, quarantine_arn, limit) = (
            store.clone(),
            iam.clone(),
            quarantine_arn.clone(),
            limit.clone(),
        );
        let user = user.clone();
        let event_id = event["detail"]["eventID"].as_str().expect("eventID");
        let id = cordon_core::incident::incident_id_for_event(event_id);
        let timeline = timelines
            .remove(&cordon_aws::dynamo::incidents::incident_pk(&id))
            .unwrap_or_default();
        checks.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            check_incident(&store, &iam, &quarantine_arn, &user, &id, &timeline).await
        });
    }
    let mut problems = Vec::new();
    let (mut contained, mut lost, mut doubled) = (0usize, 0usize, 0usize);
    while let Some(check) = checks.join_next().await {
        let check = check.expect("an incident's check");
        contained += usize::from(check.contained);
        lost += usize::from(check.lost);
        doubled += check.doubled;
        problems.extend(check.problems);
    }
    problems.sort();

    eprintln!(
        "burst: reading back {} incidents took {:.1} s",
        events.len(),
        checks_started.elapsed().as_secs_f64()
    );
    let phase = tokio::time::Instant::now();

    // Exactly one notification per incident, and no other.
    let notifications = drain_notifications(&direct, &stack.resources.tap_queue_url).await;
    for (user, event) in &events {
        let event_id = event["detail"]["eventID"].as_str().expect("eventID");
        let id = cordon_core::incident::incident_id_for_event(event_id);
        let kinds = notifications.get(&id).cloned().unwrap_or_default();
        if kinds != ["contained"] {
            problems.push(format!("{id} ({user}) was notified {kinds:?}"));
        }
        doubled += usize::from(kinds.len() > 1);
    }

    eprintln!(
        "burst: reading back the notifications took {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    let phase = tokio::time::Instant::now();
    // Every execution's history, a few at a time from the local Step Functions service.
    let mut histories = tokio::task::JoinSet::new();
    for (i, execution) in executions.iter().enumerate() {
        let (stack, arn, limit) = (
            stack.clone(),
            execution.execution_arn.clone(),
            limit.clone(),
        );
        histories.spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            (i, billing(&stack, &arn).await)
        });
    }
    let mut billings: Vec<Option<Billing>> = executions.iter().map(|_| None).collect();
    while let Some(done) = histories.join_next().await {
        let (i, b) = done.expect("reading an execution's history");
        billings[i] = Some(b);
    }
    eprintln!(
        "burst: reading back {} execution histories took {:.1} s",
        executions.len(),
        phase.elapsed().as_secs_f64()
    );

    // The figures: execution times, the retries spent, the executions a redrive would need.
    let mut execution_times: Vec<f64> = Vec::new();
    let mut step_retries = 0usize;
    // Failed attempts by step and error, with one cause of each; and what ended each
    // execution that did not succeed (its last failed attempt).
    let mut attempt_failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut last_failures: BTreeMap<String, usize> = BTreeMap::new();
    // What AWS would bill each execution for (see `billing`).
    let (mut transitions, mut invocations, mut lambda_ms) = (Vec::new(), Vec::new(), Vec::new());
    for (execution, b) in executions.iter().zip(billings) {
        let b = b.expect("every history was read");
        if let Some(stop) = execution.stop_date {
            execution_times
                .push((stop.as_secs_f64() - execution.start_date.as_secs_f64()).max(0.0));
        }
        step_retries += b.failed_attempts;
        for (state, error, cause) in &b.failures {
            let entry = attempt_failures
                .entry(format!("{state}: {error}"))
                .or_insert_with(|| (0, cause.chars().take(300).collect()));
            entry.0 += 1;
        }
        if execution.status != aws_sdk_sfn::types::ExecutionStatus::Succeeded {
            let last = b.failures.last().map_or_else(
                || "(no failed attempt)".to_owned(),
                |(state, error, cause)| {
                    format!(
                        "{state}: {error}: {}",
                        cause.chars().take(200).collect::<String>()
                    )
                },
            );
            *last_failures.entry(last).or_default() += 1;
        }
        transitions.push(b.transitions as f64);
        invocations.push(b.invocations as f64);
        lambda_ms.push(b.lambda_ms);
    }
    execution_times.sort_by(f64::total_cmp);
    let percentile = |p: f64| percentile_of(&execution_times, p);
    let report = json!({
        "incidents": size,
        "executions": executions.len(),
        "contained": contained,
        "lost": lost + size.saturating_sub(executions.len()),
        "doubled": doubled,
        "wall_seconds": wall.as_secs_f64(),
        "fault_fraction": 0.2,
        "iam_rate_limit": {"per_second": RateLimit::IAM_MUTATING.per_second, "burst": RateLimit::IAM_MUTATING.burst},
        "calls": faults.requests(),
        "faults_injected": faults.faulted(),
        "faults_by_kind": faults.calls.iter().fold(BTreeMap::<&str, u64>::new(), |mut m, c| {
            for (k, v) in &c.faults { *m.entry(k).or_default() += v; }
            m
        }),
        "step_retries": step_retries,
        // From the first delivery until the last execution ended.
        "cpu_seconds": {
            "test_process": cpu.test_process,
            "moto": cpu.moto,
            "per_incident": {
                "test_process": cpu.test_process / size as f64,
                "moto": cpu.moto.map(|m| m / size as f64),
            },
        },
        "per_execution": {
            "state_transitions": summary(&mut transitions),
            "lambda_invocations": summary(&mut invocations),
            "lambda_milliseconds": summary(&mut lambda_ms),
        },
        "needed_redrive": failed.len(),
        "failed_attempts_by_step": attempt_failures.iter().map(|(k, (n, cause))| (k.clone(), json!({"count": n, "a_cause": cause}))).collect::<serde_json::Map<_, _>>(),
        "why_executions_failed": last_failures,
        "attached_seconds": {
            "poll_seconds": ATTACHMENT_POLL.as_secs_f64(),
            "seen": attached_after.len(),
            "p50": percentile_of(&attached_after, 0.5),
            "p99": percentile_of(&attached_after, 0.99),
            "max": attached_after.last().copied().unwrap_or(f64::NAN),
        },
        "execution_seconds": {
            "p50": percentile(0.5),
            "p99": percentile(0.99),
            "max": execution_times.last().copied().unwrap_or(f64::NAN),
        },
    });
    println!("burst: {report}");
    eprintln!(
        "burst: checking the incidents and their executions took {:.1} s",
        checks_started.elapsed().as_secs_f64()
    );
    if let Ok(path) = std::env::var("CORDON_BURST_REPORT") {
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("JSON"))
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }

    events_api.shutdown().await;
    let stack = Arc::try_unwrap(stack).unwrap_or_else(|_| panic!("the stack is still shared"));
    let LocalStack { sfn, approval, .. } = stack;
    approval.shutdown().await;
    sfn.shutdown().await;
    proxy.shutdown().await;
    let _ = std::fs::remove_dir_all(&db_dir);

    assert!(
        faults.faulted() > 0,
        "the proxy injected no fault, so this proved nothing: {faults:?}"
    );
    problems.extend(
        failed
            .iter()
            .map(|f| format!("execution {f} did not succeed")),
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// How often the watcher asks IAM which users have the quarantine policy.
const ATTACHMENT_POLL: Duration = Duration::from_secs(1);

/// Polls IAM (`ListEntitiesForPolicy` on the quarantine policy, every page) until every one
/// of `users` has it attached, and answers, for each, the seconds from `started` (the first
/// delivery) to the first poll that listed it: event in to deny policy attached, as IAM
/// reports it, late by at most one poll. Told to stop once every execution has ended, it
/// makes one last poll; a user never listed is left out (the report says how many were).
async fn watch_attachments(
    iam: aws_sdk_iam::Client,
    policy_arn: String,
    users: Vec<String>,
    started: tokio::time::Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<f64> {
    let mut waiting: std::collections::HashSet<String> = users.into_iter().collect();
    let mut seen = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let last = stop.load(std::sync::atomic::Ordering::Relaxed);
        let mut pages = iam
            .list_entities_for_policy()
            .policy_arn(&policy_arn)
            .entity_filter(aws_sdk_iam::types::EntityType::User)
            .into_paginator()
            .send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            // moto is busiest now: a poll that fails is simply made again.
            let Ok(page) = page else { break };
            listed.extend(
                page.policy_users
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|u| u.user_name),
            );
        }
        let at = started.elapsed().as_secs_f64();
        for user in listed {
            if waiting.remove(&user) {
                seen.push(at);
            }
        }
        if last {
            break;
        }
        tokio::time::sleep(ATTACHMENT_POLL).await;
    }
    seen
}

/// The `p` quantile of sorted `values` (nearest rank), NaN when there are none.
fn percentile_of(values: &[f64], p: f64) -> f64 {
    values
        .get(((values.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// CPU time (user + system, every thread) used so far by this process, which runs the
/// rules, the engine, the handlers and the fault proxy, and by moto when
/// `CORDON_MOTO_PID` names it (`cargo xtask bench` does).
struct CpuTimes {
    test_process: f64,
    moto: Option<f64>,
}

impl CpuTimes {
    fn now() -> Self {
        let moto = std::env::var("CORDON_MOTO_PID")
            .ok()
            .and_then(|pid| cpu_seconds(&format!("/proc/{}/stat", pid.trim())));
        Self {
            test_process: cpu_seconds("/proc/self/stat").expect("reading /proc/self/stat"),
            moto,
        }
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            test_process: self.test_process - before.test_process,
            moto: self
                .moto
                .zip(before.moto)
                .map(|(after, before)| after - before),
        }
    }
}

/// `utime + stime` of a `/proc/<pid>/stat`, in seconds (Linux counts them in clock ticks,
/// 100 a second on every architecture Linux runs Cordon's tests on).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line are the 12th and 13th after the name.
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

async fn try_list_executions(
    stack: &LocalStack,
) -> Result<Vec<aws_sdk_sfn::types::ExecutionListItem>, String> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = stack
            .sfn_client
            .list_executions()
            .state_machine_arn(&stack.state_machine_arn)
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        all.extend(page.executions);
        token = page.next_token;
        if token.is_none() {
            return Ok(all);
        }
    }
}

/// How many task attempts of an execution failed (each one a Retry the engine spent).
/// What one execution did that AWS bills: state transitions (each state entered, and
/// each retry of a step, as Step Functions Standard counts them), Lambda invocations
/// (every attempt), and the milliseconds the functions ran (each attempt from start to
/// end, as the history times it).
struct Billing {
    failed_attempts: usize,
    /// Each failed attempt: the state, the error and its cause.
    failures: Vec<(String, String, String)>,
    transitions: usize,
    invocations: usize,
    lambda_ms: f64,
}

async fn billing(stack: &LocalStack, execution_arn: &str) -> Billing {
    use aws_sdk_sfn::types::HistoryEventType as T;
    let history = stack
        .sfn_client
        .get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .send()
        .await
        .expect("GetExecutionHistory");
    let mut b = Billing {
        failed_attempts: 0,
        failures: Vec::new(),
        transitions: 0,
        invocations: 0,
        lambda_ms: 0.0,
    };
    let mut started: Option<f64> = None;
    let mut state = String::new();
    for e in history.events() {
        let at = e.timestamp().as_secs_f64();
        match e.r#type() {
            t if t.as_str().ends_with("StateEntered") => {
                b.transitions += 1;
                if let Some(d) = e.state_entered_event_details() {
                    state = d.name().to_owned();
                }
            }
            T::TaskScheduled | T::LambdaFunctionScheduled => b.invocations += 1,
            T::TaskStarted | T::LambdaFunctionStarted => started = Some(at),
            T::TaskSucceeded | T::LambdaFunctionSucceeded => {
                b.lambda_ms += started.take().map_or(0.0, |s| (at - s) * 1000.0);
            }
            T::TaskFailed
            | T::LambdaFunctionFailed
            | T::TaskTimedOut
            | T::LambdaFunctionTimedOut => {
                b.failed_attempts += 1;
                let (error, cause) = failure_of(e);
                b.failures.push((state.clone(), error, cause));
                b.lambda_ms += started.take().map_or(0.0, |s| (at - s) * 1000.0);
            }
            _ => {}
        }
    }
    // A retried step is a transition too (the retry runs the state again).
    b.transitions += b.failed_attempts;
    b
}

/// The error and cause a failed task event carries.
fn failure_of(e: &aws_sdk_sfn::types::HistoryEvent) -> (String, String) {
    let pair = |error: Option<&str>, cause: Option<&str>| {
        (
            error.unwrap_or("(no error)").to_owned(),
            cause.unwrap_or_default().to_owned(),
        )
    };
    if let Some(d) = e.task_failed_event_details() {
        pair(d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        pair(d.error(), d.cause())
    } else if let Some(d) = e.task_timed_out_event_details() {
        pair(d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_timed_out_event_details() {
        pair(d.error(), d.cause())
    } else {
        pair(None, None)
    }
}

/// p50, mean and max of `values`.
fn summary(values: &mut [f64]) -> Value {
    values.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    json!({
        "p50": values.get(values.len() / 2).copied().unwrap_or(f64::NAN),
        "mean": mean,
        "max": values.last().copied().unwrap_or(f64::NAN),
    })
}

/// Every message the topic delivered to the tap queue: the `kind` attributes by incident.
async fn drain_notifications(sdk: &SdkConfig, queue_url: &str) -> HashMap<String, Vec<String>> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut by_incident: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receiving from the tap queue");
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            return by_incident;
        }
        let mut read = Vec::with_capacity(batch.len());
        for (i, message) in batch.into_iter().enumerate() {
            let envelope: Value =
                serde_json::from_str(message.body().unwrap_or("{}")).expect("an SNS envelope");
            let attribute = |name: &str| {
                envelope["MessageAttributes"][name]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            by_incident
                .entry(attribute("incident_id"))
                .or_default()
                .push(attribute("kind"));
            if let Some(handle) = message.receipt_handle {
                read.push(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(handle)
                        .build()
                        .expect("a batch entry"),
                );
            }
        }
        // Deleted as read, ten a call: an undeleted message would come back once its
        // visibility timeout ends and be counted twice.
        if read.is_empty() {
            continue;
        }
        let deleted = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(read))
            .send()
            .await
            .expect("deleting the read messages");
        assert!(
            deleted.failed.is_empty(),
            "not deleted: {:?}",
            deleted.failed
        );
    }
}
