//! Handler tests with the in-memory fakes.
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cordon_aws::fakes::{FakeIncidentStore, FakeNotifier};
use cordon_aws::testing::fixture_detection;
use cordon_core::model::{CaughtError, ErrorText};
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use cordon_core::{TaskError, names};
use cordon_notify::{Deps, Input, error_text, handle};
use serde_json::json;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:cordon-alerts";

fn deps() -> (Arc<FakeNotifier>, Arc<FakeIncidentStore>, Deps) {
    let notifier = Arc::new(FakeNotifier::new());
    let store = Arc::new(FakeIncidentStore::new());
    let at = Utc
        .with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time");
    let deps = Deps {
        notifier: notifier.clone(),
        store: store.clone(),
        links: Arc::new(cordon_aws::fakes::FakeLinkStore::new()),
        topic_arn: TOPIC.into(),
        approval_url: None,
        approval_timeout_seconds: 3600,
        quarantine_policy_arn: None,
        release_link_valid_for: chrono::Duration::hours(24),
        clock: cordon_aws::fixed_clock(at),
    };
    (notifier, store, deps)
}

fn contained_input() -> Input {
    let d = fixture_detection("iam-create-user-by-iam-user");
    serde_json::from_value(json!({
        "incidentId": d.incident_id,
        "kind": "contained",
        "detection": d,
        "actionsTaken": ["attached the deny-all policy"],
        "releaseUrl": "https://cordon.example.com/release/abc"
    }))
    .expect("input shape")
}

#[tokio::test]
async fn a_notification_is_published_once() {
    let (notifier, _, deps) = deps();
    let input = contained_input();
    let first = handle(input.clone(), &deps).await.expect("send");
    assert!(!first.already_sent);
    assert_eq!(first.message_id.as_deref(), Some("fake-message-1"));

    let again = handle(input.clone(), &deps).await.expect("redrive");
    assert!(again.already_sent);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(notifier.published().len(), 1);

    let expected = render(
        NotificationKind::Contained,
        &NotificationContext {
            incident_id: input.incident_id.clone(),
            detection: input.detection.clone(),
            release_url: input.release_url.clone(),
            actions_taken: input.actions_taken.clone(),
            ..Default::default()
        },
    );
    let sent = &notifier.published()[0];
    assert_eq!(sent.topic_arn, TOPIC);
    assert_eq!(sent.subject, expected.subject);
    assert_eq!(sent.body, expected.body);
    assert_eq!(sent.attributes, expected.attributes);

    assert_eq!(
        serde_json::to_value(&first).expect("json"),
        json!({
            "incidentId": input.incident_id,
            "kind": "contained",
            "messageId": "fake-message-1",
            "alreadySent": false
        })
    );
}

#[tokio::test]
async fn a_failed_publish_is_not_marked_and_is_retried() {
    let (notifier, store, deps) = deps();
    notifier.fail_on(
        "sns:Publish",
        TaskError::transient("sns:Publish", "Throttling"),
    );
    let err = handle(contained_input(), &deps)
        .await
        .expect_err("throttled");
    assert_eq!(err.error_name(), names::TRANSIENT);
    assert_eq!(store.count("dynamodb:MarkNotified"), 0);
    notifier.heal("sns:Publish");
    let out = handle(contained_input(), &deps).await.expect("retry");
    assert!(!out.already_sent);
    assert_eq!(notifier.published().len(), 1);
}

#[tokio::test]
async fn a_throttled_marker_after_the_publish_does_not_send_twice() {
    // Found by tests/tests/burst/main.rs: the step failing here made the workflow's Retry
    // publish the same notification again.
    let (notifier, store, throttled) = deps();
    store.fail_on(
        "dynamodb:MarkNotified",
        TaskError::transient("dynamodb:PutItem", "ThrottlingException"),
    );
    let out = handle(contained_input(), &throttled)
        .await
        .expect("sent: the step must not fail after the publish");
    assert!(!out.already_sent);
    assert_eq!(notifier.published().len(), 1);
    assert!(
        store.count("dynamodb:MarkNotified") > 1,
        "the marker write was retried"
    );
    // A non-transient marker failure still fails the step (the workflow catches it).
    let (_, store, denied) = deps();
    store.fail_on(
        "dynamodb:MarkNotified",
        TaskError::Aws {
            operation: "dynamodb:PutItem".into(),
            code: "AccessDeniedException".into(),
            message: "denied".into(),
        },
    );
    assert!(handle(contained_input(), &denied).await.is_err());
}

