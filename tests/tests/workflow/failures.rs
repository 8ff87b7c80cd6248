//! Every failure reaches a human, and replay works after any ending (issue 10).
//!
//! Whatever ends an execution other than its designed end is caught: the `<Step>Failed`
//! state names the step, NotifyFailure tells the team (read back from SNS through the tap
//! queue), RecordFailure records the incident as FAILED, and the execution ends in its
//! `Failed` state. The recovery for that is a replay (a new execution with the same event),
//! which reopens the FAILED incident; a redrive is for an execution that stopped on the
//! failure path itself.
use cordon_aws::IncidentStore;
use cordon_core::model::IncidentStatus;
use cordon_core::names;
use cordon_engine::ExecutionStatus;

use crate::AUTO_USER_CREATED;
use crate::harness::{Harness, Injected};

/// The states of a failure path after `step` failed.
fn failure_path(step: &str) -> [String; 4] {
    [
        format!("{step}Failed"),
        "NotifyFailure".into(),
        "RecordFailure".into(),
        "Failed".into(),
    ]
}

#[tokio::test]
async fn a_handler_that_cannot_start_reports_its_configuration() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    // Enrich's response policy is not JSON: the handler is registered all the same (as the
    // deployed function starts all the same) and answers with Cordon.Config.
    h.reconfigure("cordon-enrich", "CORDON_RESPONSE_POLICY", "{\"rules\": ");
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    assert!(states.ends_with(&failure_path("Enrich")), "{states:?}");
    assert_eq!(states.len(), 7, "the documented transition count");
    assert_eq!(ex.describe().error.as_deref(), Some(names::CONFIG));
    assert_eq!(
        h.calls("cordon-enrich"),
        1,
        "a configuration error is not retried"
    );

    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Failed);
    let summary = record.summary.unwrap_or_default();
    assert!(
        summary.contains("Enrich failed") && summary.contains("CORDON_RESPONSE_POLICY"),
        "the audit says which step and which variable: {summary}"
    );
    let message = h.failure_message(&record.incident_id).await;
    assert!(
        message.subject.contains("FAILED at Enrich"),
        "{}",
        message.subject
    );
    assert!(
        message.body.contains("Cordon.Config")
            && message.body.contains("CORDON_RESPONSE_POLICY")
            && message.body.contains("ResponsePolicy parameter"),
        "which variable is wrong and how to fix it:\n{}",
        message.body
    );
    assert!(
        message.body.contains(&case.user),
        "the message names the user"
    );
    assert!(!h.has_quarantine_policy(&case.user).await);
}

#[tokio::test]
async fn a_crashed_function_is_reported_and_recorded() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    h.inject(
        "cordon-quarantine",
        u32::MAX,
        Injected::crash("Runtime exited with error: signal: killed"),
    );
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    assert!(states.ends_with(&failure_path("Quarantine")), "{states:?}");
    assert_eq!(states.len(), 9, "the documented transition count");
    assert_eq!(ex.describe().error.as_deref(), Some("Lambda.Unknown"));
    assert_eq!(
        h.calls("cordon-quarantine"),
        1,
        "a crash is caught, not retried"
    );

    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Failed);
    assert!(
        record
            .summary
            .as_deref()
            .is_some_and(|s| s.contains("Quarantine failed: Lambda.Unknown")),
        "{:?}",
        record.summary
    );
    let message = h.failure_message(&record.incident_id).await;
    assert!(message.subject.contains("FAILED at Quarantine"));
    assert!(
        message.body.contains("QuarantineFunction crashed"),
        "{}",
        message.body
    );
    assert!(
        message.body.contains(&format!(
            "--user-name {} --policy-arn {}",
            case.user, h.resources.quarantine_policy_arn
        )),
        "how to contain by hand, with the stack's policy:\n{}",
        message.body
    );
    assert_eq!(
        h.kinds_published_for(&record.incident_id).await,
        ["failure"]
    );
}

#[tokio::test]
async fn an_exhausted_transient_error_is_reported_and_a_replay_finishes_the_job() {
    // Replaces the redrive test of the old design, where a transient error that outlasted
    // its retries failed the execution at that step with nobody told, and a redrive resumed
    // it. Now it is caught like any other failure: the team is told, the incident is FAILED,
    // a redrive of the handled execution does nothing, and a replay finishes the job.
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    h.inject(
        "cordon-tag",
        u32::MAX,
        Injected::transient("iam:TagUser", "ServiceUnavailable"),
    );
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    assert_eq!(ex.describe().error.as_deref(), Some(names::TRANSIENT));
    assert_eq!(h.calls("cordon-tag"), 7, "1 attempt + MaxAttempts 6");
    let states = h.states_entered(&ex);
    assert!(states.ends_with(&failure_path("Tag")), "{states:?}");

    let id = h.incident_id(&case);
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Failed);
    let message = h.failure_message(&id).await;
    assert!(message.subject.contains("FAILED at Tag"));
    assert!(
        message.body.contains("IS quarantined"),
        "containment happened before the failure:\n{}",
        message.body
    );
    assert!(
        message.body.contains("REPLAY") && message.body.contains("Do not redrive"),
        "{}",
        message.body
    );

    // A redrive restarts at the Fail state: it fails again at once and runs no task.
    let calls_before = h.calls("cordon-record") + h.calls("cordon-notify");
    let entered_before = h.states_entered(&ex).len();
    assert_eq!(h.redrive(&mut ex).await, ExecutionStatus::Failed);
    assert_eq!(
        h.calls("cordon-record") + h.calls("cordon-notify"),
        calls_before
    );
    assert_eq!(
        h.states_entered(&ex).len(),
        entered_before + 1,
        "the documented transition count: Failed again"
    );

    // IAM recovers; the operator replays the event.
    h.clear_injection("cordon-tag");
    let mut replay = h.replay(&case.event);
    assert_eq!(
        h.finish(&mut replay).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&replay)
    );
    assert_eq!(h.states_entered(&replay).len(), 9, "the auto path again");
    assert_eq!(h.calls("cordon-quarantine"), 2, "quarantine ran again...");
    assert_eq!(
        h.attachment_count(&case.user).await,
        1,
        "...and attached once"
    );
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Contained);
    assert_eq!(
        h.user_tags(&case.user)
            .await
            .get("SecurityStatus")
            .map(String::as_str),
        Some("Quarantined")
    );
    let steps = h.timeline_steps(&id).await;
    assert!(steps.contains(&"Replayed".to_string()), "{steps:?}");
    assert_eq!(
        h.kinds_published_for(&id).await,
        ["failure", "contained"],
        "told once of each"
    );
}

