//! Approval mode and release links, with the in-memory fakes.
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use cordon_aws::fakes::{FakeIncidentStore, FakeLinkStore, FakeNotifier};
use cordon_aws::links::{LinkKind, LinkStatus, LinkStore};
use cordon_aws::testing::fixture_detection;
use cordon_core::{TaskError, names};
use cordon_notify::{Config, Deps, Input, handle};
use serde_json::json;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:cordon-alerts";
const BASE: &str = "https://abc123.lambda-url.us-east-1.on.aws";
const TOKEN: &str = "AQCEAAAAKgAAAAMAAAAAAAAAAsecret-task-token-7f3c9d";

struct World {
    notifier: Arc<FakeNotifier>,
    approvals: Arc<FakeLinkStore>,
    store: Arc<FakeIncidentStore>,
    deps: Deps,
}

fn world(approval_url: Option<&str>) -> World {
    let notifier = Arc::new(FakeNotifier::new());
    let approvals = Arc::new(FakeLinkStore::new());
    let store = Arc::new(FakeIncidentStore::new());
    let at = Utc
        .with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time");
    let deps = Deps {
        notifier: notifier.clone(),
        store: store.clone(),
        links: approvals.clone(),
        topic_arn: TOPIC.into(),
        approval_url: approval_url.map(str::to_string),
        approval_timeout_seconds: 3600,
        quarantine_policy_arn: None,
        release_link_valid_for: chrono::Duration::hours(24),
        clock: cordon_aws::fixed_clock(at),
    };
    World {
        notifier,
        approvals,
        store,
        deps,
    }
}

fn approval_input(token: Option<&str>) -> Input {
    let d = fixture_detection("iam-create-user-by-iam-user");
    let mut v = json!({
        "incidentId": d.incident_id,
        "kind": "approvalRequest",
        "detection": d,
        "assessment": {
            "severity": "high", "disposition": "approve", "reasons": ["rule default"],
            "actorAllowlisted": false, "containable": true, "protectedReason": null
        },
        "timeoutSeconds": 900
    });
    if let Some(t) = token {
        v["taskToken"] = json!(t);
    }
    serde_json::from_value(v).expect("input shape")
}

#[tokio::test]
async fn an_approval_request_stores_the_token_and_mails_only_a_link() {
    let w = world(Some(BASE));
    let out = handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("sent");
    assert!(!out.already_sent);

    let links = w.approvals.links();
    assert_eq!(links.len(), 1);
    let a = &links[0];
    assert_eq!(a.kind, LinkKind::Approval);
    assert_eq!(a.status, LinkStatus::Pending);
    assert_eq!(a.task_token.as_ref().map(|t| t.expose()), Some(TOKEN));
    assert_eq!(a.expires_at - a.created_at, Duration::seconds(900));
    assert_eq!(a.message_id.as_deref(), Some("fake-message-1"));
    assert_eq!(a.summary.severity.as_deref(), Some("high"));
    assert!(a.summary.principal_name.is_some());

    let sent = w.notifier.published();
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    // The email carries the id; the table only its hash.
    let id = emailed_id(body, "/a/");
    assert_eq!(id.hash(), a.hash);
    assert_ne!(id.expose(), a.hash.as_str());
    assert!(body.contains("expires at"), "{body}");
    assert!(
        !body.contains(TOKEN) && !body.contains("secret-task-token"),
        "{body}"
    );
    assert!(!sent[0].subject.contains(TOKEN));
    assert!(!format!("{:?}", approval_input(Some(TOKEN))).contains(TOKEN));
    assert!(
        !serde_json::to_string(&approval_input(Some(TOKEN)))
            .expect("json")
            .contains(TOKEN)
    );
}

#[tokio::test]
async fn the_incident_waits_for_a_human_once_the_request_is_out() {
    use cordon_aws::IncidentStore;
    use cordon_core::model::IncidentStatus;
    let w = world(Some(BASE));
    let d = fixture_detection("iam-create-user-by-iam-user");
    cordon_aws::testing::open_incident(w.store.as_ref(), &d, json!({})).await;
    let status = || async {
        w.store
            .get(&d.incident_id)
            .await
            .expect("get")
            .expect("the incident")
            .status
    };
    assert_eq!(status().await, IncidentStatus::Open);
    handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("sent");
    assert_eq!(status().await, IncidentStatus::AwaitingApproval);
    // A retry keeps it so; a closed incident is never reopened by one.
    handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("already sent");
    assert_eq!(status().await, IncidentStatus::AwaitingApproval);
    w.store
        .close(
            &d.incident_id,
            IncidentStatus::Contained,
            Utc::now(),
            None,
            None,
        )
        .await
        .expect("close");
    handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("already sent");
    assert_eq!(status().await, IncidentStatus::Contained);
}

