//! `cordon local serve` (the durable Step Functions service alone) killed with SIGKILL while
//! a burst of `StartExecution` requests is in flight, then started again on the same
//! database: every execution the API acknowledged is there, with its input and its history,
//! and runs on. The service groups the writes of many requests into one commit; this is
//! what keeps "answered only once committed" honest under that batching.
//!
//! The real binary (`CARGO_BIN_EXE_cordon`); no emulator is needed.
// Shared with the other crash tests; this one only starts the binary with it.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use tokio::sync::{Semaphore, mpsc};

const STARTS: usize = 600;
/// Kill once this many starts were acknowledged (the others are in flight or not sent yet).
const KILL_AFTER: usize = 200;
const ROLE: &str = "arn:aws:iam::123456789012:role/cordon-crash";

/// `cordon local serve` on `db`, with its endpoint once it printed it.
fn serve(db: &Path, log: &Path) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordon"));
    cmd.args(["local", "serve", "--port", "0", "--db"]).arg(db);
    common::spawn_until(cmd, log, Duration::from_secs(60), |line| {
        line.strip_prefix("AWS_ENDPOINT_URL_SFN=")
            .map(str::to_owned)
    })
}

async fn client(endpoint: &str) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        // An unanswered request counts as not acknowledged; it is not retried.
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_burst_keeps_every_acknowledged_start() {
    let dir = std::env::temp_dir().join(format!("cordon-crash-sfn-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    let (db, log) = (dir.join("sfn.sqlite"), dir.join("serve.log"));
    let (mut child, endpoint) = serve(&db, &log);
    let c = client(&endpoint).await;
    // Each execution parks on a long Wait: it is saved at its start and again when parked.
    let definition = serde_json::json!({
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let sm = c
        .create_state_machine()
        .name("crash-starts")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn;

    let (tx, mut acked) = mpsc::unbounded_channel::<(String, String, String)>();
    let in_flight = Arc::new(Semaphore::new(64));
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..STARTS {
        let (c, sm, tx, sem) = (c.clone(), sm.clone(), tx.clone(), in_flight.clone());
        starts.spawn(async move {
            let Ok(_permit) = sem.acquire_owned().await else {
                return;
            };
            let input = serde_json::json!({"n": i, "pad": "x".repeat(i % 97)}).to_string();
            if let Ok(out) = c
                .start_execution()
                .state_machine_arn(sm)
                .name(format!("start-{i}"))
                .input(&input)
                .send()
                .await
            {
                let _ = tx.send((format!("start-{i}"), out.execution_arn, input));
            }
        });
    }
    drop(tx);
    let mut acknowledged = BTreeMap::new();
    while acknowledged.len() < KILL_AFTER {
        let Some((name, arn, input)) = acked.recv().await else {
            break;
        };
        acknowledged.insert(name, (arn, input));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // Answers that arrived before the kill count too.
    while let Some(joined) = starts.join_next().await {
        joined.expect("a start task");
    }
    while let Ok((name, arn, input)) = acked.try_recv() {
        acknowledged.insert(name, (arn, input));
    }
    assert!(
        acknowledged.len() >= KILL_AFTER && acknowledged.len() < STARTS,
        "{} of {STARTS} starts acknowledged: the kill did not land mid-burst",
        acknowledged.len()
    );

    let (mut child, endpoint) = serve(&db, &log);
    let c = client(&endpoint).await;
    for (name, (arn, input)) in &acknowledged {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} was acknowledged, then lost: {e:?}"));
        assert_eq!(d.status, ExecutionStatus::Running, "{name}");
        assert_eq!(d.input.as_deref(), Some(input.as_str()), "{name}");
        let h = c
            .get_execution_history()
            .execution_arn(arn)
            .send()
            .await
            .expect("GetExecutionHistory");
        assert_eq!(
            h.events.first().map(|e| e.r#type.clone()),
            Some(HistoryEventType::ExecutionStarted),
            "{name}"
        );
        let started = h.events[0]
            .execution_started_event_details
            .as_ref()
            .and_then(|d| d.input.as_deref());
        assert_eq!(started, Some(input.as_str()), "{name}");
    }
    // Each is driven again: it can be stopped, and stops.
    let (_, (arn, _)) = acknowledged.iter().next().expect("one");
    c.stop_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("StopExecution");
    let d = c
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("DescribeExecution");
    assert_eq!(d.status, ExecutionStatus::Aborted);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
