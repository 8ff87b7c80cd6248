//! The journeys that make every function call AWS: the local stack (the real ASL on the
//! durable Step Functions service, the real handlers, the approval pages over HTTP)
//! against moto, with every function's calls recorded.
//!
//! - an approved incident (containment with key deactivation and password removal, the
//!   tag, the contained notification with its release link), released from its link by
//!   the approval function;
//! - an approved incident released by the release function (`cordon_release::release`,
//!   as the release Lambda runs it);
//! - a rejected incident (the dismissed notification);
//! - a malformed event (recorded as rejected);
//! - every Lambda task of those executions invoked again with the same payload, as a
//!   retry or a redrive does (the idempotent paths: a conditional write that finds its
//!   work done reads the item back).
use std::path::PathBuf;
use std::time::Duration;

use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate;
use cordon_aws::IncidentStore as _;
use cordon_aws::access::Mode;
use cordon_aws::testing::unique;
use cordon_loopback::Client;
use serde_json::{Value, json};

/// Every wait is bounded by this.
pub const WAIT: Duration = Duration::from_secs(90);

/// Contain with every remediation the template's policies must allow.
const RESPONSE_POLICY: &str = r#"{"deactivate_access_keys": true, "delete_login_profile": true}"#;

pub struct Run {
    pub stack: LocalStack,
    db_dir: PathBuf,
    http: Client,
}

impl Run {
    pub async fn start() -> Run {
        cordon_aws::testing::moto().await;
        let db_dir = std::env::temp_dir().join(unique("cordon-lp-db"));
        let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
        options.names = StackNames {
            table: unique("cordon-lp"),
            topic: unique("cordon-lp"),
            tap_queue: unique("cordon-lp-tap"),
        };
        options.db = db_dir.join("sfn.sqlite");
        options.set_response_policy(RESPONSE_POLICY);
        // Record, do not refuse: one run reports every call a policy lacks.
        options.access_mode = Mode::Record;
        let stack = LocalStack::start(&options)
            .await
            .unwrap_or_else(|e| panic!("starting the local stack: {e:#}"));
        Run {
            stack,
            db_dir,
            http: Client::new(),
        }
    }