#[tokio::test]
async fn a_retry_with_the_same_token_reuses_the_approval_and_sends_nothing() {
    let w = world(Some(BASE));
    let first = handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("sent");
    let again = handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("retry");
    assert!(again.already_sent);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(w.approvals.links().len(), 1);
    assert_eq!(w.notifier.published().len(), 1);

    // A redrive re-enters the state with a new token: a new approval, a new email.
    let redrive = handle(approval_input(Some("another-token")), &w.deps)
        .await
        .expect("redrive");
    assert!(!redrive.already_sent);
    assert_eq!(w.approvals.links().len(), 2);
    assert_eq!(w.notifier.published().len(), 2);
}

#[tokio::test]
async fn a_publish_failure_is_retried_with_the_same_approval() {
    let w = world(Some(BASE));
    w.notifier.fail_on(
        "sns:Publish",
        TaskError::transient("sns:Publish", "Throttling"),
    );
    let err = handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect_err("throttled");
    assert_eq!(err.error_name(), names::TRANSIENT);
    w.notifier.heal("sns:Publish");
    handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect("retry");
    // The first run's id was never emailed and its plaintext is gone: the retry emails a
    // new one for the same approval; the unsent one is never used.
    let sent = w.notifier.published();
    assert_eq!(sent.len(), 1);
    let id = emailed_id(&sent[0].body, "/a/");
    let links = w.approvals.links();
    let emailed: Vec<_> = links.iter().filter(|l| l.message_id.is_some()).collect();
    assert_eq!(emailed.len(), 1, "{links:?}");
    assert_eq!(emailed[0].hash, id.hash());
    assert_eq!(
        w.approvals
            .find_for_incident(LinkKind::Approval, &emailed[0].incident_id)
            .await
            .expect("find")
            .map(|l| l.hash),
        Some(id.hash()),
        "the incident's approval is the emailed one"
    );
}

#[tokio::test]
async fn an_approval_request_needs_a_token_and_the_approval_url() {
    let w = world(Some(BASE));
    let err = handle(approval_input(None), &w.deps)
        .await
        .expect_err("no token");
    assert_eq!(err.error_name(), names::INVALID_EVENT);
    assert!(err.to_string().contains("taskToken"), "{err}");

    let w = world(None);
    let err = handle(approval_input(Some(TOKEN)), &w.deps)
        .await
        .expect_err("no url");
    assert_eq!(err.error_name(), names::CONFIG);
    assert!(err.to_string().contains("CORDON_APPROVAL_URL"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
    assert!(w.notifier.published().is_empty());
    assert!(w.approvals.links().is_empty());
}

#[tokio::test]
async fn a_contained_notification_carries_a_single_use_release_link() {
    let w = world(Some(BASE));
    let mut input = approval_input(None);
    input.kind = cordon_core::notify::NotificationKind::Contained;
    handle(input, &w.deps).await.expect("sent");
    let links = w.approvals.links();
    assert_eq!(links.len(), 1);
    let r = &links[0];
    assert_eq!(r.kind, LinkKind::Release);
    assert!(r.task_token.is_none());
    // 24 hours by default (the stack's ReleaseLinkHours).
    assert_eq!(r.expires_at - r.created_at, Duration::hours(24));
    let body = &w.notifier.published()[0].body;
    assert_eq!(emailed_id(body, "/r/").hash(), r.hash);
    assert_eq!(r.message_id.as_deref(), Some("fake-message-1"));

    // A retry after the email went out sends nothing again.
    let mut again = approval_input(None);
    again.kind = cordon_core::notify::NotificationKind::Contained;
    let out = handle(again, &w.deps).await.expect("retry");
    assert!(out.already_sent);
    assert_eq!(w.notifier.published().len(), 1);
    assert_eq!(w.approvals.links().len(), 1);
}

#[test]
fn config_reads_the_approval_url_without_its_trailing_slash() {
    let env = |k: &str| match k {
        "CORDON_TABLE_NAME" => Some("t".to_string()),
        "CORDON_TOPIC_ARN" => Some(TOPIC.to_string()),
        "CORDON_APPROVAL_URL" => Some(format!("{BASE}/")),
        _ => None,
    };
    let c = Config::from_lookup(&env).expect("config");
    assert_eq!(c.approval_url.as_deref(), Some(BASE));
    assert_eq!(c.approval_timeout_seconds, 3600);
}

/// The link id in an email (`<BASE><path><32 hex>`).
fn emailed_id(body: &str, path: &str) -> cordon_aws::links::LinkId {
    let marker = format!("{BASE}{path}");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in {body}"))
        + marker.len();
    let id: String = body[start..].chars().take(32).collect();
    cordon_aws::links::LinkId::parse(&id).unwrap_or_else(|| panic!("{id} is not a link id"))
}
