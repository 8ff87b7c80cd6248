//! End-to-end tests of the service, driven only through aws-sdk-sfn on 127.0.0.1.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use cordon_sfn_local::{InProcessLambda, LambdaError, ServiceConfig, ServiceHandle, serve};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/cordon-sfn";

fn db_path() -> PathBuf {
    std::env::temp_dir().join(format!("cordon-sfn-local-{}.sqlite", uuid::Uuid::new_v4()))
}

async fn client(handle: &ServiceHandle) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(handle.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&conf)
}

async fn start(db: &PathBuf, lambda: InProcessLambda) -> (ServiceHandle, Client) {
    let handle = serve(ServiceConfig::new(db).with_lambda(Arc::new(lambda)))
        .await
        .expect("the service starts");
    let c = client(&handle).await;
    (handle, c)
}

fn code<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> String {
    match e.as_service_error().and_then(|s| s.code()) {
        Some(c) => c.to_owned(),
        None => format!("<no code: {e:?}>"),
    }
}

async fn create(c: &Client, name: &str, definition: &Value) -> String {
    c.create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn
}

async fn start_exec(c: &Client, sm: &str, name: &str, input: &Value) -> String {
    c.start_execution()
        .state_machine_arn(sm)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .expect("start execution")
        .execution_arn
}

