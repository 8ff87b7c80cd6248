//! Interpreter behaviour on the virtual clock: retries, catches, callbacks, timeouts,
//! Parallel/Map failure semantics, limits, stop, redrive and resume.
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use cordon_engine::history::MAX_HISTORY_EVENTS;
use cordon_engine::{
    CallbackError, Clock, Definition, EventType, Execution, ExecutionState, ExecutionStatus,
    FnDispatcher, HistoryEvent, Randomness, RunOutcome, Runtime, StartError, StartOptions,
    TaskDispatcher, TaskFailure, TaskRequest, UnresolvedDispatcher, VirtualClock,
};
use serde_json::{Value, json};

fn runtime(d: Arc<dyn TaskDispatcher>) -> (Runtime, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::at_epoch());
    let rt = Runtime::new(d, clock.clone()).with_rng(Arc::new(Randomness::seeded(42)));
    (rt, clock)
}

fn start(def: &Value, input: Value, rt: &Runtime) -> Execution {
    let def = Definition::parse(&def.to_string()).expect("valid definition");
    Execution::start(Arc::new(def), input, StartOptions::default(), rt).expect("started")
}

async fn run(
    def: &Value,
    input: Value,
    d: Arc<dyn TaskDispatcher>,
) -> (Execution, Arc<VirtualClock>) {
    let (rt, clock) = runtime(d);
    let mut ex = start(def, input, &rt);
    let out = ex.run_until_finished(&rt).await;
    assert!(
        matches!(out, RunOutcome::Finished(_)),
        "not finished: {out:?}"
    );
    (ex, clock)
}

fn events(ex: &Execution, t: EventType) -> Vec<&HistoryEvent> {
    ex.history().iter().filter(|e| e.event_type == t).collect()
}

fn always_fail(error: &'static str, calls: Arc<Mutex<Vec<u32>>>) -> Arc<dyn TaskDispatcher> {
    Arc::new(FnDispatcher(move |req: TaskRequest| {
        let calls = calls.clone();
        async move {
            calls.lock().unwrap().push(req.attempt);
            Err::<Value, _>(TaskFailure::new(error, "it broke"))
        }
    }))
}

fn delays(ex: &Execution) -> Vec<f64> {
    let failed: Vec<DateTime<Utc>> = events(ex, EventType::TaskFailed)
        .iter()
        .map(|e| e.timestamp)
        .collect();
    let scheduled: Vec<DateTime<Utc>> = events(ex, EventType::TaskScheduled)
        .iter()
        .map(|e| e.timestamp)
        .collect();
    failed
        .iter()
        .zip(scheduled.iter().skip(1))
        .map(|(f, s)| (*s - *f).num_milliseconds() as f64 / 1000.0)
        .collect()
}

#[tokio::test]
async fn retry_backoff_delays_are_exact_and_catch_follows_exhaustion() {
    let def = json!({
        "StartAt": "Quarantine",
        "States": {
            "Quarantine": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["Cordon.Transient"], "IntervalSeconds": 2,
                           "BackoffRate": 3.0, "MaxAttempts": 4, "MaxDelaySeconds": 30}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recorded"}],
                "End": true
            },
            "Recorded": {"Type": "Pass", "End": true}
        }
    });
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (ex, clock) = run(
        &def,
        json!({"user": "mallory"}),
        always_fail("Cordon.Transient", calls.clone()),
    )
    .await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    // 2, 2*3, 2*9, then 2*27 = 54 capped by MaxDelaySeconds to 30.
    assert_eq!(delays(&ex), vec![2.0, 6.0, 18.0, 30.0]);
    assert_eq!(*calls.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    let start = ex.describe().start_date;
    assert_eq!((clock.now() - start).num_seconds(), 56);
    let out = ex.describe().output.unwrap();
    assert_eq!(
        out,
        json!({"user": "mallory", "failure": {"Error": "Cordon.Transient", "Cause": "it broke"}})
    );
}

#[tokio::test]
async fn retry_defaults_and_max_attempts_zero() {
    let def = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Never.Retried"], "MaxAttempts": 0},
                      {"ErrorEquals": ["States.ALL"]}], "End": true}}
    });
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (ex, _) = run(&def, json!({}), always_fail("Boom", calls.clone())).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(
        delays(&ex),
        vec![1.0, 2.0, 4.0],
        "defaults: 1s, rate 2.0, 3 attempts"
    );
    assert_eq!(ex.describe().error.as_deref(), Some("Boom"));

    let calls = Arc::new(Mutex::new(Vec::new()));
    let (ex, _) = run(&def, json!({}), always_fail("Never.Retried", calls.clone())).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(
        calls.lock().unwrap().len(),
        1,
        "MaxAttempts 0 never retries, and later retriers are not consulted"
    );
}

#[tokio::test]
async fn full_jitter_stays_within_bounds() {
    let def = json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 2.0,
                       "MaxAttempts": 6, "JitterStrategy": "FULL"}], "End": true}}
    });
    let (ex, _) = run(
        &def,
        json!({}),
        always_fail("Boom", Arc::new(Mutex::new(Vec::new()))),
    )
    .await;
    let d = delays(&ex);
    assert_eq!(d.len(), 6);
    let caps: Vec<f64> = (0..6).map(|k| 10.0 * 2f64.powi(k)).collect();
    for (got, cap) in d.iter().zip(&caps) {
        assert!(
            *got >= 0.0 && *got <= *cap,
            "jittered delay {got} outside [0, {cap}]"
        );
    }
    assert!(
        d.iter().zip(&caps).any(|(g, c)| g < c),
        "FULL jitter never reduced a delay: {d:?}"
    );
}

