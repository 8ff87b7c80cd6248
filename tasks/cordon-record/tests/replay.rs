//! Replay after any ending: a new execution with the same event reopens a FAILED incident
//! (conditional FAILED → OPEN, timeline entry `Replayed`); a finished or rejected incident
//! stays a duplicate; a retried open within one execution carries on.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::fakes::FakeIncidentStore;
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::fixture;
use cordon_core::TaskError;
use cordon_core::model::IncidentStatus;
use cordon_record::{Deps, Input, OpenInput, OpenOutput, Outcome, Output, handle};
use serde_json::{Value, json};

const EVENT: &str = "iam-create-user-by-iam-user";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("valid time")
}

fn deps() -> (Arc<FakeIncidentStore>, Deps) {
    let store = Arc::new(FakeIncidentStore::new());
    let ticks = Arc::new(AtomicI64::new(0));
    let deps = Deps::new(
        store.clone(),
        Arc::new(cordon_aws::fakes::FakeFailureCounter::new(store.clone())),
        Arc::new(move || now() + Duration::seconds(ticks.fetch_add(1, Ordering::SeqCst))),
        cordon_aws::testing::fixture_home_account(),
    );
    (store, deps)
}

fn execution(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:cordon-incident:{name}")
}

async fn open_in(deps: &Deps, event: Value, execution_arn: &str) -> OpenOutput {
    let input = Input::Open(OpenInput {
        event,
        execution_arn: Some(execution_arn.to_string()),
    });
    match handle(input, deps).await {
        Ok(Output::Open(o)) => o,
        other => panic!("expected an open output, got {other:?}"),
    }
}

/// RecordFailure, as the ASL calls it after `step` failed.
async fn fail(deps: &Deps, incident_id: Option<&str>, event: Option<Value>, arn: &str) {
    let input: Input = serde_json::from_value(json!({
        "action": "fail",
        "incidentId": incident_id,
        "step": "Quarantine",
        "error": {"Error": "Cordon.AwsError", "Cause": "AWS call iam:AttachUserPolicy failed (AccessDenied): no"},
        "event": event,
        "executionArn": arn,
    }))
    .expect("fail input");
    handle(input, deps).await.expect("recorded as FAILED");
}

async fn steps(store: &FakeIncidentStore, id: &str) -> Vec<String> {
    store
        .timeline(id)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.step)
        .collect()
}

#[tokio::test]
async fn a_replay_reopens_a_failed_incident() {
    let (store, deps) = deps();
    let first = open_in(&deps, fixture(EVENT), &execution("first")).await;
    let id = first.incident_id.expect("id");
    fail(&deps, Some(&id), None, &execution("first")).await;
    assert_eq!(
        store.get(&id).await.expect("get").expect("it").status,
        IncidentStatus::Failed
    );

    let replay = open_in(&deps, fixture(EVENT), &execution("replay")).await;
    assert_eq!(replay.outcome, Outcome::Opened, "the workflow runs again");
    assert!(replay.replayed && !replay.duplicate);
    assert_eq!(replay.detection.as_ref().map(|d| &d.incident_id), Some(&id));

    let rec = store.get(&id).await.expect("get").expect("it");
    assert_eq!(rec.status, IncidentStatus::Open);
    assert_eq!(
        rec.execution_arn.as_deref(),
        Some(execution("replay").as_str())
    );
    assert!(
        rec.closed_at.is_none() && rec.summary.is_none(),
        "ready to close again"
    );
    assert!(rec.replayed_at.is_some());
    assert_eq!(
        rec.opened_at,
        Some(now()),
        "opened when it was first opened"
    );

    let timeline = store.timeline(&id).await.expect("timeline");
    let replayed = timeline
        .iter()
        .find(|e| e.step == "Replayed")
        .expect("the replay is on the timeline");
    assert!(
        replayed.message.starts_with("replayed"),
        "{}",
        replayed.message
    );
    assert!(
        replayed.message.contains("AccessDenied"),
        "why it had failed: {}",
        replayed.message
    );
    let details = replayed.details.as_ref().expect("details");
    assert_eq!(details["previousExecutionArn"], json!(execution("first")));
    assert_eq!(
        steps(&store, &id).await,
        ["OpenIncident", "Close", "Replayed"],
        "the old entries are kept"
    );

    // The replay finishes the job: it can be closed again.
    let close: Input = serde_json::from_value(json!({
        "action": "close", "incidentId": id, "status": "CONTAINED"
    }))
    .expect("close");
    handle(close, &deps).await.expect("closed");
    let rec = store.get(&id).await.expect("get").expect("it");
    assert_eq!(rec.status, IncidentStatus::Contained);

    // After success, another replay is a duplicate.
    let again = open_in(&deps, fixture(EVENT), &execution("again")).await;
    assert_eq!(again.outcome, Outcome::Duplicate);
    assert!(again.duplicate && !again.replayed);
}

#[tokio::test]
async fn a_replay_that_fails_again_can_be_replayed_again() {
    let (store, deps) = deps();
    let id = open_in(&deps, fixture(EVENT), &execution("first"))
        .await
        .incident_id
        .expect("id");
    fail(&deps, Some(&id), None, &execution("first")).await;
    assert!(
        open_in(&deps, fixture(EVENT), &execution("r1"))
            .await
            .replayed
    );
    fail(&deps, Some(&id), None, &execution("r1")).await;
    assert_eq!(
        store.get(&id).await.expect("get").expect("it").status,
        IncidentStatus::Failed
    );
    assert!(
        open_in(&deps, fixture(EVENT), &execution("r2"))
            .await
            .replayed
    );
    let replays = steps(&store, &id)
        .await
        .into_iter()
        .filter(|s| s == "Replayed")
        .count();
    assert_eq!(replays, 2);
}