async fn wait_status(
    c: &Client,
    arn: &str,
    want: ExecutionStatus,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("describe execution");
        if d.status == want {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "execution stuck in {:?} (wanted {want:?}): {d:?}",
            d.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A backend whose `notify` function records the task token it receives.
fn token_catcher() -> (InProcessLambda, Arc<Mutex<Vec<String>>>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let t = tokens.clone();
    let lambda = InProcessLambda::new().with("notify", move |event: Value| {
        let t = t.clone();
        async move {
            if let Some(tok) = event.get("token").and_then(Value::as_str) {
                t.lock().unwrap().push(tok.to_owned());
            }
            Ok(json!({"sent": true}))
        }
    });
    (lambda, tokens)
}

async fn next_token(tokens: &Arc<Mutex<Vec<String>>>, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(t) = tokens.lock().unwrap().get(n) {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "no task token was issued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn approval_definition(heartbeat: Option<u64>) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "notify",
            "Payload": {"token.$": "$$.Task.Token", "incident.$": "$.incident"}
        },
        "End": true
    });
    if let Some(h) = heartbeat {
        task["HeartbeatSeconds"] = json!(h);
    }
    json!({"StartAt": "RequestApproval", "States": {"RequestApproval": task}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_start_describe_and_history() {
    let db = db_path();
    let lambda = InProcessLambda::new().with("enrich", |event: Value| async move {
        Ok(json!({"severity": "HIGH", "seen": event}))
    });
    let (_svc, c) = start(&db, lambda).await;
    let def = json!({
        "StartAt": "Open",
        "States": {
            "Open": {"Type": "Pass", "Result": "opened", "ResultPath": "$.status", "Next": "Enrich"},
            "Enrich": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:enrich", "Payload.$": "$"},
                "ResultSelector": {"severity.$": "$.Payload.severity", "code.$": "$.StatusCode"},
                "End": true
            }
        }
    });
    let sm = create(&c, "incident", &def).await;
    assert_eq!(
        sm,
        "arn:aws:states:us-east-1:123456789012:stateMachine:incident"
    );
    // Same name and definition: idempotent. Different definition: StateMachineAlreadyExists.
    assert_eq!(create(&c, "incident", &def).await, sm);
    let err = c
        .create_state_machine()
        .name("incident")
        .definition(
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
        )
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "StateMachineAlreadyExists");
    let d = c
        .describe_state_machine()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(d.name, "incident");
    assert_eq!(d.role_arn, ROLE);

    let exec = start_exec(&c, &sm, "run-1", &json!({"incident": "i-1"})).await;
    let done = wait_status(&c, &exec, ExecutionStatus::Succeeded).await;
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!({"severity": "HIGH", "code": 200}));
    assert!(done.stop_date.is_some());

    let h = c
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let types: Vec<HistoryEventType> = h.events.iter().map(|e| e.r#type.clone()).collect();
    assert_eq!(
        types,
        vec![
            HistoryEventType::ExecutionStarted,
            HistoryEventType::PassStateEntered,
            HistoryEventType::PassStateExited,
            HistoryEventType::TaskStateEntered,
            HistoryEventType::TaskScheduled,
            HistoryEventType::TaskStarted,
            HistoryEventType::TaskSucceeded,
            HistoryEventType::TaskStateExited,
            HistoryEventType::ExecutionSucceeded,
        ]
    );
    let scheduled = h.events[4].task_scheduled_event_details.as_ref().unwrap();
    assert_eq!(scheduled.resource_type, "lambda");
    assert_eq!(scheduled.resource, "invoke");
    let succeeded = h.events[6].task_succeeded_event_details.as_ref().unwrap();
    let envelope: Value = serde_json::from_str(succeeded.output.as_deref().unwrap()).unwrap();
    assert_eq!(envelope["StatusCode"], 200);
    assert_eq!(envelope["ExecutedVersion"], "$LATEST");
    assert_eq!(envelope["Payload"]["seen"]["status"], "opened");

    // Pagination and reverse order.
    let page1 = c
        .get_execution_history()
        .execution_arn(&exec)
        .max_results(4)
        .reverse_order(true)
        .send()
        .await
        .unwrap();
    assert_eq!(page1.events.len(), 4);
    assert_eq!(page1.events[0].id, 9);
    let page2 = c
        .get_execution_history()
        .execution_arn(&exec)
        .max_results(4)
        .reverse_order(true)
        .next_token(page1.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page2.events[0].id, 5);

    let list = c
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(list.executions.len(), 1);
    assert_eq!(list.executions[0].status, ExecutionStatus::Succeeded);
    let machines = c.list_state_machines().send().await.unwrap();
    assert_eq!(machines.state_machines.len(), 1);

    // Errors in AWS's shapes.
    let missing = format!("{sm}-missing");
    let err = c
        .start_execution()
        .state_machine_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "StateMachineDoesNotExist");
    let err = c
        .describe_execution()
        .execution_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidArn");
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidName");
    let err = c
        .create_state_machine()
        .name("broken")
        .definition(r#"{"StartAt": "Nope", "States": {}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidDefinition");
    let v = c
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "Nope", "States": {}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(v.result.as_str(), "FAIL");
    assert!(!v.diagnostics.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_and_missing_functions_fail_the_state() {
    let db = db_path();
    let lambda = InProcessLambda::new().with("boom", |_| async {
        Err(LambdaError::new("Cordon.Transient", "IAM throttled"))
    });
    let (_svc, c) = start(&db, lambda).await;
    let task = |resource: &str, params: Option<Value>| {
        let mut t = json!({"Type": "Task", "Resource": resource, "End": true});
        if let Some(p) = params {
            t["Parameters"] = p;
        }
        json!({"StartAt": "T", "States": {"T": t}})
    };
    let invoke = create(
        &c,
        "invoke",
        &task(
            "arn:aws:states:::lambda:invoke",
            Some(json!({"FunctionName": "boom", "Payload": {}})),
        ),
    )
    .await;
    let plain = create(
        &c,
        "plain",
        &task("arn:aws:lambda:us-east-1:123456789012:function:boom", None),
    )
    .await;
    let missing = create(
        &c,
        "missing",
        &task(
            "arn:aws:states:::lambda:invoke",
            Some(json!({"FunctionName": "nope"})),
        ),
    )
    .await;
    for sm in [&invoke, &plain] {
        let e = start_exec(&c, sm, "e", &json!({})).await;
        let d = wait_status(&c, &e, ExecutionStatus::Failed).await;
        assert_eq!(d.error.as_deref(), Some("Cordon.Transient"));
        assert_eq!(
            d.cause.as_deref(),
            Some(r#"{"errorMessage":"IAM throttled","errorType":"Cordon.Transient"}"#)
        );
    }
    let e = start_exec(&c, &missing, "e", &json!({})).await;
    let d = wait_status(&c, &e, ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_tokens_and_duplicate_names() {
    let db = db_path();
    let (lambda, tokens) = token_catcher();
    let (_svc, c) = start(&db, lambda).await;
    let sm = create(&c, "approval", &approval_definition(None)).await;

    // Approved through SendTaskSuccess.
    let input = json!({"incident": "i-1"});
    let e1 = start_exec(&c, &sm, "approve-1", &input).await;
    let t1 = next_token(&tokens, 0).await;
    wait_status(&c, &e1, ExecutionStatus::Running).await;

    // Duplicate name: same input on a running execution is idempotent; else an error.
    let again = start_exec(&c, &sm, "approve-1", &input).await;
    assert_eq!(again, e1);
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("approve-1")
        .input(json!({"incident": "other"}).to_string())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ExecutionAlreadyExists");

    c.send_task_heartbeat()
        .task_token(&t1)
        .send()
        .await
        .unwrap();
    c.send_task_success()
        .task_token(&t1)
        .output(json!({"decision": "approve", "approver": "alice"}).to_string())
        .send()
        .await
        .unwrap();
    let d = wait_status(&c, &e1, ExecutionStatus::Succeeded).await;
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"decision": "approve", "approver": "alice"})
    );
    // The token was used: a second use is refused.
    let err = c
        .send_task_success()
        .task_token(&t1)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "TaskTimedOut");
    // Closed execution, same name: ExecutionAlreadyExists even with the same input.
    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("approve-1")
        .input(input.to_string())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ExecutionAlreadyExists");

    // Rejected through SendTaskFailure.
    let e2 = start_exec(&c, &sm, "reject-1", &input).await;
    let t2 = next_token(&tokens, 1).await;
    c.send_task_failure()
        .task_token(&t2)
        .error("Cordon.Rejected")
        .cause("rejected by bob")
        .send()
        .await
        .unwrap();
    let d = wait_status(&c, &e2, ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Cordon.Rejected"));
    assert_eq!(d.cause.as_deref(), Some("rejected by bob"));

    // A token nobody issued.
    let err = c
        .send_task_success()
        .task_token("AQCEnot-a-real-token")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidToken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_timeout_and_stop() {
    let db = db_path();
    let (lambda, tokens) = token_catcher();
    let (_svc, c) = start(&db, lambda).await;
    let sm = create(&c, "approval", &approval_definition(Some(1))).await;
    let e = start_exec(&c, &sm, "hb", &json!({"incident": "i"})).await;
    let t = next_token(&tokens, 0).await;
    let d = wait_status(&c, &e, ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("States.HeartbeatTimeout"));
    let err = c
        .send_task_success()
        .task_token(&t)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "TaskTimedOut");
    let h = c
        .get_execution_history()
        .execution_arn(&e)
        .send()
        .await
        .unwrap();
    assert!(
        h.events
            .iter()
            .any(|ev| ev.r#type == HistoryEventType::TaskTimedOut)
    );

    // StopExecution of a waiting execution.
    let sm2 = create(&c, "approval-long", &approval_definition(None)).await;
    let e2 = start_exec(&c, &sm2, "to-stop", &json!({"incident": "i"})).await;
    let t2 = next_token(&tokens, 1).await;
    let stopped = c
        .stop_execution()
        .execution_arn(&e2)
        .error("Operator.Cancelled")
        .cause("false positive")
        .send()
        .await
        .unwrap();
    let d = wait_status(&c, &e2, ExecutionStatus::Aborted).await;
    assert_eq!(d.error.as_deref(), Some("Operator.Cancelled"));
    assert_eq!(d.stop_date, Some(stopped.stop_date));
    let err = c
        .send_task_success()
        .task_token(&t2)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "TaskTimedOut");
    let err = c
        .stop_execution()
        .execution_arn(format!("{e2}-missing"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ExecutionDoesNotExist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_resumes_at_the_failed_state() {
    let db = db_path();
    let opened = Arc::new(AtomicUsize::new(0));
    let quarantined = Arc::new(AtomicUsize::new(0));
    let healthy = Arc::new(AtomicBool::new(false));
    let (o, q, h) = (opened.clone(), quarantined.clone(), healthy.clone());
    let lambda = InProcessLambda::new()
        .with("open", move |_| {
            o.fetch_add(1, Ordering::SeqCst);
            async { Ok(json!({"incident": "i-9"})) }
        })
        .with("quarantine", move |event: Value| {
            q.fetch_add(1, Ordering::SeqCst);
            let ok = h.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(json!({"quarantined": event["incident"]}))
                } else {
                    Err(LambdaError::new(
                        "Cordon.IamDenied",
                        "iam:AttachUserPolicy denied",
                    ))
                }
            }
        });
    let (_svc, c) = start(&db, lambda).await;
    let def = json!({
        "StartAt": "Open",
        "States": {
            "Open": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:open", "Next": "Quarantine"},
            "Quarantine": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:quarantine", "End": true}
        }
    });
    let sm = create(&c, "contain", &def).await;
    let e = start_exec(&c, &sm, "r1", &json!({})).await;
    let d = wait_status(&c, &e, ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Cordon.IamDenied"));
    assert_eq!(
        d.redrive_status.as_ref().map(|s| s.as_str()),
        Some("REDRIVABLE")
    );

    healthy.store(true, Ordering::SeqCst);
    c.redrive_execution()
        .execution_arn(&e)
        .send()
        .await
        .unwrap();
    let d = wait_status(&c, &e, ExecutionStatus::Succeeded).await;
    assert_eq!(d.redrive_count, Some(1));
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"quarantined": "i-9"})
    );
    assert_eq!(
        opened.load(Ordering::SeqCst),
        1,
        "the succeeded state must not rerun"
    );
    assert_eq!(quarantined.load(Ordering::SeqCst), 2);
    let h = c
        .get_execution_history()
        .execution_arn(&e)
        .send()
        .await
        .unwrap();
    assert!(
        h.events
            .iter()
            .any(|ev| ev.r#type == HistoryEventType::ExecutionRedriven)
    );

    let err = c
        .redrive_execution()
        .execution_arn(&e)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ExecutionNotRedrivable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_callback_and_a_timer_survive_a_restart() {
    let db = db_path();
    let (lambda, tokens) = token_catcher();
    let (svc, c) = start(&db, lambda).await;
    let sm = create(&c, "approval", &approval_definition(None)).await;
    let waiting = json!({
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"}, "Done": {"Type": "Pass", "Result": "woke", "End": true}}
    });
    let sm_wait = create(&c, "waiter", &waiting).await;
    let e = start_exec(&c, &sm, "survivor", &json!({"incident": "i-7"})).await;
    let t = next_token(&tokens, 0).await;
    let w = start_exec(&c, &sm_wait, "sleeper", &json!({})).await;
    wait_status(&c, &e, ExecutionStatus::Running).await;
    // Kill the service (no graceful shutdown), wait past the timer, start a new one.
    drop(svc);
    drop(c);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let (lambda2, _tokens2) = token_catcher();
    let (svc2, c2) = start(&db, lambda2).await;
    assert_eq!(svc2.resumed_executions(), 2);
    let d = wait_status(&c2, &w, ExecutionStatus::Succeeded).await;
    assert_eq!(d.output.as_deref(), Some(r#""woke""#));
    let d = c2
        .describe_execution()
        .execution_arn(&e)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);
    c2.send_task_success()
        .task_token(&t)
        .output(json!({"decision": "approve"}).to_string())
        .send()
        .await
        .unwrap();
    let d = wait_status(&c2, &e, ExecutionStatus::Succeeded).await;
    assert_eq!(d.output.as_deref(), Some(r#"{"decision":"approve"}"#));
    let h = c2
        .get_execution_history()
        .execution_arn(&e)
        .send()
        .await
        .unwrap();
    let ids: Vec<i64> = h.events.iter().map(|ev| ev.id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    svc2.shutdown().await;
    let _ = std::fs::remove_file(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_1000_concurrent_executions() {
    let db = db_path();
    let lambda = InProcessLambda::new().with("work", |event: Value| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(json!({"done": event["n"]}))
    });
    let (_svc, c) = start(&db, lambda).await;
    let def = json!({
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "work", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}
    });
    let sm = create(&c, "load", &def).await;
    const N: usize = 1000;
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..N {
        let c = c.clone();
        let sm = sm.clone();
        let sem = sem.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            start_exec(&c, &sm, &format!("load-{n}"), &json!({"n": n})).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let succeeded = loop {
        let mut count = 0;
        let mut next = None;
        loop {
            let page = c
                .list_executions()
                .state_machine_arn(&sm)
                .status_filter(ExecutionStatus::Succeeded)
                .max_results(1000)
                .set_next_token(next)
                .send()
                .await
                .unwrap();
            count += page.executions.len();
            next = page.next_token;
            if next.is_none() {
                break;
            }
        }
        if count == N || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let elapsed = started.elapsed();
    assert_eq!(succeeded, N, "executions were lost");
    println!(
        "{N} executions in {:.2}s: {:.0} executions/s",
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64()
    );
}
