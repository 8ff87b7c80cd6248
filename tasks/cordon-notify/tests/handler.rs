//! Handler tests with the in-memory fakes.
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cordon_aws::fakes::{FakeIncidentStore, FakeNotifier};
use cordon_aws::testing::fixture_detection;
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
async fn different_kinds_are_sent_independently() {
    let (notifier, _, deps) = deps();
    let mut input = contained_input();
    handle(input.clone(), &deps).await.expect("contained");
    input.kind = NotificationKind::Failure;
    input.error = Some(json!({
        "Error": "Cordon.AwsError",
        "Cause": "{\"errorType\":\"Cordon.AwsError\",\"errorMessage\":\"AWS call iam:AttachUserPolicy failed (AccessDenied): no\"}"
    }));
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

#[test]
fn config_needs_the_topic() {
    let env = |k: &str| (k == "CORDON_TABLE_NAME").then(|| "t".to_string());
    let err = cordon_notify::Config::from_lookup(&env).expect_err("no topic");
    assert!(err.to_string().contains("CORDON_TOPIC_ARN"), "{err}");
}
