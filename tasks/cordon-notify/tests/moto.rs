//! Emulator-backed: the published SNS message, read back through an SQS subscription.
use std::collections::BTreeMap;
use std::sync::Arc;

use cordon_aws::testing::{fixture_detection, moto, unique};
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use cordon_notify::{Deps, Input, handle};
use serde_json::Value;

#[tokio::test]
async fn the_published_message_has_the_rendered_subject_body_and_attributes() {
    let m = moto().await;
    let topic = m.create_topic().await;
    let tap = m.tap(&topic).await;

    let mut d = fixture_detection("iam-create-user-by-iam-user");
    d.incident_id = unique("ct");
    let store = m.incident_store().await;
    let deps = Deps {
        notifier: Arc::new(m.notifier()),
        links: Arc::new(m.link_store(&store)),
        store: Arc::new(store),
        topic_arn: topic.clone(),
        approval_url: None,
        approval_timeout_seconds: 3600,
        quarantine_policy_arn: None,
        release_link_valid_for: chrono::Duration::hours(24),
        clock: cordon_aws::system_clock(),
    };
    let input = Input {
        incident_id: d.incident_id.clone(),
        kind: NotificationKind::Contained,
        detection: Some(d.clone()),
        assessment: None,
        approval_url: None,
        approval_expires_at: None,
        release_url: Some("https://cordon.example.com/release/x".into()),
        error: None,
        step: None,
        event: None,
        execution_arn: None,
        state_machine_arn: None,
        actions_taken: vec!["attached the deny-all policy".into()],
        decided_by: None,
        note: None,
        task_token: None,
        timeout_seconds: None,
    };
    let out = handle(input.clone(), &deps).await.expect("notify");
    assert!(!out.already_sent);
    let message_id = out.message_id.clone().expect("message id");

    let expected = render(
        NotificationKind::Contained,
        &NotificationContext {
            incident_id: d.incident_id.clone(),
            detection: Some(d.clone()),
            release_url: input.release_url.clone(),
            actions_taken: input.actions_taken.clone(),
            ..Default::default()
        },
    );

    let messages = tap.receive(2).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: Value = serde_json::from_str(&messages[0]).expect("SNS envelope JSON");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageId"], message_id.as_str());
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(envelope["Subject"], expected.subject.as_str());
    assert_eq!(envelope["Message"], expected.body.as_str());
    let attrs: BTreeMap<String, String> = envelope["MessageAttributes"]
        .as_object()
        .expect("message attributes")
        .iter()
        .map(|(k, v)| {
            assert_eq!(v["Type"], "String", "{k}");
            (
                k.clone(),
                v["Value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected_attrs: BTreeMap<String, String> = expected
        .attributes
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(attrs, expected_attrs);
    assert_eq!(attrs.get("kind").map(String::as_str), Some("contained"));
    assert_eq!(attrs.get("incident_id"), Some(&d.incident_id));

    // A redrive does not send it again.
    let again = handle(input, &deps).await.expect("redrive");
    assert!(again.already_sent);
    assert_eq!(again.message_id, Some(message_id));
    let more = tap.receive(1).await;
    assert!(more.is_empty(), "{more:?}");
}
