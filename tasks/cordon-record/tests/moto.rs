//! Emulator-backed: the record handler over the real DynamoDB wire protocol (moto).
use std::sync::Arc;

use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::{fixture, moto, unique};
use cordon_core::TaskError;
use cordon_core::model::IncidentStatus;
use cordon_record::{Deps, Input, OpenInput, Outcome, Output, handle};
use serde_json::Value;

/// The fixture with a fresh `eventID` (and envelope id), so concurrent runs against one
/// moto do not share incidents.
fn fresh(name: &str, event_id: &str) -> Value {
    let mut e = fixture(name);
    e["id"] = Value::String(unique("env"));
    if let Some(d) = e.get_mut("detail").and_then(Value::as_object_mut) {
        d.insert("eventID".into(), Value::String(event_id.to_string()));
    }
    e
}

fn open(event: Value) -> Input {
    Input::Open(OpenInput {
        event,
        execution_arn: None,
    })
}

#[tokio::test]
async fn a_duplicate_open_is_detected() {
    let m = moto().await;
    let store = Arc::new(m.incident_store().await);
    let deps = Deps::new(
        store.clone(),
        Arc::new(m.failure_counter(&store)),
        cordon_aws::system_clock(),
        cordon_aws::testing::fixture_home_account(),
    );
    let event_id = uuid_like();
    let first_event = fresh("duplicate-create-user-delivery-1", &event_id);
    let first = handle(open(first_event.clone()), &deps)
        .await
        .expect("first open");
    let second = handle(
        open(fresh("duplicate-create-user-delivery-2", &event_id)),
        &deps,
    )
    .await
    .expect("second open");
    let (Output::Open(first), Output::Open(second)) = (first, second) else {
        panic!("open outputs expected");
    };
    assert_eq!(first.outcome, Outcome::Opened);
    assert!(!first.duplicate);
    assert_eq!(second.outcome, Outcome::Duplicate);
    assert!(second.duplicate);
    assert_eq!(first.incident_id, second.incident_id);

    let id = first.incident_id.expect("id");
    let rec = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(rec.status, IncidentStatus::Open);
    // The first delivery's event is the one on record.
    assert_eq!(rec.event, Some(first_event));
}

#[tokio::test]
async fn a_malformed_event_is_recorded_in_dynamodb_and_fails() {
    let m = moto().await;
    let store = Arc::new(m.incident_store().await);
    let deps = Deps::new(
        store.clone(),
        Arc::new(m.failure_counter(&store)),
        cordon_aws::system_clock(),
        cordon_aws::testing::fixture_home_account(),
    );
    let event = fresh("malformed-missing-user-identity", &uuid_like());
    let err = handle(open(event.clone()), &deps)
        .await
        .expect_err("malformed");
    assert!(matches!(err, TaskError::InvalidEvent { .. }), "{err:?}");
    let id = cordon_core::incident::rejected_incident_id(&event);
    let rec = store
        .get(&id)
        .await
        .expect("get")
        .expect("rejected incident recorded");
    assert_eq!(rec.status, IncidentStatus::Rejected);
    assert_eq!(rec.event, Some(event));
    assert_eq!(rec.error, Some(err.to_string()));
}

fn uuid_like() -> String {
    // eventIDs are UUIDs; any safe unique string works for the incident id.
    unique("evt")
}

#[tokio::test]
async fn a_replay_reopens_a_failed_incident_in_dynamodb() {
    let m = moto().await;
    let store = Arc::new(m.incident_store().await);
    let deps = Deps::new(
        store.clone(),
        Arc::new(m.failure_counter(&store)),
        cordon_aws::system_clock(),
        cordon_aws::testing::fixture_home_account(),
    );
    let execution = |name: &str| {
        Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:cordon-incident:{name}"
        ))
    };
    let event = fresh("iam-create-user-by-iam-user", &uuid_like());
    let open_in = |name: &str| {
        Input::Open(OpenInput {
            event: event.clone(),
            execution_arn: execution(name),
        })
    };
    let fail = |incident_id: Option<String>| -> Input {
        serde_json::from_value(serde_json::json!({
            "action": "fail",
            "incidentId": incident_id,
            "step": "OpenIncident",
            "error": {"Error": "Lambda.Unknown", "Cause": ""},
            "event": event.clone(),
        }))
        .expect("fail input")
    };

    // OpenIncident failed before writing anything; RecordFailure records a bare FAILED item.
    handle(fail(None), &deps).await.expect("recorded");
    let id = cordon_core::incident::incident_id_for_raw_event(&event);
    let bare = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(bare.status, IncidentStatus::Failed);
    assert!(bare.detection.is_none());

    // The replay reopens it with a conditional update and fills in the evidence.
    let Output::Open(replay) = handle(open_in("replay"), &deps).await.expect("open") else {
        panic!("an open output");
    };
    assert_eq!(replay.outcome, Outcome::Opened);
    assert!(replay.replayed);
    let rec = store.get(&id).await.expect("get").expect("it");
    assert_eq!(rec.status, IncidentStatus::Open);
    assert!(rec.closed_at.is_none() && rec.summary.is_none());
    assert_eq!(rec.execution_arn, execution("replay"));
    assert!(rec.replayed_at.is_some());
    assert_eq!(rec.event.as_ref(), Some(&event));
    assert!(rec.detection.is_some() && rec.principal.is_some());
    let by_status = store
        .list_by_status(IncidentStatus::Open, 100)
        .await
        .expect("by status");
    assert!(
        by_status.iter().any(|r| r.incident_id == id),
        "moved in the by-status index"
    );
    let principal = rec
        .principal
        .as_ref()
        .and_then(|p| p.arn.clone())
        .expect("a principal ARN");
    let by_principal = store
        .list_by_principal(&principal, 100)
        .await
        .expect("by principal");
    assert!(by_principal.iter().any(|r| r.incident_id == id));
    let steps: Vec<String> = store
        .timeline(&id)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert!(steps.contains(&"Replayed".to_string()), "{steps:?}");

    // An OPEN incident is not FAILED: a second replay is a duplicate.
    let Output::Open(second) = handle(open_in("second"), &deps).await.expect("open") else {
        panic!("an open output");
    };
    assert_eq!(second.outcome, Outcome::Duplicate);
    // The retried open of the replaying execution carries on.
    let Output::Open(retry) = handle(open_in("replay"), &deps).await.expect("open") else {
        panic!("an open output");
    };
    assert_eq!(retry.outcome, Outcome::Opened);
}