#[tokio::test]
async fn parameters_see_retry_count_and_states_all_skips_runtime_errors() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let seen = s2.clone();
        async move {
            seen.lock().unwrap().push(req.input["attempt"].clone());
            if req.input["attempt"] == json!(2) {
                Ok(json!({"ok": true}))
            } else {
                Err(TaskFailure::new("Flaky", "x"))
            }
        }
    }));
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"attempt.$": "$$.State.RetryCount"},
                  "ResultSelector": {"ok.$": "$.ok"}, "ResultPath": "$.result",
                  "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}], "Next": "Bad"},
            "Bad": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "InputPath": "$.missing",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Never"}], "End": true},
            "Never": {"Type": "Succeed"}
        }
    });
    let (ex, _) = run(&def, json!({}), d).await;
    assert_eq!(*seen.lock().unwrap(), vec![json!(0), json!(1), json!(2)]);
    let exited = events(&ex, EventType::TaskStateExited);
    assert_eq!(
        exited[0]
            .details
            .state_exited_event_details
            .as_ref()
            .unwrap()
            .output,
        r#"{"result":{"ok":true}}"#
    );
    // States.Runtime is not caught by States.ALL.
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(ex.describe().error.as_deref(), Some("States.Runtime"));
    assert!(
        ex.describe()
            .cause
            .unwrap()
            .starts_with("An error occurred while executing the state 'Bad'")
    );
}

fn callback_def(extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "cordon-notify", "Payload": {"token.$": "$$.Task.Token", "user.$": "$.user"}},
        "ResultPath": "$.approval",
        "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.timeout", "Next": "Escalate"},
                  {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Expired"}],
        "Next": "Approved"
    });
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({
        "StartAt": "RequestApproval",
        "States": {
            "RequestApproval": task,
            "Approved": {"Type": "Succeed"},
            "Escalate": {"Type": "Pass", "Result": "escalated", "ResultPath": "$.outcome", "End": true},
            "Expired": {"Type": "Pass", "Result": "expired", "ResultPath": "$.outcome", "End": true}
        }
    })
}

fn token_recorder(tokens: Arc<Mutex<Vec<String>>>) -> Arc<dyn TaskDispatcher> {
    Arc::new(FnDispatcher(move |req: TaskRequest| {
        let tokens = tokens.clone();
        async move {
            let t = req.input["Payload"]["token"].as_str().unwrap().to_owned();
            assert_eq!(Some(&t), req.task_token.as_ref());
            tokens.lock().unwrap().push(t);
            Ok(json!({"StatusCode": 202}))
        }
    }))
}

#[tokio::test]
async fn heartbeat_timeout_on_wait_for_task_token() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (rt, clock) = runtime(token_recorder(tokens.clone()));
    let mut ex = start(
        &callback_def(json!({"HeartbeatSeconds": 60, "TimeoutSeconds": 3600})),
        json!({"user": "bob"}),
        &rt,
    );
    let t0 = clock.now();
    let parked = ex.run_until_parked(&rt).await;
    assert_eq!(
        parked,
        RunOutcome::Parked {
            next_wakeup: Some(t0 + chrono::Duration::seconds(60)),
            awaiting_callbacks: 1
        }
    );
    assert_eq!(events(&ex, EventType::TaskSubmitted).len(), 1);
    // A heartbeat at +50s pushes the deadline to +110s.
    clock.advance_to(t0 + chrono::Duration::seconds(50));
    let token = tokens.lock().unwrap()[0].clone();
    ex.send_task_heartbeat(&token, &rt).unwrap();
    let parked = ex.run_until_parked(&rt).await;
    assert_eq!(
        parked,
        RunOutcome::Parked {
            next_wakeup: Some(t0 + chrono::Duration::seconds(110)),
            awaiting_callbacks: 1
        }
    );
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!((clock.now() - t0).num_seconds(), 110);
    let timed_out = events(&ex, EventType::TaskTimedOut);
    assert_eq!(timed_out.len(), 1);
    assert_eq!(
        timed_out[0]
            .details
            .task_timed_out_event_details
            .as_ref()
            .unwrap()
            .error
            .as_deref(),
        Some("States.HeartbeatTimeout")
    );
    assert_eq!(ex.describe().output.unwrap()["outcome"], "escalated");
    assert_eq!(
        ex.send_task_success(&token, json!({}), &rt),
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test]
async fn approval_timeout_of_hours_takes_no_real_time() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let started = std::time::Instant::now();
    let (ex, clock) = run(
        &callback_def(json!({"TimeoutSeconds": 86400})),
        json!({"user": "bob"}),
        token_recorder(tokens),
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(ex.describe().output.unwrap()["outcome"], "expired");
    assert_eq!((clock.now() - ex.describe().start_date).num_hours(), 24);
}

