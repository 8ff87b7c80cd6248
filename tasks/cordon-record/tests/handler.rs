//! Handler tests with the in-memory fakes and the shared fixture events.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::fakes::FakeIncidentStore;
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::fixture;
use cordon_core::TaskError;
use cordon_core::model::IncidentStatus;
use cordon_record::{
    AppendInput, CloseInput, Deps, Input, OpenInput, OpenOutput, Outcome, Output, handle,
};
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("valid time")
}

/// A clock that starts at `now()` and advances one second per reading.
fn ticking_clock() -> cordon_aws::Clock {
    let ticks = Arc::new(AtomicI64::new(0));
    Arc::new(move || now() + Duration::seconds(ticks.fetch_add(1, Ordering::SeqCst)))
}

fn deps() -> (Arc<FakeIncidentStore>, Deps) {
    let store = Arc::new(FakeIncidentStore::new());
    let deps = Deps::new(
        store.clone(),
        Arc::new(cordon_aws::fakes::FakeFailureCounter::new(store.clone())),
        ticking_clock(),
        cordon_aws::testing::fixture_home_account(),
    );
    (store, deps)
}

/// An open as a new execution makes it (every delivery of an event starts its own).
fn open(event: serde_json::Value) -> Input {
    static EXECUTIONS: AtomicI64 = AtomicI64::new(0);
    let n = EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    Input::Open(OpenInput {
        event,
        execution_arn: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:cordon:x-{n}"
        )),
    })
}

async fn timeline_steps(store: &FakeIncidentStore, id: &str) -> Vec<String> {
    store
        .timeline(id)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.step)
        .collect()
}

async fn open_ok(deps: &Deps, name: &str) -> OpenOutput {
    match handle(open(fixture(name)), deps).await {
        Ok(Output::Open(o)) => o,
        other => panic!("{name}: expected an open output, got {other:?}"),
    }
}

#[tokio::test]
async fn an_incident_is_opened_with_its_event_and_timeline() {
    let (store, deps) = deps();
    let out = open_ok(&deps, "iam-create-user-by-iam-user").await;
    assert_eq!(out.outcome, Outcome::Opened);
    assert!(!out.duplicate);
    let id = out.incident_id.clone().expect("incident id");
    let detection = out.detection.expect("detection");
    assert_eq!(detection.incident_id, id);

    let rec = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(rec.status, IncidentStatus::Open);
    assert_eq!(rec.event, Some(fixture("iam-create-user-by-iam-user")));
    assert_eq!(rec.rule.as_deref(), Some(detection.rule.as_str()));
    assert!(rec.execution_arn.is_some());
    let tl = store.timeline(&id).await.expect("timeline");
    assert_eq!(tl.len(), 1);
    assert_eq!(tl[0].step, "OpenIncident");

    // Output is the documented JSON shape.
    let json = serde_json::to_value(Output::Open(OpenOutput {
        detection: None,
        ..open_ok(&deps, "iam-create-user-by-iam-user").await
    }))
    .expect("serialize");
    assert_eq!(
        json,
        json!({
            "outcome": "duplicate",
            "duplicate": true,
            "replayed": false,
            "incidentId": id,
            "detection": null,
            "reason": null,
            "ruleArn": null
        })
    );
}

#[tokio::test]
async fn a_second_delivery_of_the_same_event_is_a_duplicate() {
    let (store, deps) = deps();
    let first = open_ok(&deps, "duplicate-create-user-delivery-1").await;
    let second = open_ok(&deps, "duplicate-create-user-delivery-2").await;
    assert_eq!(first.outcome, Outcome::Opened);
    assert_eq!(second.outcome, Outcome::Duplicate);
    assert!(second.duplicate);
    assert_eq!(first.incident_id, second.incident_id);
    assert_eq!(store.incidents().len(), 1);
}