#[tokio::test]
async fn a_throttled_release_link_write_after_the_publish_does_not_send_twice() {
    // The contained notification carries a release link; recording the SNS message id
    // on the link happens after the publish, so it must not fail the step either (the
    // burst under faults saw two "contained" emails when it did).
    let (notifier, _, mut deps) = deps();
    let links = Arc::new(cordon_aws::fakes::FakeLinkStore::new());
    links.fail_on(
        "links:SetMessageId",
        TaskError::transient("dynamodb:UpdateItem", "ThrottlingException"),
    );
    deps.links = links.clone();
    deps.approval_url = Some("https://cordon.example.com/".into());
    let out = handle(contained_input(), &deps)
        .await
        .expect("sent: the step must not fail after the publish");
    assert!(!out.already_sent);
    assert_eq!(notifier.published().len(), 1);
    assert!(
        links.count("links:SetMessageId") > 1,
        "the write was retried: {:?}",
        links.calls()
    );
}

#[tokio::test]
async fn different_kinds_are_sent_independently() {
    let (notifier, _, deps) = deps();
    let mut input = contained_input();
    handle(input.clone(), &deps).await.expect("contained");
    input.kind = NotificationKind::Failure;
    input.error = Some(ErrorText::Caught(CaughtError::new(
        "Cordon.AwsError",
        "{\"errorType\":\"Cordon.AwsError\",\"errorMessage\":\"AWS call iam:AttachUserPolicy failed (AccessDenied): no\"}",
    )));
    let out = handle(input, &deps).await.expect("failure");
    assert!(!out.already_sent);
    assert_eq!(notifier.published().len(), 2);
    assert!(
        notifier.published()[1]
            .body
            .contains("iam:AttachUserPolicy failed (AccessDenied)"),
        "{}",
        notifier.published()[1].body
    );
}

#[test]
fn error_values_become_text() {
    assert_eq!(error_text(&json!("boom")), Some("boom".into()));
    assert_eq!(
        error_text(&json!({"Error": "States.Timeout", "Cause": "took too long"})),
        Some("States.Timeout: took too long".into())
    );
    assert_eq!(error_text(&json!(null)), None);
}

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:cordon-incident:ex-1";

/// The failure notification as NotifyFailure sends it after `step` failed.
fn failure_input(step: &str, execution: &str) -> Input {
    let d = fixture_detection("iam-create-user-by-iam-user");
    serde_json::from_value(json!({
        "kind": "failure",
        "incidentId": d.incident_id,
        "detection": d,
        "assessment": null,
        "event": null,
        "step": step,
        "error": {"Error": "Cordon.Transient", "Cause": "transient failure in iam:TagUser: ServiceUnavailable"},
        "executionArn": execution,
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:cordon-incident"
    }))
    .expect("NotifyFailure's payload")
}

#[tokio::test]
async fn a_failure_is_sent_once_per_execution() {
    let (notifier, store, deps) = deps();
    let first = handle(failure_input("Tag", EXECUTION), &deps)
        .await
        .expect("sent");
    assert!(!first.already_sent);
    let again = handle(failure_input("Tag", EXECUTION), &deps)
        .await
        .expect("a retry");
    assert!(
        again.already_sent,
        "a retry of the same execution sends nothing"
    );
    // A replay is a new execution: if it fails too, the team hears about it again.
    let replay = handle(failure_input("Tag", &format!("{EXECUTION}-replay")), &deps)
        .await
        .expect("the replay's failure");
    assert!(!replay.already_sent);
    assert_eq!(notifier.published().len(), 2);
    assert_eq!(store.count("dynamodb:MarkNotified"), 2);
    let body = &notifier.published()[0].body;
    assert!(body.contains("Failed step: Tag"), "{body}");
    assert!(
        body.contains(EXECUTION),
        "the replay command names the execution"
    );
}