#[tokio::test]
async fn callback_success_resumes_and_survives_a_restart() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let (rt, _) = runtime(token_recorder(tokens.clone()));
    let mut ex = start(
        &callback_def(json!({"TimeoutSeconds": 86400})),
        json!({"user": "bob"}),
        &rt,
    );
    assert!(matches!(
        ex.run_until_parked(&rt).await,
        RunOutcome::Parked {
            awaiting_callbacks: 1,
            ..
        }
    ));
    // Persist, drop, resume: the parked execution is plain serde data.
    let saved = serde_json::to_string(ex.state()).unwrap();
    drop(ex);
    let state: ExecutionState = serde_json::from_str(&saved).unwrap();
    let mut ex = Execution::resume(state).unwrap();
    let token = tokens.lock().unwrap()[0].clone();
    assert_eq!(
        ex.send_task_success("not-a-token", json!({}), &rt),
        Err(CallbackError::TaskDoesNotExist)
    );
    ex.send_task_success(&token, json!({"approved": true, "by": "alice"}), &rt)
        .unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!(
        ex.describe().output.unwrap(),
        json!({"user": "bob", "approval": {"approved": true, "by": "alice"}})
    );
    assert_eq!(
        ex.send_task_success(&token, json!({}), &rt),
        Err(CallbackError::TaskTimedOut)
    );
    assert_eq!(events(&ex, EventType::TaskSucceeded).len(), 1);
}

#[tokio::test]
async fn callback_through_a_handle_from_another_task() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let tx = tx.clone();
        async move {
            tx.send(req.task_token.unwrap()).unwrap();
            Ok(Value::Null)
        }
    }));
    let (rt, _) = runtime(d);
    let mut ex = start(
        &callback_def(json!({"HeartbeatSeconds": 5})),
        json!({"user": "bob"}),
        &rt,
    );
    let handle = ex.handle();
    let approver = tokio::spawn(async move {
        let token = rx.recv().await.unwrap();
        handle
            .send_task_failure(&token, Some("Rejected".into()), Some("no".into()))
            .await
    });
    ex.run_until_finished(&rt).await;
    assert_eq!(approver.await.unwrap(), Ok(()));
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(ex.describe().error.as_deref(), Some("Rejected"));
}

#[tokio::test]
async fn parallel_branch_failure_fails_with_the_branch_error() {
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 100, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "Cordon.Denied", "Cause": "nope"}}}
        ]}}
    });
    let (ex, clock) = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(ex.describe().error.as_deref(), Some("Cordon.Denied"));
    assert_eq!(ex.describe().cause.as_deref(), Some("nope"));
    assert_eq!(events(&ex, EventType::ParallelStateFailed).len(), 1);
    assert!(
        events(&ex, EventType::WaitStateExited).is_empty(),
        "the other branch is aborted"
    );
    assert_eq!(clock.now(), ex.describe().start_date);

    let mut caught = def.clone();
    caught["States"]["Fan"]["Catch"] =
        json!([{"ErrorEquals": ["Cordon.Denied"], "Next": "Handled"}]);
    caught["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    let (ex, _) = run(&caught, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(
        ex.describe().output.unwrap(),
        json!({"Error": "Cordon.Denied", "Cause": "nope"})
    );
}

#[tokio::test]
async fn parallel_collects_branch_outputs_in_order() {
    let def = json!({
        "StartAt": "Fan",
        "States": {"Fan": {"Type": "Parallel", "ResultPath": "$.out", "End": true, "Branches": [
            {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 30, "Next": "S"}, "S": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Result": 2, "End": true}}}
        ]}}
    });
    let (ex, clock) = run(&def, json!({"in": true}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(
        ex.describe().output.unwrap(),
        json!({"in": true, "out": [1, 2]})
    );
    assert_eq!((clock.now() - ex.describe().start_date).num_seconds(), 30);
}

fn odd_map(tolerance: Value) -> Value {
    let mut map = json!({
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 3,
        "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Odd"},
                {"Variable": "$.n", "NumericEquals": 3, "Next": "Odd"}, {"Variable": "$.n", "NumericEquals": 5, "Next": "Odd"},
                {"Variable": "$.n", "NumericEquals": 7, "Next": "Odd"}, {"Variable": "$.n", "NumericEquals": 9, "Next": "Odd"}],
                "Default": "Even"},
            "Odd": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
            "Even": {"Type": "Pass", "End": true}}},
        "End": true
    });
    for (k, v) in tolerance.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

#[tokio::test]
async fn map_tolerated_failure_thresholds() {
    let input = json!({"items": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]});
    let d = || -> Arc<dyn TaskDispatcher> { Arc::new(UnresolvedDispatcher) };
    let (ex, _) = run(&odd_map(json!({})), input.clone(), d()).await;
    assert_eq!(
        ex.describe().error.as_deref(),
        Some("Odd"),
        "no tolerance: the first failure fails the Map"
    );
    assert!(!events(&ex, EventType::MapIterationAborted).is_empty());

    let (ex, _) = run(
        &odd_map(json!({"ToleratedFailureCount": 5})),
        input.clone(),
        d(),
    )
    .await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let out = ex.describe().output.unwrap();
    assert_eq!(out[0], json!({"n": 0, "i": 0}));
    assert_eq!(out[1], json!({"Error": "Odd", "Cause": "odd item"}));
    assert_eq!(events(&ex, EventType::MapIterationFailed).len(), 5);
    assert_eq!(events(&ex, EventType::MapIterationSucceeded).len(), 5);

    let (ex, _) = run(
        &odd_map(json!({"ToleratedFailureCount": 4})),
        input.clone(),
        d(),
    )
    .await;
    assert_eq!(
        ex.describe().error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let (ex, _) = run(
        &odd_map(json!({"ToleratedFailurePercentage": 50})),
        input.clone(),
        d(),
    )
    .await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let (ex, _) = run(
        &odd_map(json!({"ToleratedFailurePercentage": 40})),
        input.clone(),
        d(),
    )
    .await;
    assert_eq!(
        ex.describe().error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(events(&ex, EventType::MapStateFailed).len(), 1);
}

#[tokio::test]
async fn map_respects_max_concurrency_and_order() {
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let (r2, p2) = (running.clone(), peak.clone());
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let (running, peak) = (r2.clone(), p2.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(json!(req.input.as_i64().unwrap() * 10))
        }
    }));
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
        "Iterator": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}});
    let (ex, _) = run(&def, json!([1, 2, 3, 4, 5]), d).await;
    assert_eq!(ex.describe().output.unwrap(), json!([10, 20, 30, 40, 50]));
    assert!(peak.load(Ordering::SeqCst) <= 2);
    assert_eq!(
        events(&ex, EventType::MapStateStarted)[0]
            .details
            .map_state_started_event_details
            .as_ref()
            .unwrap()
            .length,
        5
    );
}