#[tokio::test]
async fn only_one_of_two_concurrent_replays_takes_the_incident_over() {
    let (store, deps) = deps();
    let id = open_in(&deps, fixture(EVENT), &execution("first"))
        .await
        .incident_id
        .expect("id");
    fail(&deps, Some(&id), None, &execution("first")).await;
    let a = open_in(&deps, fixture(EVENT), &execution("a")).await;
    let b = open_in(&deps, fixture(EVENT), &execution("b")).await;
    assert!(a.replayed);
    assert_eq!(
        b.outcome,
        Outcome::Duplicate,
        "the incident is in a's hands"
    );
    assert_eq!(
        store.count("dynamodb:Reopen"),
        1,
        "b found it OPEN, not FAILED"
    );
}

#[tokio::test]
async fn finished_and_rejected_incidents_are_never_reopened() {
    let (store, deps) = deps();
    for status in ["CONTAINED", "NOTIFIED", "DISMISSED", "CLOSED"] {
        let (store, deps) = self::deps();
        let id = open_in(&deps, fixture(EVENT), &execution("first"))
            .await
            .incident_id
            .expect("id");
        let close: Input = serde_json::from_value(json!({
            "action": "close", "incidentId": id, "status": status
        }))
        .expect("close");
        handle(close, &deps).await.expect("closed");
        let replay = open_in(&deps, fixture(EVENT), &execution("replay")).await;
        assert_eq!(replay.outcome, Outcome::Duplicate, "{status}");
        assert_eq!(store.count("dynamodb:Reopen"), 0, "{status}");
    }

    // A malformed event stays rejected however often it is replayed.
    let malformed = fixture("malformed-missing-user-identity");
    for name in ["first", "replay"] {
        let err = handle(
            Input::Open(OpenInput {
                event: malformed.clone(),
                execution_arn: Some(execution(name)),
            }),
            &deps,
        )
        .await
        .expect_err("rejected");
        assert!(matches!(err, TaskError::InvalidEvent { .. }));
    }
    let id = cordon_core::incident::rejected_incident_id(&malformed);
    let rec = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(rec.status, IncidentStatus::Rejected);
    assert_eq!(store.count("dynamodb:Reopen"), 0);
}

#[tokio::test]
async fn a_retried_open_in_the_same_execution_carries_on() {
    // The first attempt opened the incident and then failed to write its timeline entry;
    // Step Functions retries OpenIncident in the same execution.
    let (store, deps) = deps();
    store.fail_on(
        "dynamodb:Append",
        TaskError::transient("dynamodb:PutItem", "Throttling"),
    );
    let arn = execution("only");
    let err = handle(
        Input::Open(OpenInput {
            event: fixture(EVENT),
            execution_arn: Some(arn.clone()),
        }),
        &deps,
    )
    .await
    .expect_err("the append failed");
    assert!(err.is_transient());
    store.heal("dynamodb:Append");

    let retry = open_in(&deps, fixture(EVENT), &arn).await;
    assert_eq!(
        retry.outcome,
        Outcome::Opened,
        "not mistaken for a duplicate"
    );
    let id = retry.incident_id.expect("id");
    assert_eq!(steps(&store, &id).await, ["OpenIncident"]);
    // And a third attempt writes nothing twice.
    open_in(&deps, fixture(EVENT), &arn).await;
    assert_eq!(steps(&store, &id).await, ["OpenIncident"]);
    // Another execution (a duplicate delivery) still ends as a duplicate.
    let other = open_in(&deps, fixture(EVENT), &execution("other")).await;
    assert_eq!(other.outcome, Outcome::Duplicate);
}

#[tokio::test]
async fn a_failure_recorded_before_the_incident_was_opened_is_replayed_in_full() {
    // OpenIncident failed (the table was down); RecordFailure, later redriven, recorded a
    // bare FAILED incident under the id the raw event gives it.
    let (store, deps) = deps();
    let event = fixture(EVENT);
    fail(&deps, None, Some(event.clone()), &execution("first")).await;
    let id = cordon_core::incident::incident_id_for_raw_event(&event);
    let bare = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(bare.status, IncidentStatus::Failed);
    assert!(bare.detection.is_none() && bare.event.is_none());

    let replay = open_in(&deps, event.clone(), &execution("replay")).await;
    assert!(replay.replayed);
    assert_eq!(replay.incident_id.as_deref(), Some(id.as_str()));
    let rec = store.get(&id).await.expect("get").expect("it");
    assert_eq!(rec.status, IncidentStatus::Open);
    assert_eq!(rec.event, Some(event), "the evidence is filled in");
    assert!(rec.detection.is_some() && rec.principal.is_some() && rec.rule.is_some());

    // No incident id and no event: nothing to record against, and it says so.
    let input: Input = serde_json::from_value(json!({
        "action": "fail", "incidentId": null, "step": "OpenIncident",
        "error": {"Error": "Lambda.Unknown", "Cause": ""}
    }))
    .expect("shape");
    let err = handle(input, &deps)
        .await
        .expect_err("nothing to record against");
    assert_eq!(err.error_name(), cordon_core::names::INVALID_EVENT);
}
