//! `cordon local up`'s EventBridge PutEvents API, in-process, on the local stack against
//! moto: requests go over the wire as awsJson1_1 HTTP, exactly as an EventBridge client
//! sends them, and the effects are read back from the local Step Functions API.
//!
//! Needs moto (`AWS_ENDPOINT_URL`, see `cordon_aws::testing::moto`); fails, never skips,
//! without it.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate;
use cordon_aws::testing::unique;
use cordon_eventbridge::PutEventsServer;
use serde_json::{Value, json};

/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

struct Up {
    stack: Arc<LocalStack>,
    events: PutEventsServer,
    db_dir: PathBuf,
}

impl Up {
    async fn start() -> Up {
        // Fails with instructions when AWS_ENDPOINT_URL is unset or moto is down.
        cordon_aws::testing::moto().await;
        let db_dir = std::env::temp_dir().join(unique("cordon-local-up-db"));
        let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
        options.names = StackNames {
            table: unique("cordon-up"),
            topic: unique("cordon-up"),
            tap_queue: unique("cordon-up-tap"),
        };
        options.db = db_dir.join("sfn.sqlite");
        options.sfn_port = 0;
        options.approval_port = 0;
        let stack = Arc::new(
            LocalStack::start(&options)
                .await
                .unwrap_or_else(|e| panic!("starting the local stack: {e:#}")),
        );
        let events = cordon::local::up::serve_events(&stack, 0)
            .await
            .unwrap_or_else(|e| panic!("starting the PutEvents API: {e:#}"));
        Up {
            stack,
            events,
            db_dir,
        }
    }

    /// An awsJson1_1 PutEvents call as a customer makes it: (HTTP status,
    /// `x-amzn-errortype`, parsed body).
    async fn put_events(&self, body: &Value) -> (u16, Option<String>, Value) {
        let response = simulate::put_events(&self.events.endpoint(), body)
            .await
            .unwrap_or_else(|e| panic!("calling the PutEvents API: {e:#}"));
        Self::answer(response)
    }

    /// The same request through the stack's AWS-service delivery path, as CloudTrail
    /// delivers.
    async fn deliver(&self, body: &Value) -> (u16, Option<String>, Value) {
        let response = cordon::local::delivery::deliver(
            &self.events.endpoint(),
            &self.stack.delivery_token,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("calling the delivery path: {e:#}"));
        Self::answer(response)
    }

    fn answer(response: cordon_loopback::ClientResponse) -> (u16, Option<String>, Value) {
        assert_eq!(
            response.header("content-type"),
            Some("application/x-amz-json-1.1"),
            "{:?}",
            response.headers
        );
        let text = response.text();
        let parsed = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the response body is not JSON ({e}): {text}"));
        (
            response.status,
            response.header("x-amzn-errortype").map(str::to_string),
            parsed,
        )
    }

    async fn executions(&self) -> Vec<String> {
        self.stack
            .sfn_client
            .list_executions()
            .state_machine_arn(&self.stack.state_machine_arn)
            .send()
            .await
            .expect("ListExecutions")
            .executions
            .into_iter()
            .map(|e| e.execution_arn)
            .collect()
    }

    /// What `cordon local up` does on SIGTERM.
    async fn stop(self) {
        self.events.shutdown().await;
        let stack = Arc::try_unwrap(self.stack)
            .unwrap_or_else(|_| panic!("the PutEvents API still holds the stack after shutdown"));
        let LocalStack { sfn, approval, .. } = stack;
        approval.shutdown().await;
        sfn.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.db_dir);
    }
}