#[tokio::test]
async fn payload_limit_fails_with_data_limit_exceeded_which_states_all_cannot_catch() {
    let big = "x".repeat(262_144);
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |_req: TaskRequest| {
        let big = big.clone();
        async move { Ok(json!({"blob": big})) }
    }));
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true},
        "C": {"Type": "Succeed"}}});
    let (ex, _) = run(&def, json!({}), d).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(
        ex.describe().error.as_deref(),
        Some("States.DataLimitExceeded")
    );

    // Just under the limit passes (the object wrapper adds 11 bytes).
    let fits = "y".repeat(262_144 - 11);
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"blob": fits}, "End": true}}});
    let (ex, _) = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let over = "y".repeat(262_144 - 10);
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"blob": over}, "End": true}}});
    let (ex, _) = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(
        ex.describe().error.as_deref(),
        Some("States.DataLimitExceeded")
    );

    let (rt, _) = runtime(Arc::new(UnresolvedDispatcher));
    let d = Arc::new(Definition::parse(&def.to_string()).unwrap());
    assert!(
        Execution::start(
            d,
            json!({"blob": "z".repeat(262_144)}),
            StartOptions::default(),
            &rt
        )
        .is_err()
    );
}

#[tokio::test]
async fn runaway_loop_ends_at_the_history_limit() {
    let def = json!({"StartAt": "Spin", "States": {
        "Spin": {"Type": "Pass", "Next": "Again"},
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "Spin"},
        "Done": {"Type": "Succeed"}}});
    let (ex, _) = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(ex.history().len(), MAX_HISTORY_EVENTS);
    assert_eq!(
        ex.history().last().unwrap().event_type,
        EventType::ExecutionFailed
    );
    assert!(ex.describe().cause.unwrap().contains("25000"));
}

#[tokio::test]
async fn execution_timeout_and_stop() {
    let def = json!({"TimeoutSeconds": 10, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let (ex, clock) = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.status(), ExecutionStatus::TimedOut);
    assert_eq!((clock.now() - ex.describe().start_date).num_seconds(), 10);
    assert_eq!(
        ex.history().last().unwrap().event_type,
        EventType::ExecutionTimedOut
    );

    let (rt, _) = runtime(Arc::new(UnresolvedDispatcher));
    let def =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let mut ex = start(&def, json!({}), &rt);
    ex.run_until_parked(&rt).await;
    ex.stop(Some("Operator".into()), Some("manual".into()), &rt);
    assert_eq!(ex.status(), ExecutionStatus::Aborted);
    assert_eq!(ex.describe().error.as_deref(), Some("Operator"));
    assert_eq!(
        ex.run_until_parked(&rt).await,
        RunOutcome::Finished(ExecutionStatus::Aborted)
    );
}

#[tokio::test]
async fn redrive_restarts_the_failed_state() {
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let n = c2.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(TaskFailure::new("Down", "service down"))
            } else {
                Ok(json!({"tagged": req.input["user"]}))
            }
        }
    }));
    let def = json!({"StartAt": "First", "States": {
        "First": {"Type": "Pass", "Result": "done", "ResultPath": "$.first", "Next": "Tag"},
        "Tag": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.tag", "End": true}}});
    let (rt, _) = runtime(d);
    let mut ex = start(&def, json!({"user": "eve"}), &rt);
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    ex.redrive(&rt).unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!(ex.describe().redrive_count, 1);
    assert_eq!(
        ex.describe().output.unwrap(),
        json!({"user": "eve", "first": "done", "tag": {"tagged": "eve"}})
    );
    assert_eq!(
        events(&ex, EventType::PassStateEntered).len(),
        1,
        "the succeeded state is not re-run"
    );
    assert_eq!(events(&ex, EventType::ExecutionRedriven).len(), 1);
    assert!(ex.redrive(&rt).is_err());
}

#[tokio::test]
async fn unresolved_tasks_fail_like_aws_and_history_has_aws_shapes() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "TimeoutSeconds": 30, "End": true}}});
    let (ex, _) = run(&def, json!({"a": 1}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.describe().error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(
        ex.describe().cause.as_deref(),
        Some("no handler registered for resource arn:aws:states:::lambda:invoke")
    );
    let types: Vec<EventType> = ex.history().iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::ExecutionStarted,
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskFailed,
            EventType::ExecutionFailed
        ]
    );
    let v = serde_json::to_value(&ex.history()[2]).unwrap();
    assert_eq!(
        v["taskScheduledEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke",
        "region": "us-east-1", "parameters": r#"{"FunctionName":"f","Payload":{"a":1}}"#, "timeoutInSeconds": 30})
    );
    let ids: Vec<(u64, u64)> = ex
        .history()
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(ids, vec![(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]);
    let aws = ex.describe().to_aws_json();
    assert_eq!(aws["status"], "FAILED");
    assert!(aws.get("output").is_none());
}

#[tokio::test]
async fn local_exec_prints_describe_execution() {
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"who.$": "$$.Execution.Name"}, "End": true}}}"#;
    let out = cordon_engine::local_exec(
        def,
        "{}",
        Some(r#"{"Execution": {"Name": "demo-1"}}"#),
        None,
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"], r#"{"who":"demo-1"}"#);
    assert!(
        cordon_engine::local_exec("{", "{}", None, None)
            .await
            .is_err()
    );
}

#[test]
fn executions_can_be_driven_from_spawned_tasks() {
    fn assert_send<T: Send>(_: &T) {}
    let (rt, _) = runtime(Arc::new(UnresolvedDispatcher));
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let mut ex = start(&def, json!({}), &rt);
    assert_send(&ex.run_until_parked(&rt));
    assert_send(&ex.handle());
}

#[tokio::test]
async fn local_exec_with_a_virtual_clock_skips_waits() {
    let def =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 7200, "End": true}}}"#;
    let started = std::time::Instant::now();
    let out = cordon_engine::local_exec_with_clock(
        def,
        r#"{"x": 1}"#,
        None,
        None,
        Arc::new(VirtualClock::at_epoch()),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"], r#"{"x":1}"#);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn timeout_seconds_path_reads_the_state_input_not_the_parameters() {
    use std::sync::Arc;
    let definition = serde_json::json!({
        "StartAt": "Wait for a human",
        "States": {
            "Wait for a human": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSecondsPath": "$.policy.timeout",
                "End": true
            }
        }
    });
    let clock = Arc::new(cordon_engine::VirtualClock::at_epoch());
    use cordon_engine::Clock;
    let started = clock.now();
    let dispatcher = Arc::new(cordon_engine::FnDispatcher(
        |_req: cordon_engine::TaskRequest| async { Ok(serde_json::Value::Null) },
    ));
    let result = cordon_engine::run_to_completion(
        &definition.to_string(),
        serde_json::json!({"policy": {"timeout": 5400}}),
        None,
        dispatcher,
        clock.clone(),
    )
    .await
    .expect("starts");
    assert_eq!(result.status(), cordon_engine::ExecutionStatus::Failed);
    assert_eq!(result.description.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        (clock.now() - started).num_seconds(),
        5400,
        "timed out after the path's 5400 s"
    );
}