#[tokio::test]
async fn a_replay_after_a_permanent_failure_contains_the_user_once() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    // Tagging is refused after the user was quarantined: the failure comes after
    // containment, so the replay runs quarantine on an already contained user.
    h.inject(
        "cordon-tag",
        u32::MAX,
        Injected::permanent(
            "iam:TagUser",
            "AccessDenied",
            "not authorized to perform iam:TagUser",
        ),
    );
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    assert_eq!(h.calls("cordon-tag"), 1, "a permanent error is not retried");
    assert_eq!(h.record(&case).await.status, IncidentStatus::Failed);
    let snapshot = h.record(&case).await.snapshot.expect("the first snapshot");

    // The policy is fixed; the event is replayed.
    h.clear_injection("cordon-tag");
    let mut replay = h.replay(&case.event);
    assert_eq!(
        h.finish(&mut replay).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&replay)
    );
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Contained);
    assert_eq!(
        h.attachment_count(&case.user).await,
        1,
        "the user is contained exactly once"
    );
    assert_eq!(
        record.snapshot.as_ref(),
        Some(&snapshot),
        "the pre-containment snapshot is the first one, so release restores the true state"
    );
    let id = record.incident_id.clone();
    assert_eq!(h.kinds_published_for(&id).await, ["failure", "contained"]);
    let timeline = h.store().timeline(&id).await.expect("timeline");
    let replayed = timeline
        .iter()
        .find(|e| e.step == "Replayed")
        .expect("the replay is on the timeline");
    assert!(
        replayed.message.contains("AccessDenied"),
        "{}",
        replayed.message
    );

    // After success a replay is a duplicate and does nothing.
    let mut again = h.replay(&case.event);
    assert_eq!(h.finish(&mut again).await, ExecutionStatus::Succeeded);
    assert_eq!(
        h.states_entered(&again),
        ["OpenIncident", "IsNewIncident", "Duplicate"]
    );
    assert_eq!(h.calls("cordon-quarantine"), 2);
    assert_eq!(h.kinds_published_for(&id).await, ["failure", "contained"]);
}

#[tokio::test]
async fn an_unavailable_table_still_reaches_a_human() {
    let h = Harness::new(Some(AUTO_USER_CREATED)).await;
    let case = h.backdoor_user_event().await;
    let id = h.incident_id(&case);
    h.take_the_table_down().await;

    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    // Told first; recording cannot work, so the execution stops at RecordFailure, where a
    // redrive resumes it.
    assert_eq!(
        states,
        [
            "OpenIncident",
            "OpenIncidentFailed",
            "NotifyFailure",
            "RecordFailure"
        ],
        "{}",
        h.history_summary(&ex)
    );
    assert_eq!(ex.describe().error.as_deref(), Some(names::AWS));

    let message = h.failure_message(&id).await;
    assert!(
        message.subject.contains("FAILED at OpenIncident") && message.subject.contains(&id),
        "{}",
        message.subject
    );
    let detail = &case.event["detail"];
    for essential in [
        detail["eventName"].as_str(),
        detail["eventID"].as_str(),
        detail["eventTime"].as_str(),
        detail["userIdentity"]["arn"].as_str(),
        Some(case.user.as_str()),
    ] {
        let essential = essential.expect("the event has it");
        assert!(
            message.body.contains(essential),
            "the message carries {essential}:\n{}",
            message.body
        );
    }
    assert!(message.body.contains("ResourceNotFoundException"), "why");
    assert!(
        message.body.contains(&format!("--user-name {}", case.user)),
        "containing the event's target by hand is spelled out:\n{}",
        message.body
    );

    // The table is back: the redrive records the failure (and does not notify again) ...
    h.bring_the_table_back().await;
    assert_eq!(h.redrive(&mut ex).await, ExecutionStatus::Failed);
    let states = h.states_entered(&ex);
    assert_eq!(states.len(), 6, "the documented transition count: 4, +2");
    assert!(states.ends_with(&["RecordFailure".into(), "Failed".into()]));
    let failed = h.store().get(&id).await.expect("get").expect("recorded");
    assert_eq!(failed.status, IncidentStatus::Failed);
    assert_eq!(h.kinds_published_for(&id).await, ["failure"]);

    // ... and a replay runs the whole response.
    let mut replay = h.replay(&case.event);
    assert_eq!(
        h.finish(&mut replay).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&replay)
    );
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    assert_eq!(h.attachment_count(&case.user).await, 1);
    assert_eq!(h.kinds_published_for(&id).await, ["failure", "contained"]);
}