async fn wait_for_state(stack: &LocalStack, execution_arn: &str, state: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let progress = stack
            .progress(execution_arn)
            .await
            .expect("GetExecutionHistory");
        let entered = progress.entered;
        if entered.iter().any(|n| n == state) {
            return;
        }
        let failed = progress.failure;
        assert!(
            failed.is_none(),
            "the execution failed before {state} (entered {entered:?}): {failed:?}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "the execution did not reach {state} within {WAIT:?}; entered {entered:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_create_user_event_starts_an_incident_that_waits_for_approval() {
    let up = Up::start().await;
    let iam = aws_sdk_iam::Client::new(&up.stack.sdk);

    // A unique compromised user (not the shared `jdoe`: tests run concurrently on one moto).
    let attacker =
        simulate::Attacker::create(&iam, cordon::local::LOCAL_ACCOUNT, &unique("lu-attacker"))
            .await
            .expect("creating the attacker");
    let created = simulate::create_backdoor_user(&iam, &unique("lu-backdoor"))
        .await
        .expect("creating the backdoor user");
    let event = simulate::create_user_event(&attacker, &created, chrono::Utc::now());

    assert!(up.executions().await.is_empty());
    // A customer cannot put a CloudTrail record, as on AWS: the entry fails, nothing starts.
    let request = json!({"Entries": [simulate::put_events_entry(&event)]});
    let (status, error, body) = up.put_events(&request).await;
    assert_eq!((status, error), (200, None), "{body}");
    assert_eq!(body["FailedEntryCount"], 1, "{body}");
    assert_eq!(
        body["Entries"][0]["ErrorCode"], "NotAuthorizedForSourceException",
        "{body}"
    );
    assert!(
        up.executions().await.is_empty(),
        "a forged record started nothing"
    );
    // CloudTrail delivers it.
    let (status, error, body) = up.deliver(&request).await;
    assert_eq!((status, error), (200, None), "{body}");
    assert_eq!(body["FailedEntryCount"], 0, "{body}");
    let event_id = body["Entries"][0]["EventId"]
        .as_str()
        .unwrap_or_else(|| panic!("no EventId: {body}"));
    assert!(uuid::Uuid::parse_str(event_id).is_ok(), "{event_id}");

    let executions = up.executions().await;
    assert_eq!(
        executions.len(),
        1,
        "one rule, one execution: {executions:?}"
    );
    // The input is the envelope PutEvents built: same record, EventBridge's fields.
    let described = up
        .stack
        .sfn_client
        .describe_execution()
        .execution_arn(&executions[0])
        .send()
        .await
        .expect("DescribeExecution");
    let input: Value = serde_json::from_str(described.input().unwrap_or("{}")).expect("JSON");
    assert_eq!(input["id"], event_id);
    assert_eq!(input["version"], "0");
    assert_eq!(input["account"], cordon::local::LOCAL_ACCOUNT);
    assert_eq!(input["time"], event["time"]);
    assert_eq!(input["detail"], event["detail"]);

    wait_for_state(&up.stack, &executions[0], "RequestApproval").await;
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_events_validates_entries_like_eventbridge() {
    let up = Up::start().await;

    // An S3 call no rule matches, and a Detail that is not a JSON object, in one batch:
    // the first is accepted with an EventId (as on AWS), the second fails on its own.
    let s3 = json!({
        "Source": "aws.s3",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": json!({"eventSource": "s3.amazonaws.com", "eventName": "PutObject"}).to_string(),
    });
    let not_an_object = json!({
        "Source": "aws.iam",
        "DetailType": "AWS API Call via CloudTrail",
        "Detail": "[\"CreateUser\"]",
    });
    let no_source = json!({"DetailType": "x", "Detail": "{}"});
    let (status, error, body) = up
        .deliver(&json!({"Entries": [s3, not_an_object, no_source]}))
        .await;
    assert_eq!((status, error), (200, None), "{body}");
    assert_eq!(body["FailedEntryCount"], 2, "{body}");
    let entries = body["Entries"].as_array().expect("Entries");
    assert_eq!(entries.len(), 3, "{body}");
    assert!(entries[0]["EventId"].is_string(), "{body}");
    assert!(entries[0].get("ErrorCode").is_none(), "{body}");
    assert_eq!(entries[1]["ErrorCode"], "MalformedDetail", "{body}");
    assert_eq!(entries[1]["ErrorMessage"], "Detail is malformed.", "{body}");
    assert!(entries[1].get("EventId").is_none(), "{body}");
    assert_eq!(entries[2]["ErrorCode"], "InvalidArgument", "{body}");
    assert!(
        up.executions().await.is_empty(),
        "no rule matches these: nothing may start"
    );

    // More than 10 entries: the whole request is refused.
    let eleven = vec![json!({"Source": "aws.iam", "DetailType": "x", "Detail": "{}"}); 11];
    let (status, error, body) = up.deliver(&json!({"Entries": eleven})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error.as_deref(), Some("ValidationException"));
    assert_eq!(body["__type"], "ValidationException", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("less than or equal to 10"),
        "{body}"
    );
    assert!(up.executions().await.is_empty());
    up.stop().await;
}