/// AWS Step Functions developer guide, "Redriving executions": a redriven Map state reruns only
/// its unsuccessful iterations (failed, aborted or never started); the iterations that
/// succeeded keep their results.
#[tokio::test]
async fn redrive_reruns_only_unsuccessful_map_iterations() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let item = req.input["item"].as_i64().unwrap_or_default();
        let first_try = {
            let mut s = s2.lock().unwrap();
            let first = !s.contains(&item);
            s.push(item);
            first
        };
        async move {
            if item == 2 && first_try {
                Err(TaskFailure::new("Flaky", "item 2 failed once"))
            } else {
                Ok(json!(item * 10))
            }
        }
    }));
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1,
        "ItemSelector": {"item.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "End": true}}});
    let (rt, _) = runtime(d);
    let mut ex = start(&def, json!([1, 2, 3]), &rt);
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2], "item 3 never started");
    ex.redrive(&rt).unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!(ex.describe().output, Some(json!([10, 20, 30])));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![1, 2, 2, 3],
        "item 1 succeeded and is not run again"
    );
}

/// "Redriving executions": a redriven Parallel state reruns only its unsuccessful branches.
#[tokio::test]
async fn redrive_reruns_only_unsuccessful_parallel_branches() {
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |_req: TaskRequest| {
        let n = c2.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(TaskFailure::new("Down", "service down"))
            } else {
                Ok(json!("b"))
            }
        }
    }));
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B0", "States": {
            "B0": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}]}}});
    let (rt, _) = runtime(d);
    let mut ex = start(&def, json!({}), &rt);
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    ex.redrive(&rt).unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!(ex.describe().output, Some(json!(["a", "b"])));
    let entered: Vec<String> = events(&ex, EventType::PassStateEntered)
        .iter()
        .filter_map(|e| e.details.state_entered_event_details.as_ref())
        .map(|d| d.name.clone())
        .collect();
    assert_eq!(
        entered,
        vec!["A", "B0"],
        "the succeeded branch, and the failed branch's states before the one that failed, do not run again"
    );
}

