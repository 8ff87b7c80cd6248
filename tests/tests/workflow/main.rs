//! The real incident state machine on the embedded engine, with the real task handlers
//! in-process against moto, on a virtual clock: approval timeouts of an hour and retry
//! backoff take no real time.
//!
//! Run with `cargo xtask test` (it starts moto and exports `AWS_ENDPOINT_URL`).
//!
//! `failures.rs`: every failure reaches a human, and replay works after any ending;
//! `paths.rs`: the paths that contain nobody; `detections.rs`: one run per detection
//! family; `hostile.rs`: events built to break things end on record.
mod detections;
mod failures;
mod harness;
mod home_account;
mod hostile;
mod paths;

use cordon_aws::IncidentStore;
use cordon_aws::links::Decision;
use cordon_core::model::IncidentStatus;
use cordon_engine::ExecutionStatus;
use harness::{Harness, Injected};
use serde_json::json;

const AUTO_USER_CREATED: &str = r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#;

#[tokio::test]
async fn auto_path_quarantines_tags_notifies_and_closes() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    let outcome = h.finish(&mut ex).await;
    assert_eq!(
        outcome,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    assert_eq!(
        h.states_entered(&ex),
        [
            "OpenIncident",
            "IsNewIncident",
            "Enrich",
            "Route",
            "Quarantine",
            "Tag",
            "NotifyContained",
            "CloseContained",
            "Done"
        ]
    );

    // The user is really quarantined in IAM.
    assert!(h.has_quarantine_policy(&case.user).await);
    let tags = h.user_tags(&case.user).await;
    assert_eq!(
        tags.get("SecurityStatus").map(String::as_str),
        Some("Quarantined")
    );
    let record = h.record(&case).await;
    assert_eq!(tags.get("CordonIncident"), Some(&record.incident_id));
    assert!(tags.contains_key("QuarantinedAt"));

    // The audit record answers what happened to whom, when.
    assert_eq!(record.status, IncidentStatus::Contained);
    assert_eq!(
        record.principal.as_ref().and_then(|p| p.name.as_deref()),
        Some(case.user.as_str())
    );
    assert!(record.snapshot.is_some(), "pre-containment snapshot stored");
    let steps = h.timeline_steps(&record.incident_id).await;
    assert!(steps.len() >= 3, "timeline {steps:?}");

    // The team was told, with what was done.
    let messages = h.published_for(&record.incident_id).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    // The rule says high; the attacker's Kali user agent escalates it one level.
    assert_eq!(
        messages[0].attribute("severity").as_deref(),
        Some("critical")
    );
    assert_eq!(messages[0].attribute("kind").as_deref(), Some("contained"));
    assert!(messages[0].subject.len() <= 100);
    assert!(messages[0].body.contains(&case.user));
}

#[tokio::test]
async fn approval_approved_contains() {
    let h = Harness::new(None).await;
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    let token = h.park_for_approval(&mut ex).await;
    assert!(
        !h.has_quarantine_policy(&case.user).await,
        "nothing happens before approval"
    );
    ex.send_task_success(
        &token,
        cordon_aws::testing::approval_output(Decision::Approve, "alice"),
        h.runtime(),
    )
    .expect("callback accepted");
    assert_eq!(
        h.finish(&mut ex).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    assert!(h.has_quarantine_policy(&case.user).await);
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Contained);
    assert_eq!(
        h.states_entered(&ex).len(),
        12,
        "the documented transition count"
    );
    // The audit answers who approved it.
    let approval = h
        .store()
        .timeline(&record.incident_id)
        .await
        .expect("timeline")
        .into_iter()
        .find(|e| e.step == "Approval")
        .expect("the decision is on the timeline");
    assert_eq!(approval.message, "decision: approve");
    assert_eq!(
        approval
            .details
            .as_ref()
            .map(|d| d["decidedBy"]["name"].clone()),
        Some(json!("alice"))
    );
}

#[tokio::test]
async fn approval_rejected_dismisses() {
    let h = Harness::new(None).await;
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    let token = h.park_for_approval(&mut ex).await;
    ex.send_task_success(
        &token,
        cordon_aws::testing::approval_output(Decision::Reject, "bob"),
        h.runtime(),
    )
    .expect("callback accepted");
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Succeeded);
    assert!(
        h.states_entered(&ex)
            .contains(&"NotifyDismissed".to_string())
    );
    assert!(!h.has_quarantine_policy(&case.user).await);
    assert_eq!(h.record(&case).await.status, IncidentStatus::Dismissed);
    assert_eq!(
        h.states_entered(&ex).len(),
        10,
        "the documented transition count"
    );
}