#[tokio::test]
async fn a_failure_is_sent_when_the_table_is_unavailable() {
    // The marker can be neither read nor written: send anyway (a duplicate email is better
    // than silence).
    let (notifier, store, deps) = deps();
    let down = TaskError::Aws {
        operation: "dynamodb:GetItem".into(),
        code: "ResourceNotFoundException".into(),
        message: "Requested resource not found".into(),
    };
    store.fail_on("dynamodb:Notification", down.clone());
    store.fail_on("dynamodb:MarkNotified", down);
    let out = handle(failure_input("Enrich", EXECUTION), &deps)
        .await
        .expect("sent all the same");
    assert!(!out.already_sent);
    assert_eq!(notifier.published().len(), 1);
    // Other kinds still need the table: their failure takes the failure path.
    let err = handle(contained_input(), &deps)
        .await
        .expect_err("the marker cannot be read");
    assert_eq!(err.error_name(), names::AWS);
}

#[tokio::test]
async fn a_failure_before_the_incident_was_opened_uses_the_raw_event() {
    let (notifier, _, deps) = deps();
    let event = cordon_aws::testing::fixture("iam-create-user-by-iam-user");
    let input: Input = serde_json::from_value(json!({
        "kind": "failure",
        "incidentId": null,
        "detection": null,
        "assessment": null,
        "event": event,
        "step": "OpenIncident",
        "error": {"Error": "Lambda.Unknown", "Cause": ""},
        "executionArn": EXECUTION,
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:cordon-incident"
    }))
    .expect("NotifyFailure's payload after OpenIncident failed");
    let out = handle(input, &deps).await.expect("sent");
    let expected_id = cordon_core::incident::incident_id_for_raw_event(&event);
    assert_eq!(out.incident_id, expected_id, "the id record gives it");
    let sent = &notifier.published()[0];
    assert_eq!(
        sent.attributes.get("incident_id"),
        Some(&expected_id),
        "{:?}",
        sent.attributes
    );
    let event_id = event["detail"]["eventID"].as_str().expect("eventID");
    assert!(sent.body.contains(event_id), "{}", sent.body);
    assert!(sent.body.contains("CreateUser"), "{}", sent.body);

    let nothing: Input =
        serde_json::from_value(json!({"kind": "failure", "incidentId": null})).expect("shape");
    let err = handle(nothing, &deps).await.expect_err("no id, no event");
    assert_eq!(err.error_name(), names::INVALID_EVENT);
}

#[test]
fn config_needs_the_topic() {
    let env = |k: &str| (k == "CORDON_TABLE_NAME").then(|| "t".to_string());
    let err = cordon_notify::Config::from_lookup(&env).expect_err("no topic");
    assert!(err.to_string().contains("CORDON_TOPIC_ARN"), "{err}");
}

#[test]
fn config_reads_only_what_notify_needs() {
    // Variables other functions validate (the response policy) or that notify only falls
    // back on cannot stop the failure notification.
    let env = |k: &str| match k {
        "CORDON_TABLE_NAME" => Some("t".to_string()),
        "CORDON_TOPIC_ARN" => Some(TOPIC.to_string()),
        "CORDON_RESPONSE_POLICY" => Some("{not json".to_string()),
        "CORDON_APPROVAL_TIMEOUT_SECONDS" => Some("600.5".to_string()),
        "CORDON_QUARANTINE_POLICY_ARN" => Some("arn:aws:iam::1:policy/q".to_string()),
        _ => None,
    };
    let c = cordon_notify::Config::from_lookup(&env).expect("notify starts");
    assert_eq!(
        c.approval_timeout_seconds,
        cordon_notify::DEFAULT_APPROVAL_TIMEOUT_SECONDS
    );
    assert_eq!(
        c.quarantine_policy_arn.as_deref(),
        Some("arn:aws:iam::1:policy/q")
    );
}