/// AWS Step Functions developer guide, "Choosing workflow type in Step Functions": an Express
/// workflow runs for at most five minutes, keeps no 25,000-event history limit, and cannot be
/// redriven ("RedriveExecution ... is not supported by EXPRESS state machines").
#[tokio::test]
async fn express_executions_have_their_own_limits() {
    // A loop of 7,000 rounds records 28,000 events: past a Standard execution's limit.
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"n": 0}, "Next": "Inc"},
        "Inc": {"Type": "Pass", "Assign": {"n.$": "States.MathAdd($n, 1)"}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$n", "NumericLessThan": 7000, "Next": "Inc"}], "Default": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"n.$": "$n"}, "End": true}}});
    let (rt, _) = runtime(Arc::new(UnresolvedDispatcher));
    let express = StartOptions {
        express: true,
        ..StartOptions::default()
    };
    let mut ex = Execution::start(
        Arc::new(Definition::parse(&def.to_string()).unwrap()),
        json!({}),
        express.clone(),
        &rt,
    )
    .unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    assert_eq!(ex.describe().output, Some(json!({"n": 7000})));
    assert!(ex.history().len() > MAX_HISTORY_EVENTS);
    let standard = run(&def, json!({}), Arc::new(UnresolvedDispatcher)).await.0;
    assert_eq!(standard.status(), ExecutionStatus::Failed);
    assert_eq!(standard.history().len(), MAX_HISTORY_EVENTS);

    // Five minutes at most, whatever TimeoutSeconds says.
    let wait = json!({"TimeoutSeconds": 3600, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let (rt, clock) = runtime(Arc::new(UnresolvedDispatcher));
    let mut ex = Execution::start(
        Arc::new(Definition::parse(&wait.to_string()).unwrap()),
        json!({}),
        express,
        &rt,
    )
    .unwrap();
    ex.run_until_finished(&rt).await;
    assert_eq!(ex.status(), ExecutionStatus::TimedOut);
    assert_eq!((clock.now() - ex.describe().start_date).num_seconds(), 300);
    assert!(matches!(ex.redrive(&rt), Err(StartError::NotRedrivable(_))));
}

/// `$$` is built for the states that mention it, shared by the fields and the dispatch of
/// one attempt, and rebuilt for the next attempt (its `RetryCount` changes).
/// A Task whose fields read `$$.Execution.Input` has it in the `$$` its dispatch gets.
#[tokio::test]
async fn a_task_that_reads_the_execution_input_is_handed_it() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"n.$": "$$.Execution.Input.n"}, "End": true}}});
    let seen: Arc<Mutex<Vec<(Value, Value)>>> = Arc::default();
    let log = seen.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let log = log.clone();
        async move {
            log.lock()
                .unwrap()
                .push(((*req.context).clone(), req.input.clone()));
            Ok(json!({"ok": true}))
        }
    }));
    let (ex, _) = run(&def, json!({"n": 7}), d).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0["Execution"]["Input"], json!({"n": 7}));
    assert_eq!(seen[0].1, json!({"n": 7}));
}

#[tokio::test]
async fn the_context_object_reaches_the_tasks_that_read_it() {
    let def = json!({"StartAt": "Plain", "States": {
        "Plain": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"n.$": "$.n"}, "ResultPath": "$.plain", "Next": "Reads"},
        "Reads": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"id.$": "$$.Execution.Id", "retry.$": "$$.State.RetryCount"},
                  "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                  "ResultSelector": {"entered.$": "$$.State.Name"},
                  "ResultPath": "$.reads", "End": true}}});
    let seen: Arc<Mutex<Vec<(String, Value, Value)>>> = Arc::default();
    let log = seen.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let log = log.clone();
        async move {
            let first = log.lock().unwrap().len() == 1;
            log.lock().unwrap().push((
                req.state_name.clone(),
                (*req.context).clone(),
                req.input.clone(),
            ));
            if req.state_name == "Reads" && first {
                return Err(TaskFailure::new("Flaky", "once"));
            }
            Ok(json!({"ok": true}))
        }
    }));
    let (ex, _) = run(&def, json!({"n": 1}), d).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].0, "Plain");
    assert_eq!(seen[0].1, Value::Null, "no field of Plain mentions $$");
    let arn = &ex.state().identity.execution_arn;
    for (attempt, (name, ctx, input)) in seen[1..].iter().enumerate() {
        assert_eq!(name, "Reads");
        assert_eq!(&ctx["Execution"]["Id"], arn);
        assert_eq!(
            ctx["Execution"].get("Input"),
            None,
            "no field of Reads could read the input"
        );
        assert_eq!(ctx["State"]["RetryCount"], json!(attempt));
        assert_eq!(input["retry"], json!(attempt), "the fields saw the same $$");
    }
    assert_eq!(
        ex.describe().output.unwrap()["reads"],
        json!({"entered": "Reads"})
    );
}

/// A ResultPath that cannot be applied fails with the input as it was, unchanged.
#[tokio::test]
async fn an_unappliable_result_path_reports_the_input_as_it_was() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}});
    let (ex, _) = run(&def, json!({"a": [1, 2]}), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.status(), ExecutionStatus::Failed);
    let d = ex.describe();
    assert_eq!(d.error.as_deref(), Some("States.ResultPathMatchFailure"));
    let cause = d.cause.unwrap_or_default();
    assert!(
        cause.contains("'$.a.b'") && cause.contains("[1,2]"),
        "{cause}"
    );
}