#[tokio::test]
async fn approval_timeout_applies_the_policy_default() {
    // Nobody answers within the hour; the policy says contain anyway.
    let h = Harness::new(Some(
        r#"{"approval_timeout_seconds": 3600, "on_approval_timeout": "auto"}"#,
    ))
    .await;
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    let _token = h.park_for_approval(&mut ex).await;
    let started = h.now();
    assert_eq!(
        h.finish(&mut ex).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    let waited = h.now() - started;
    assert_eq!(
        h.states_entered(&ex).len(),
        12,
        "the documented transition count"
    );
    assert!(
        waited >= chrono::Duration::seconds(3600),
        "virtual wait {waited}"
    );
    assert!(
        h.states_entered(&ex)
            .contains(&"OnApprovalTimeout".to_string())
    );
    assert!(h.has_quarantine_policy(&case.user).await);
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    // The audit says nobody decided (and the record function counted it).
    let timeouts: Vec<_> = h
        .store()
        .timeline(&h.record(&case).await.incident_id)
        .await
        .expect("reading the timeline")
        .into_iter()
        .filter(|e| e.step == cordon_core::model::timeline_step::APPROVAL_TIMEOUT)
        .collect();
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    assert!(
        timeouts[0].message.contains("auto"),
        "the entry names the default applied: {}",
        timeouts[0].message
    );
}

#[tokio::test]
async fn a_duplicate_delivery_ends_as_duplicate() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    let case = h.backdoor_user_event().await;
    let mut first = h.start(&case.event);
    assert_eq!(h.finish(&mut first).await, ExecutionStatus::Succeeded);
    // EventBridge delivers the same CloudTrail record again, in a new envelope.
    let mut again = case.event.clone();
    again["id"] = json!(uuid::Uuid::new_v4().to_string());
    let mut second = h.start(&again);
    assert_eq!(h.finish(&mut second).await, ExecutionStatus::Succeeded);
    let states = h.states_entered(&second);
    assert_eq!(
        states.last().map(String::as_str),
        Some("Duplicate"),
        "{states:?}"
    );
    assert_eq!(states.len(), 3, "the documented transition count");
    assert_eq!(h.calls("cordon-quarantine"), 1, "contained once");
    assert_eq!(
        h.published_for(&h.record(&case).await.incident_id)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_malformed_event_is_recorded_as_rejected() {
    let h = Harness::new(None).await;
    let mut event = cordon_aws::testing::fixture("malformed-missing-user-identity.json");
    let event_id = format!("malformed-{}", uuid::Uuid::new_v4());
    event["detail"]["eventID"] = json!(event_id);
    let mut ex = h.start(&event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    assert_eq!(h.states_entered(&ex), ["OpenIncident", "Rejected"]);
    let described = ex.describe();
    assert_eq!(described.error.as_deref(), Some("Cordon.InvalidEvent"));
    assert!(
        described
            .cause
            .as_deref()
            .unwrap_or("")
            .contains("userIdentity"),
        "the cause names the bad field: {:?}",
        described.cause
    );
    let rejected = h
        .store()
        .get(&cordon_core::incident::rejected_incident_id(&event))
        .await
        .expect("store")
        .expect("the rejected event is on record");
    assert_eq!(rejected.status, IncidentStatus::Rejected);
    assert!(rejected.event.is_some(), "the raw event is kept");
}

#[tokio::test]
async fn an_enrichment_failure_takes_the_failure_path() {
    let h = Harness::new(None).await;
    // enrich's table does not exist: a permanent AWS error, not a transient one.
    h.reconfigure("cordon-enrich", "CORDON_TABLE_NAME", "no-such-table");
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    assert!(
        states.ends_with(&[
            "EnrichFailed".into(),
            "NotifyFailure".into(),
            "RecordFailure".into(),
            "Failed".into()
        ]),
        "{states:?}"
    );
    assert_eq!(states.len(), 7, "the documented transition count");
    assert_eq!(ex.describe().error.as_deref(), Some("Cordon.AwsError"));
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Failed);
    let messages = h.published_for(&record.incident_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].attribute("kind").as_deref(), Some("failure"));
    assert!(!h.has_quarantine_policy(&case.user).await);
}

#[tokio::test]
async fn a_throttled_iam_call_is_retried() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    // Enrich's first two IAM reads are throttled; the adapter reports Cordon.Transient.
    h.inject(
        "cordon-enrich",
        2,
        Injected::transient("iam:GetUser", "Throttling: Rate exceeded"),
    );
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    let started = h.now();
    assert_eq!(
        h.finish(&mut ex).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    assert_eq!(h.calls("cordon-enrich"), 3);
    assert_eq!(h.count_events(&ex, "TaskFailed"), 2);
    assert!(
        h.now() > started,
        "the retries backed off on the virtual clock"
    );
    assert!(h.has_quarantine_policy(&case.user).await);
}

#[tokio::test]
async fn a_quarantine_failure_goes_to_the_failure_path() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    h.inject(
        "cordon-quarantine",
        u32::MAX,
        Injected::permanent("iam:AttachUserPolicy", "AccessDenied", "not authorized"),
    );
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    assert!(states.contains(&"RecordFailure".to_string()), "{states:?}");
    assert_eq!(
        h.calls("cordon-quarantine"),
        1,
        "a permanent error is not retried"
    );
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Failed);
    assert!(
        record
            .summary
            .as_deref()
            .unwrap_or("")
            .contains("AccessDenied"),
        "the audit says why: {:?}",
        record.summary
    );
    let kinds: Vec<_> = h
        .published_for(&record.incident_id)
        .await
        .into_iter()
        .filter_map(|m| m.attribute("kind"))
        .collect();
    assert_eq!(kinds, ["failure"]);
}