    pub async fn stop(self) {
        let LocalStack { sfn, approval, .. } = self.stack;
        approval.shutdown().await;
        sfn.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.db_dir);
    }

    /// A backdoor user with an active key, a console password and a `SecurityStatus` tag
    /// (so containment has keys to deactivate, a password to delete and a tag to
    /// overwrite), and the CloudTrail event of its
    /// creation, delivered through the template's rules. Returns the user and execution.
    pub async fn backdoor_user(&self) -> (String, String) {
        let iam = aws_sdk_iam::Client::new(&self.stack.sdk);
        let name = unique("lp-backdoor");
        let created = simulate::create_backdoor_user(&iam, &name)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        iam.create_access_key()
            .user_name(&name)
            .send()
            .await
            .expect("a key for the backdoor user");
        iam.create_login_profile()
            .user_name(&name)
            .password("Backdoor-Passw0rd!")
            .send()
            .await
            .expect("a password for the backdoor user");
        // A tag containment overwrites, so release restores a value (TagUser) as well as
        // removing Cordon's own tags (UntagUser).
        let reviewed = aws_sdk_iam::types::Tag::builder()
            .key("SecurityStatus")
            .value("UnderReview")
            .build()
            .expect("a tag");
        iam.tag_user()
            .user_name(&name)
            .tags(reviewed)
            .send()
            .await
            .expect("tagging the backdoor user");
        let attacker = simulate::Attacker::jdoe(
            cordon::local::LOCAL_ACCOUNT,
            "AKIASIIC13IR9CP5I5N9",
            "AIDATKH17R74G9JS70Z8W",
        );
        let event = simulate::create_user_event(&attacker, &created, chrono::Utc::now());
        let started = self
            .stack
            .put_event(&event)
            .await
            .expect("delivering the event");
        assert_eq!(started.len(), 1, "one rule routes CreateUser: {started:?}");
        (name, started[0].execution_arn.clone())
    }

    /// Runs until `execution` enters `state`; panics if it fails first.
    pub async fn wait_for(&self, execution: &str, state: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let progress = self.stack.progress(execution).await.expect("history");
            if progress.entered.iter().any(|s| s == state) {
                return;
            }
            assert!(
                progress.failure.is_none(),
                "the execution failed before {state}: {:?} (entered {:?})",
                progress.failure,
                progress.entered
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "{state} not reached in {WAIT:?}: entered {:?}",
                progress.entered
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The messages published for incidents so far, as the tap queue received them.
    async fn published(&self) -> Vec<String> {
        let sqs = aws_sdk_sqs::Client::new(&self.stack.sdk);
        let out = sqs
            .receive_message()
            .queue_url(&self.stack.resources.tap_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receiving from the tap");
        out.messages()
            .iter()
            .filter_map(|m| m.body())
            .filter_map(|b| serde_json::from_str::<Value>(b).ok())
            .filter_map(|e| e["Message"].as_str().map(str::to_string))
            .collect()
    }

    /// The first link `/<kind>/<id>` of the approval pages a message published for
    /// `user` carries.
    pub async fn link_for(&self, user: &str, kind: &str) -> String {
        let base = &self.stack.approval.url;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            for body in self.published().await {
                if !body.contains(user) {
                    continue;
                }
                if let Some(at) = body.find(&format!("{base}/{kind}/")) {
                    let link: String = body[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    return link;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no /{kind}/ link was published for {user}"
            );
        }
    }

    /// Opens `link` and submits its form with `fields` (the page's anti-CSRF value added),
    /// as a browser does. Returns the answer's status and text.
    pub async fn submit(&self, link: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let page = self.http.get(link, &[]).await.expect("GET the page");
        assert_eq!(page.status, 200, "{}", page.text());
        let text = page.text();
        let marker = "name=\"csrf\" value=\"";
        let start = text.find(marker).expect("the page has a form") + marker.len();
        let csrf: String = text[start..].chars().take_while(|c| *c != '"').collect();
        // The anti-CSRF value is bound to the cookie the page set in this browser.
        let cookies: Vec<String> = page
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .map(str::to_string)
            .collect();
        let cookie = cookies.join("; ");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf", &csrf);
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        let answer = self
            .http
            .post(
                link,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", &cookie),
                ],
                form.finish().into_bytes(),
            )
            .await
            .expect("POST the form");
        (answer.status, answer.text())
    }
}

/// Drives every journey to its end.
pub async fn run_every_journey(run: &Run) {
    let mut executions = Vec::new();
    // Approved, contained, released from the contained notification's link.
    let (first, execution) = run.backdoor_user().await;
    executions.push(execution.clone());
    run.wait_for(&execution, "RequestApproval").await;
    let approve = run.link_for(&first, "a").await;
    let (status, page) = run
        .submit(
            &approve,
            &[("name", "Least Privilege"), ("decision", "approve")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    run.wait_for(&execution, "Done").await;
    let release = run.link_for(&first, "r").await;
    let (status, page) = run
        .submit(
            &release,
            &[
                ("name", "Least Privilege"),
                ("decision", "release"),
                ("confirm", &first),
                ("reason", "the test's first journey"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    // The link starts the release workflow; the release function does the work.
    let released = incident_id_of(run, &execution).await;
    let store = cordon_aws::Aws::new(run.stack.sdk.clone())
        .incident_store(run.stack.resources.table_name.clone());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = store
            .get(&released)
            .await
            .expect("the incident")
            .map(|r| r.status);
        if status == Some(cordon_core::model::IncidentStatus::Released) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the release link's workflow did not release {released}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Approved, contained, released by the release function.
    let (second, execution) = run.backdoor_user().await;
    executions.push(execution.clone());
    run.wait_for(&execution, "RequestApproval").await;
    let approve = run.link_for(&second, "a").await;
    let (status, page) = run.submit(&approve, &[("decision", "approve")]).await;
    assert_eq!(status, 200, "{page}");
    run.wait_for(&execution, "Done").await;
    let release_function = run
        .stack
        .template
        .function("cordon-release", Mode::Record, &run.stack.calls)
        .expect("the release function");
    let deps = cordon::local::release_deps(&run.stack.sdk, &release_function)
        .expect("the release function's dependencies");
    let incident = run
        .stack
        .progress(&execution)
        .await
        .expect("history")
        .entered;
    assert!(incident.iter().any(|s| s == "Quarantine"), "{incident:?}");
    let input = json!({
        "incidentId": incident_id_of(run, &execution).await,
        "releasedBy": {"name": "least-privilege test"},
        "reason": "the test's second journey"
    });
    let input: cordon_release::ReleaseInput =
        serde_json::from_value(input).expect("a release request");
    cordon_release::release(input, &deps)
        .await
        .unwrap_or_else(|e| panic!("the release function failed: {e}"));
    // The quarantine policy detached after the release: no incident holds the user any
    // more (enrich asks Cordon's records), so it is not contained again.
    executions.push(super::detections::containment_undone(run, &second).await);

    // Rejected: dismissed.
    let (third, execution) = run.backdoor_user().await;
    executions.push(execution.clone());
    run.wait_for(&execution, "RequestApproval").await;
    let approve = run.link_for(&third, "a").await;
    let (status, page) = run.submit(&approve, &[("decision", "reject")]).await;
    assert_eq!(status, 200, "{page}");
    run.wait_for(&execution, "Done").await;
    let states = run
        .stack
        .progress(&execution)
        .await
        .expect("history")
        .entered;
    assert!(states.iter().any(|s| s == "NotifyDismissed"), "{states:?}");

    // A malformed event: recorded as rejected.
    let mut malformed = cordon_aws::testing::fixture("malformed-missing-user-identity.json");
    malformed["detail"]["eventID"] = json!(unique("lp-malformed"));
    let started = run.stack.put_event(&malformed).await.expect("delivering");
    for s in started {
        executions.push(s.execution_arn.clone());
        let deadline = tokio::time::Instant::now() + WAIT;
        while run
            .stack
            .progress(&s.execution_arn)
            .await
            .expect("history")
            .failure
            .is_none()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the malformed event's execution did not end"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The detections beyond CreateUser: a role, a group, the MFA audit.
    executions.push(super::detections::admin_to_role(run).await);
    executions.push(super::detections::added_to_group(run).await);
    executions.extend(super::detections::mfa_audit(run).await);
    for execution in &executions {
        run_tasks_again(run, execution).await;
    }
}

/// Invokes every Lambda task `execution` scheduled again, with the payload it had.
async fn run_tasks_again(run: &Run, execution: &str) {
    use cordon_sfn_local::{InvokeRequest, LambdaBackend};
    let history = run
        .stack
        .sfn_client
        .get_execution_history()
        .execution_arn(execution)
        .max_results(1000)
        .send()
        .await
        .expect("GetExecutionHistory");
    let mut again = 0;
    for event in history.events() {
        let Some(scheduled) = event.task_scheduled_event_details() else {
            continue;
        };
        let parameters: Value =
            serde_json::from_str(scheduled.parameters()).expect("Task parameters are JSON");
        let function = parameters["FunctionName"]
            .as_str()
            .expect("a lambda:invoke Task names its function");
        let name = function.rsplit(':').next().unwrap_or(function).to_string();
        let _ = run
            .stack
            .lambdas
            .invoke(InvokeRequest {
                function_name: name,
                function_ref: function.to_string(),
                qualifier: None,
                payload: parameters["Payload"].clone(),
            })
            .await;
        again += 1;
    }
    assert!(again > 0, "{execution} scheduled no Lambda task");
}

/// The incident an execution is about (its input's CloudTrail event id).
pub async fn incident_id_of(run: &Run, execution: &str) -> String {
    let described = run
        .stack
        .sfn_client
        .describe_execution()
        .execution_arn(execution)
        .send()
        .await
        .expect("DescribeExecution");
    let input: Value = serde_json::from_str(described.input().unwrap_or("{}")).expect("JSON");
    let event_id = input["detail"]["eventID"].as_str().expect("an eventID");
    cordon_core::incident::incident_id_for_event(event_id)
}