/// A state whose output is refused after its result was placed into its input (the payload
/// limit) fails with its raw input as it was: a Retry dispatches it again, a Catch
/// places the error into it, and a redrive restarts from it.
#[tokio::test]
async fn a_refused_output_leaves_the_raw_input_as_it_was() {
    // The result fits (262,140 bytes); placed into the input, it does not.
    let big = "x".repeat(262_140 - 11);
    let inputs: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = inputs.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let big = big.clone();
        let log = log.clone();
        async move {
            log.lock().unwrap().push(req.input.clone());
            Ok(json!({"blob": big}))
        }
    }));
    let input = json!({"a": 1, "r": "old", "n": {"m": [1, 2]}, "z": 2});
    let input_text = serde_json::to_string(&input).unwrap();
    for result_path in ["$.r", "$.new", "$.n.m[1]", "$.deep.er.still"] {
        let t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "ResultPath": result_path,
            "Retry": [{"ErrorEquals": ["States.DataLimitExceeded"], "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"],
                       "ResultPath": "$.err", "Next": "C"}],
            "End": true});
        let def = json!({"StartAt": "T", "States": {"T": t, "C": {"Type": "Pass", "End": true}}});
        inputs.lock().unwrap().clear();
        let (ex, _) = run(&def, input.clone(), d.clone()).await;
        let seen = inputs.lock().unwrap().clone();
        assert_eq!(seen, vec![input.clone(), input.clone()], "{result_path}");
        let out = ex.describe().output.unwrap_or_default();
        let mut expected = input.clone();
        expected["err"] = out["err"].clone();
        assert!(out["err"]["Error"].is_string(), "{result_path}: {out}");
        assert_eq!(out, expected, "{result_path}");
        let text = serde_json::to_string(&out).unwrap();
        assert!(
            text.starts_with(&input_text[..input_text.len() - 1]),
            "{result_path}: the fields keep their order: {text}"
        );

        // Not caught: a redrive restarts the state from the same input.
        let mut t = def["States"]["T"].clone();
        t.as_object_mut().unwrap().remove("Catch");
        t.as_object_mut().unwrap().remove("Retry");
        let def = json!({"StartAt": "T", "States": {"T": t}});
        inputs.lock().unwrap().clear();
        let (rt, _) = runtime(d.clone());
        let mut ex = start(&def, input.clone(), &rt);
        ex.run_until_finished(&rt).await;
        assert_eq!(ex.status(), ExecutionStatus::Failed);
        ex.redrive(&rt).unwrap();
        ex.run_until_finished(&rt).await;
        let seen = inputs.lock().unwrap().clone();
        assert_eq!(seen, vec![input.clone(), input.clone()], "{result_path}");
    }
}

/// An OutputPath that selects nothing (`States.Runtime`, which nothing catches) fails the
/// state with its raw input as it was, which a redrive restarts it from.
#[tokio::test]
async fn a_failed_output_path_leaves_the_raw_input_for_a_redrive() {
    let inputs: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = inputs.clone();
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(move |req: TaskRequest| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(req.input.clone());
            Ok(json!({"small": true}))
        }
    }));
    let input = json!({"a": 1, "r": "old", "z": 2});
    for result_path in ["$.r", "$.new", "$.deep.er", "$"] {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": result_path,
            "OutputPath": "$.missing", "End": true}}});
        inputs.lock().unwrap().clear();
        let (rt, _) = runtime(d.clone());
        let mut ex = start(&def, input.clone(), &rt);
        ex.run_until_finished(&rt).await;
        assert_eq!(ex.status(), ExecutionStatus::Failed);
        assert_eq!(ex.describe().error.as_deref(), Some("States.Runtime"));
        ex.redrive(&rt).unwrap();
        ex.run_until_finished(&rt).await;
        let seen = inputs.lock().unwrap().clone();
        assert_eq!(seen, vec![input.clone(), input.clone()], "{result_path}");
    }
}

/// `$$.Execution.Input` is there for every way a state can read it (the input is copied
/// into `$$` only for the states that could).
#[tokio::test]
async fn every_way_to_read_the_execution_input_finds_it() {
    let input = json!({"user": "eve", "n": [1, 2]});
    let cases = [
        ("$$.Execution.Input", input.clone()),
        ("$$.Execution.Input.user", json!("eve")),
        ("$$['Execution']['Input']", input.clone()),
        ("$$.Execution['Input'].n", json!([1, 2])),
        ("$$..user", json!(["eve"])),
        ("$$.Execution.*", json!(null)),
        ("$$.Execution", json!(null)),
        ("$$", json!(null)),
        (
            "States.JsonToString($$.Execution.Input)",
            json!(input.to_string()),
        ),
        ("States.Format('{}', $$.Execution.Input.user)", json!("eve")),
    ];
    for (expr, expected) in cases {
        let def = json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Parameters": {"v.$": expr, "id.$": "$$.Execution.Id"}, "End": true}}});
        let (ex, _) = run(&def, input.clone(), Arc::new(UnresolvedDispatcher)).await;
        assert_eq!(ex.status(), ExecutionStatus::Succeeded, "{expr}");
        let v = ex.describe().output.unwrap()["v"].clone();
        match expr {
            "$$.Execution.*" => assert!(v.as_array().unwrap().contains(&input), "{expr}: {v}"),
            "$$.Execution" => assert_eq!(v["Input"], input, "{expr}"),
            "$$" => assert_eq!(v["Execution"]["Input"], input, "{expr}"),
            _ => assert_eq!(v, expected, "{expr}"),
        }
    }
    // JSONata reaches it through `$states.context`.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.context.Execution.Input.user %}", "End": true}}});
    let (ex, _) = run(&def, input.clone(), Arc::new(UnresolvedDispatcher)).await;
    assert_eq!(ex.describe().output.unwrap(), json!("eve"));
}

