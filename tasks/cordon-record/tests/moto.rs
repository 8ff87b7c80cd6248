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
    let deps = Deps {
        store: store.clone(),
        clock: cordon_aws::system_clock(),
        home_account: cordon_aws::testing::fixture_home_account(),
    };
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
    let deps = Deps {
        store: store.clone(),
        clock: cordon_aws::system_clock(),
        home_account: cordon_aws::testing::fixture_home_account(),
    };
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
