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

/// What became of one hostile entry delivered through the PutEvents API.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// An AWS-shaped error: the whole request (`ValidationException`…) or the entry's
    /// `ErrorCode`; nothing started.
    Refused(String),
    /// Accepted, routed, and recorded as one REJECTED incident holding the raw event.
    Rejected,
    /// Accepted and handled as the incident it is.
    Handled,
}

impl Up {
    /// Delivers `entry` alone (as CloudTrail would) and follows what it started to its end.
    async fn outcome_of(&self, entry: Value) -> Outcome {
        let before = self.executions().await;
        let (status, error, body) = self.deliver(&json!({ "Entries": [entry] })).await;
        if status != 200 {
            assert!(error.is_some(), "an error without x-amzn-errortype: {body}");
            assert_eq!(
                self.executions().await,
                before,
                "a refused request started work"
            );
            return Outcome::Refused(error.unwrap_or_default());
        }
        if let Some(code) = body["Entries"][0]["ErrorCode"].as_str() {
            assert_eq!(
                self.executions().await,
                before,
                "a failed entry started work"
            );
            return Outcome::Refused(code.to_string());
        }
        let started: Vec<String> = self
            .executions()
            .await
            .into_iter()
            .filter(|e| !before.contains(e))
            .collect();
        assert_eq!(
            started.len(),
            1,
            "one execution per accepted entry: {started:?}"
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        let described = loop {
            let d = self
                .stack
                .sfn_client
                .describe_execution()
                .execution_arn(&started[0])
                .send()
                .await
                .expect("DescribeExecution");
            if d.status != aws_sdk_sfn::types::ExecutionStatus::Running {
                break d;
            }
            // The default policy asks a human about a new user: waiting for one is the
            // incident handled as it should be.
            let waiting = self
                .stack
                .progress(&started[0])
                .await
                .expect("GetExecutionHistory")
                .entered
                .last()
                .is_some_and(|s| s == "RequestApproval");
            if waiting {
                return Outcome::Handled;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} still running after {WAIT:?}",
                started[0]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let entered = self
            .stack
            .progress(&started[0])
            .await
            .expect("GetExecutionHistory")
            .entered;
        if entered.iter().any(|s| s == "Rejected") {
            // The incident holds the event exactly as the workflow received it.
            let input: Value =
                serde_json::from_str(described.input().unwrap_or("{}")).expect("JSON input");
            let id = cordon_core::incident::rejected_incident_id(&input);
            let record = cordon_aws::Aws::new(self.stack.sdk.clone())
                .incident_store(self.stack.resources.table_name.clone());
            let record = cordon_aws::IncidentStore::get(&record, &id)
                .await
                .expect("reading the incident")
                .unwrap_or_else(|| panic!("no REJECTED incident {id}"));
            assert_eq!(
                record.status,
                cordon_core::model::IncidentStatus::Rejected,
                "{id}"
            );
            assert_eq!(record.event, Some(input), "the raw event is on record");
            return Outcome::Rejected;
        }
        assert!(
            !entered.iter().any(|s| s.ends_with("Failed")),
            "the execution failed: {entered:?}: {:?}",
            self.stack
                .progress(&started[0])
                .await
                .expect("GetExecutionHistory")
                .failure
        );
        Outcome::Handled
    }
}

/// Hostile input through the PutEvents API and the whole workflow: every malformed
/// fixture, an event near and over the 256 KB entry limit, and 10,000 levels of nesting.
/// Each ends as an AWS-shaped error or as one REJECTED incident, and none contains anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_entries_end_as_an_aws_error_or_one_rejected_incident() {
    let up = Up::start().await;
    let local = cordon::local::LOCAL_ACCOUNT;
    let fixture = |name: &str| {
        simulate::put_events_entry(&cordon_aws::testing::fixture_event_in(name, local))
    };

    // The shared fixtures that are broken on purpose. The first two have no `detail`
    // object to re-aim at this account: they go as they are.
    for name in [
        "malformed-missing-detail.json",
        "malformed-detail-not-object.json",
    ] {
        let entry = simulate::put_events_entry(&cordon_aws::testing::fixture(name));
        assert_eq!(
            up.outcome_of(entry).await,
            Outcome::Refused("MalformedDetail".into()),
            "{name}"
        );
    }
    let expected = [
        ("malformed-missing-user-identity.json", Outcome::Rejected),
        (
            "malformed-create-user-username-65-chars.json",
            Outcome::Rejected,
        ),
        (
            "malformed-create-user-username-unicode.json",
            Outcome::Rejected,
        ),
    ];
    for (name, outcome) in expected {
        assert_eq!(up.outcome_of(fixture(name)).await, outcome, "{name}");
    }

    // A CreateUser whose user agent pads the entry to the limit: one byte under is taken
    // by PutEvents (and handled, or refused by Step Functions' own input limit, never
    // lost silently); at the limit the request is refused as AWS refuses it.
    let padded = |size: usize| {
        let mut entry = fixture("iam-create-user-by-iam-user.json");
        let base = cordon_eventbridge::put_events::entries_size(std::slice::from_ref(&entry));
        let mut detail: Value =
            serde_json::from_str(entry["Detail"].as_str().expect("Detail")).expect("JSON");
        let agent = detail["userAgent"].as_str().unwrap_or_default().to_string();
        detail["userAgent"] = json!(format!("{agent}{}", "x".repeat(size - base)));
        entry["Detail"] = json!(detail.to_string());
        assert_eq!(
            cordon_eventbridge::put_events::entries_size(std::slice::from_ref(&entry)),
            size
        );
        entry
    };
    let limit = cordon_eventbridge::put_events::MAX_ENTRIES_SIZE;
    assert_eq!(
        up.outcome_of(padded(limit)).await,
        Outcome::Refused("ValidationException".into())
    );
    let near = up.outcome_of(padded(limit - 1)).await;
    println!("an entry one byte under the limit: {near:?}");
    assert!(
        matches!(near, Outcome::Handled | Outcome::Refused(_)),
        "{near:?}"
    );
    assert_eq!(
        up.outcome_of(padded(limit - 4096)).await,
        Outcome::Handled,
        "4 KB under the limit the event is an ordinary incident"
    );

    // 10,000 levels of nesting in a field the classifier does not read.
    let mut deep = fixture("iam-create-user-by-iam-user.json");
    let mut detail: Value =
        serde_json::from_str(deep["Detail"].as_str().expect("Detail")).expect("JSON");
    detail["requestParameters"]["tags"] = json!("__DEEP__");
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    deep["Detail"] = json!(detail.to_string().replace("\"__DEEP__\"", &nested));
    assert_eq!(
        up.outcome_of(deep).await,
        Outcome::Refused("MalformedDetail".into())
    );
    up.stop().await;
}