/// A ResultSelector selects the same values whether it takes them out of the result or
/// copies them (paths that lead to the same value or into one another), and a path that
/// finds nothing is reported with the whole result.
#[tokio::test]
async fn result_selectors_select_the_same_values_however_they_read_the_result() {
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(|_req: TaskRequest| async {
        Ok(json!({"a": {"b": 1}, "c": [1, 2], "s": "t"}))
    }));
    let cases = [
        (
            json!({"x.$": "$.a", "z.$": "$.c[1]", "w.$": "$.c[0]", "k": 1, "n": {"s.$": "$.s"}}),
            json!({"x": {"b": 1}, "z": 2, "w": 1, "k": 1, "n": {"s": "t"}}),
        ),
        (
            json!({"x.$": "$.a", "y.$": "$.a.b", "again.$": "$.a"}),
            json!({"x": {"b": 1}, "y": 1, "again": {"b": 1}}),
        ),
        (
            json!({"all.$": "$", "s.$": "$.s"}),
            json!({"all": {"a": {"b": 1}, "c": [1, 2], "s": "t"}, "s": "t"}),
        ),
        (
            json!({"all.$": "$"}),
            json!({"all": {"a": {"b": 1}, "c": [1, 2], "s": "t"}}),
        ),
        (
            json!({"l.$": "States.ArrayLength($.c)", "c.$": "$.c"}),
            json!({"l": 2, "c": [1, 2]}),
        ),
    ];
    for (selector, expected) in cases {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "ResultSelector": selector,
            "ResultPath": "$.r", "End": true}}});
        let (ex, _) = run(&def, json!({"in": true}), d.clone()).await;
        assert_eq!(
            ex.describe().output,
            Some(json!({"in": true, "r": expected})),
            "{selector}"
        );
    }
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "ResultSelector": {"x.$": "$.a", "m.$": "$.missing"}, "End": true}}});
    let (ex, _) = run(&def, json!({}), d).await;
    assert_eq!(ex.describe().error.as_deref(), Some("States.Runtime"));
    let cause = ex.describe().cause.unwrap_or_default();
    assert!(
        cause.contains(r#"'{"a":{"b":1},"c":[1,2],"s":"t"}'"#),
        "{cause}"
    );
}

/// A task handler that panics fails its state with `States.TaskFailed`, whether it panics
/// when first polled or after it waited; a Catch takes it like any task failure.
#[tokio::test]
async fn a_panicking_task_handler_fails_the_state() {
    for wait_first in [false, true] {
        let def = json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
                  "End": true},
            "Caught": {"Type": "Pass", "End": true}}});
        let d: Arc<dyn TaskDispatcher> =
            Arc::new(FnDispatcher(move |_req: TaskRequest| async move {
                if wait_first {
                    tokio::task::yield_now().await;
                }
                panic!("boom");
            }));
        let (ex, _) = run(&def, json!({}), d).await;
        assert_eq!(
            ex.status(),
            ExecutionStatus::Succeeded,
            "wait_first {wait_first}"
        );
        let out = ex.describe().output.unwrap();
        assert_eq!(out["Error"], "States.TaskFailed", "wait_first {wait_first}");
        let cause = out["Cause"].as_str().unwrap();
        assert!(
            cause.starts_with("the task handler did not complete: task ")
                && cause.ends_with("panicked with message \"boom\""),
            "wait_first {wait_first}: {cause}"
        );
    }
}

/// Branches whose handlers answer at once and a branch whose handler answers after waiting
/// record their events in the order the answers came: the history does not depend on how
/// the engine runs a dispatch.
#[tokio::test]
async fn answers_at_once_and_later_are_recorded_in_the_order_they_came() {
    let task = |name: &str| {
        json!({"StartAt": name, "States": {name: {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"who": name},
            "Next": format!("{name}2")},
            format!("{name}2"): {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"who": format!("{name}2")}, "End": true}}})
    };
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [task("A"), task("Slow"), task("C")],
              "Next": "After"},
        "After": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}});
    let d: Arc<dyn TaskDispatcher> = Arc::new(FnDispatcher(|req: TaskRequest| async move {
        if req.input["who"] == "Slow" {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        }
        Ok(req.input)
    }));
    let (ex, _) = run(&def, json!({}), d).await;
    assert_eq!(ex.status(), ExecutionStatus::Succeeded);
    let order: Vec<String> = ex
        .history()
        .iter()
        .map(|e| {
            let d = &e.details;
            let name = d
                .state_entered_event_details
                .as_ref()
                .map(|s| s.name.clone())
                .or_else(|| {
                    d.state_exited_event_details
                        .as_ref()
                        .map(|s| s.name.clone())
                })
                .unwrap_or_default();
            format!("{:?} {name}", e.event_type)
        })
        .collect();
    // The same order the engine recorded when every dispatch ran as a task of its own.
    let expected = [
        "ExecutionStarted ",
        "ParallelStateEntered P",
        "ParallelStateStarted ",
        "TaskStateEntered A",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskStateEntered Slow",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskStateEntered C",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskSucceeded ",
        "TaskStateExited A",
        "TaskStateEntered A2",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskSucceeded ",
        "TaskStateExited C",
        "TaskStateEntered C2",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskSucceeded ",
        "TaskStateExited A2",
        "TaskSucceeded ",
        "TaskStateExited C2",
        "TaskSucceeded ",
        "TaskStateExited Slow",
        "TaskStateEntered Slow2",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskSucceeded ",
        "TaskStateExited Slow2",
        "ParallelStateSucceeded ",
        "ParallelStateExited P",
        "TaskStateEntered After",
        "TaskScheduled ",
        "TaskStarted ",
        "TaskSucceeded ",
        "TaskStateExited After",
        "ExecutionSucceeded ",
    ];
    assert_eq!(order, expected, "{order:#?}");
}