#[tokio::test]
async fn a_malformed_event_is_recorded_as_rejected_and_then_fails() {
    for name in [
        "malformed-missing-detail",
        "malformed-detail-not-object",
        "malformed-missing-user-identity",
        "malformed-create-user-username-65-chars",
        "malformed-create-user-username-unicode",
    ] {
        let (store, deps) = deps();
        let event = fixture(name);
        let err = handle(open(event.clone()), &deps)
            .await
            .expect_err("malformed events fail");
        assert!(
            matches!(err, TaskError::InvalidEvent { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(err.error_name(), cordon_core::names::INVALID_EVENT);

        let id = cordon_core::incident::rejected_incident_id(&event);
        let rec = store
            .get(&id)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{name}: no rejected incident {id}"));
        assert_eq!(rec.status, IncidentStatus::Rejected, "{name}");
        assert_eq!(rec.event, Some(event), "{name}");
        assert_eq!(rec.error, Some(err.to_string()), "{name}");
        assert!(rec.closed_at.is_some(), "{name}");
    }
}

#[tokio::test]
async fn if_the_rejection_cannot_be_recorded_the_store_error_wins() {
    let (store, deps) = deps();
    store.fail_on(
        "dynamodb:Open",
        TaskError::transient("dynamodb:PutItem", "Throttling"),
    );
    let err = handle(open(fixture("malformed-missing-detail")), &deps)
        .await
        .expect_err("fails");
    // Retried (Cordon.Transient) until the rejection is on record.
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn events_that_are_not_incidents_are_not_recorded() {
    let (store, deps) = deps();
    let out = open_ok(&deps, "unrelated-s3-put-object-data-event").await;
    assert_eq!(out.outcome, Outcome::NotAnIncident);
    assert!(out.reason.is_some());
    let out = open_ok(&deps, "scheduled-daily-audit-trigger").await;
    assert_eq!(out.outcome, Outcome::AuditTrigger);
    assert!(out.rule_arn.is_some());
    assert!(store.incidents().is_empty());
}

#[tokio::test]
async fn append_and_close_are_idempotent() {
    let (store, deps) = deps();
    let id = open_ok(&deps, "iam-create-user-by-iam-user")
        .await
        .incident_id
        .expect("id");
    let entry: Input = serde_json::from_value(json!({
        "action": "append",
        "incidentId": id,
        "step": "Quarantine",
        "message": "attached AutomatedSecurityQuarantine",
        "at": "2024-09-27T14:06:00.250Z",
        "details": {"alreadyAttached": false}
    }))
    .expect("append input parses");
    assert!(matches!(entry, Input::Append(AppendInput { .. })));
    let first = handle(entry.clone(), &deps).await.expect("append");
    let again = handle(entry, &deps).await.expect("append again");
    assert_eq!(
        serde_json::to_value(&first).expect("json"),
        json!({"incidentId": id, "appended": true})
    );
    assert_eq!(
        serde_json::to_value(&again).expect("json"),
        json!({"incidentId": id, "appended": false})
    );

    let close = |status| {
        Input::Close(CloseInput {
            incident_id: id.clone(),
            status,
            summary: Some("quarantined".into()),
            execution_arn: Some("arn:aws:states:us-east-1:111122223333:execution:m:first".into()),
        })
    };
    let closed = handle(close(IncidentStatus::Contained), &deps)
        .await
        .expect("close");
    assert_eq!(
        serde_json::to_value(&closed).expect("json"),
        json!({"incidentId": id, "status": "CONTAINED", "changed": true})
    );
    let again = handle(close(IncidentStatus::Failed), &deps)
        .await
        .expect("close again");
    assert_eq!(
        serde_json::to_value(&again).expect("json"),
        json!({"incidentId": id, "status": "CONTAINED", "changed": false})
    );
    let rec = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(rec.status, IncidentStatus::Contained);
    assert_eq!(
        timeline_steps(&store, &id).await,
        ["OpenIncident", "Quarantine", "Close"]
    );
}

/// A close step whose first try closed the incident and stopped before writing the closing
/// entry (the function timed out, or the answer of its write was lost): the retry, the same
/// execution closing with the same status, writes the entry once, at the close time, and
/// counts nothing. Another execution's close writes nothing.
#[tokio::test]
async fn a_retried_close_finishes_its_own_close_once() {
    let (store, deps) = deps();
    let id = "ct-retried-close".to_string();
    let execution = "arn:aws:states:us-east-1:111122223333:execution:m:ours";
    let first_try = now() - Duration::milliseconds(500);
    store
        .close(
            &id,
            IncidentStatus::Contained,
            first_try,
            None,
            Some(execution),
        )
        .await
        .expect("the first try's close");
    let close = |execution: &str, status| {
        Input::Close(CloseInput {
            incident_id: id.clone(),
            status,
            summary: None,
            execution_arn: Some(execution.to_string()),
        })
    };
    for _ in 0..2 {
        let retried = handle(close(execution, IncidentStatus::Contained), &deps)
            .await
            .expect("the retry");
        assert_eq!(
            serde_json::to_value(&retried).expect("json"),
            json!({"incidentId": id, "status": "CONTAINED", "changed": false}),
            "a retry counts nothing"
        );
    }
    for (other, status) in [
        (
            "arn:aws:states:us-east-1:111122223333:execution:m:other",
            IncidentStatus::Contained,
        ),
        (execution, IncidentStatus::Failed),
    ] {
        handle(close(other, status), &deps).await.expect("close");
    }
    let timeline = store.timeline(&id).await.expect("timeline");
    assert_eq!(
        timeline.iter().map(|e| e.step.as_str()).collect::<Vec<_>>(),
        ["Close"],
        "{timeline:?}"
    );
    assert_eq!(timeline[0].at, first_try, "keyed by the close time");
    assert_eq!(timeline[0].message, "closed as CONTAINED");
    let record = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(record.closed_by.as_deref(), Some(execution));
}

#[test]
fn config_names_the_missing_variable() {
    let err = cordon_record::Config::from_lookup(&|_| None).expect_err("missing");
    assert!(err.to_string().contains("CORDON_ACCOUNT_ID"), "{err}");
    assert_eq!(err.error_name(), cordon_core::names::CONFIG);
    let err = cordon_record::Config::from_lookup(&|k| {
        (k == "CORDON_ACCOUNT_ID").then(|| "111122223333".to_string())
    })
    .expect_err("missing");
    assert!(err.to_string().contains("CORDON_TABLE_NAME"), "{err}");
}

#[test]
fn a_stack_without_a_valid_home_account_does_not_start() {
    // Never "accept every account": a missing or malformed account is a configuration
    // error that names the variable and says what to set it to.
    for account in [None, Some(""), Some("not-an-account"), Some("11112222333")] {
        let err = cordon_record::Config::from_lookup(&|k| match k {
            "CORDON_TABLE_NAME" => Some("incidents".to_string()),
            "CORDON_ACCOUNT_ID" => account.map(str::to_string),
            _ => None,
        })
        .expect_err("invalid home account");
        assert_eq!(err.error_name(), cordon_core::names::CONFIG, "{account:?}");
        assert!(err.to_string().contains("CORDON_ACCOUNT_ID"), "{err}");
    }
    let config = cordon_record::Config::from_lookup(&|k| match k {
        "CORDON_TABLE_NAME" => Some("incidents".to_string()),
        "CORDON_ACCOUNT_ID" => Some("111122223333".to_string()),
        _ => None,
    })
    .expect("valid");
    assert_eq!(config.home_account.as_str(), "111122223333");
}

#[tokio::test]
async fn an_event_of_another_account_is_recorded_as_rejected_with_the_reason() {
    let (store, deps) = deps();
    let mut event = fixture("iam-create-user-by-iam-user");
    event["account"] = json!("444455556666");
    event["detail"]["recipientAccountId"] = json!("444455556666");
    let err = handle(open(event.clone()), &deps)
        .await
        .expect_err("rejected");
    assert_eq!(err.error_name(), cordon_core::names::INVALID_EVENT);
    let id = cordon_core::incident::rejected_incident_id(&event);
    let rec = store.get(&id).await.expect("get").expect("recorded");
    assert_eq!(rec.status, IncidentStatus::Rejected);
    assert_eq!(rec.event, Some(event));
    let error = rec.error.expect("the reason is recorded");
    assert!(error.contains("444455556666"), "{error}");
    assert!(error.contains("home account 111122223333"), "{error}");
    assert_eq!(
        rec.title.as_deref(),
        Some("event not from the home account 111122223333 rejected")
    );
    assert_eq!(timeline_steps(&store, &id).await, ["Rejected"]);
    // The home account's own copy of the event is an incident as usual.
    let out = open_ok(&deps, "iam-create-user-by-iam-user").await;
    assert_eq!(out.outcome, Outcome::Opened);
}

#[tokio::test]
async fn not_an_incident_still_has_every_output_field() {
    let (_, deps) = deps();
    let out = handle(open(fixture("unrelated-s3-put-object-data-event")), &deps)
        .await
        .expect("open");
    let json = serde_json::to_value(out).expect("json");
    for key in [
        "outcome",
        "duplicate",
        "incidentId",
        "detection",
        "reason",
        "ruleArn",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["incidentId"], json!(null));
}

#[tokio::test]
async fn fail_closes_the_incident_as_failed_with_the_caught_error() {
    let (store, deps) = deps();
    let id = open_ok(&deps, "iam-create-user-by-iam-user")
        .await
        .incident_id
        .expect("id");
    // What RecordFailure passes: the failure context the `<Step>Failed` state built.
    let input: Input = serde_json::from_value(json!({
        "action": "fail",
        "incidentId": id,
        "step": "Quarantine",
        "error": {
            "Error": "Cordon.AwsError",
            "Cause": "{\"errorType\":\"Cordon.AwsError\",\"errorMessage\":\"AWS call iam:AttachUserPolicy failed (AccessDenied): no\"}"
        },
        "event": null,
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:cordon:x"
    }))
    .expect("fail input parses");
    let out = handle(input.clone(), &deps).await.expect("fail");
    assert_eq!(
        serde_json::to_value(&out).expect("json"),
        json!({"incidentId": id, "status": "FAILED", "changed": true})
    );
    let rec = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(rec.status, IncidentStatus::Failed);
    assert_eq!(
        rec.summary.as_deref(),
        Some(
            "Quarantine failed: Cordon.AwsError: AWS call iam:AttachUserPolicy failed \
             (AccessDenied): no"
        )
    );
    let close = store
        .timeline(&id)
        .await
        .expect("timeline")
        .into_iter()
        .find(|e| e.step == "Close")
        .expect("the failure is on the timeline");
    let details = close.details.expect("details");
    assert_eq!(details["step"], "Quarantine");
    assert_eq!(details["error"], "Cordon.AwsError");
    assert_eq!(
        details["executionArn"],
        "arn:aws:states:us-east-1:123456789012:execution:cordon:x"
    );
    let again = handle(input, &deps).await.expect("fail again");
    assert_eq!(
        serde_json::to_value(&again).expect("json"),
        json!({"incidentId": id, "status": "FAILED", "changed": false})
    );
}
