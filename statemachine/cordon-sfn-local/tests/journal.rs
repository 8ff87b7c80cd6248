//! The callback journal: a `SendTaskSuccess` the service acknowledged survives a crash at
//! any moment, and one it cannot persist is refused, never acknowledged and lost.
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use cordon_sfn_local::{InProcessLambda, ServiceConfig, ServiceHandle, serve};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/cordon-sfn";

fn db_path() -> PathBuf {
    std::env::temp_dir().join(format!("cordon-journal-{}.sqlite", uuid::Uuid::new_v4()))
}

async fn start(db: &PathBuf, lambda: InProcessLambda) -> (ServiceHandle, Client) {
    let handle = serve(ServiceConfig::new(db).with_lambda(Arc::new(lambda)))
        .await
        .expect("the service starts");
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(handle.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    (handle, Client::new(&conf))
}

/// Ask a human (the token goes out before `notify` returns, as an email does), then
/// contain.
fn definition() -> Value {
    json!({
        "StartAt": "RequestApproval",
        "States": {
            "RequestApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}},
                "ResultPath": "$.approval",
                "Next": "Contain"
            },
            "Contain": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "contain", "Payload": {"approval.$": "$.approval"}},
                "OutputPath": "$.Payload",
                "End": true
            }
        }
    })
}

struct Calls {
    notify: Arc<AtomicUsize>,
    tokens: Arc<Mutex<Vec<String>>>,
}

/// `notify` hands out its token at once; with `hang`, `notify` never returns and neither
/// does `contain` (the process is killed while they run).
fn lambdas(hang: bool) -> (InProcessLambda, Calls) {
    let calls = Calls {
        notify: Arc::new(AtomicUsize::new(0)),
        tokens: Arc::new(Mutex::new(Vec::new())),
    };
    let (n, t) = (calls.notify.clone(), calls.tokens.clone());
    let lambda = InProcessLambda::new()
        .with("notify", move |event: Value| {
            let (n, t) = (n.clone(), t.clone());
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                if let Some(tok) = event["token"].as_str() {
                    t.lock().expect("lock").push(tok.to_owned());
                }
                if hang {
                    std::future::pending::<()>().await;
                }
                Ok(json!({"sent": true}))
            }
        })
        .with("contain", move |event: Value| async move {
            if hang {
                std::future::pending::<()>().await;
            }
            Ok(json!({"contained": true, "approval": event["approval"]}))
        });
    (lambda, calls)
}

async fn first_token(calls: &Calls) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(t) = calls.tokens.lock().expect("lock").first() {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "no task token was issued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn status(c: &Client, arn: &str) -> (ExecutionStatus, Option<String>) {
    let d = c
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("describe");
    (d.status, d.output)
}

async fn wait_for(c: &Client, arn: &str, want: ExecutionStatus) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (st, output) = status(c, arn).await;
        if st == want {
            return output;
        }
        assert!(
            Instant::now() < deadline,
            "stuck in {st:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn start_execution(c: &Client, name: &str) -> String {
    let sm = c
        .create_state_machine()
        .name(name)
        .definition(definition().to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create")
        .state_machine_arn;
    c.start_execution()
        .state_machine_arn(sm)
        .name("incident-1")
        .input("{}")
        .send()
        .await
        .expect("start")
        .execution_arn
}

/// Safe outcome: the decision a human made while the approval request was still being
/// sent is not lost when the service is killed before it saved anything; after the
/// restart the execution goes on with that decision, and the human is not asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_acknowledged_during_its_dispatch_survives_a_crash() {
    let db = db_path();
    let (lambda, calls) = lambdas(true);
    let (svc, c) = start(&db, lambda).await;
    let e = start_execution(&c, "journal-crash").await;
    let token = first_token(&calls).await;
    c.send_task_success()
        .task_token(&token)
        .output(json!({"decision": "approve", "by": "alice"}).to_string())
        .send()
        .await
        .expect("the callback is acknowledged");
    // The execution is now in Contain, which never returns: nothing was saved since the
    // start. Kill the service (no graceful shutdown).
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(svc);
    drop(c);

    let (lambda, calls2) = lambdas(false);
    let (svc, c) = start(&db, lambda).await;
    assert_eq!(svc.resumed_executions(), 1);
    let output = wait_for(&c, &e, ExecutionStatus::Succeeded).await;
    let output: Value = serde_json::from_str(&output.expect("an output")).expect("JSON");
    assert_eq!(output["contained"], true);
    assert_eq!(output["approval"]["decision"], "approve", "{output}");
    assert_eq!(output["approval"]["by"], "alice");
    assert_eq!(
        calls2.notify.load(Ordering::SeqCst),
        0,
        "the human was asked again although their decision was acknowledged"
    );
    // The old token answers as AWS answers a token whose task is gone.
    let err = c
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect_err("the old token is spent");
    assert!(
        matches!(
            err.as_service_error().and_then(|e| e.code()),
            Some("TaskTimedOut" | "InvalidToken" | "TaskDoesNotExist")
        ),
        "{err:?}"
    );
    svc.shutdown().await;
    let _ = std::fs::remove_file(&db);
}

/// Safe outcome: a callback the service cannot persist is answered with an error and not
/// applied (the execution still waits, and the same callback works once the database
/// accepts writes again), never acknowledged and then lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_cannot_be_persisted_is_refused() {
    let db = db_path();
    let (lambda, calls) = lambdas(false);
    let (svc, c) = start(&db, lambda).await;
    let e = start_execution(&c, "journal-refused").await;
    let token = first_token(&calls).await;
    // Wait until the execution is parked on the approval.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outside = rusqlite::Connection::open(&db).expect("open the database");
    outside
        .execute_batch(
            "CREATE TRIGGER refuse_callbacks BEFORE INSERT ON callbacks \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        )
        .expect("install the failing trigger");
    let err = c
        .send_task_success()
        .task_token(&token)
        .output(json!({"decision": "approve"}).to_string())
        .send()
        .await
        .expect_err("a callback that cannot be persisted is refused");
    assert_eq!(
        err.as_service_error().and_then(|e| e.code()),
        Some("InternalServerError"),
        "{err:?}"
    );
    assert_eq!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(500),
        "a server-side failure, which clients retry"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(&c, &e).await.0, ExecutionStatus::Running);

    outside
        .execute_batch("DROP TRIGGER refuse_callbacks;")
        .expect("drop the trigger");
    c.send_task_success()
        .task_token(&token)
        .output(json!({"decision": "approve"}).to_string())
        .send()
        .await
        .expect("the retried callback is accepted");
    let output = wait_for(&c, &e, ExecutionStatus::Succeeded).await;
    assert!(output.unwrap_or_default().contains("approve"));
    svc.shutdown().await;
    let _ = std::fs::remove_file(&db);
}
