//! The paths that contain nobody, with their documented transition counts (README, "What a
//! run costs").
use cordon_core::model::IncidentStatus;
use cordon_engine::ExecutionStatus;

use crate::harness::{Case, Harness};

/// Runs a backdoor-user incident with `iam.user-created` set to `disposition`; checks the
/// states it went through.
async fn run_with_disposition(disposition: &str, states: &[&str]) -> (Harness, Case) {
    let h = Harness::new(Some(&format!(
        r#"{{"rules": {{"iam.user-created": {{"disposition": "{disposition}"}}}}}}"#
    )))
    .await;
    let case = h.backdoor_user_event().await;
    let mut ex = h.start(&case.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Succeeded);
    assert_eq!(
        h.states_entered(&ex),
        states,
        "the documented transition count ({})",
        states.len()
    );
    (h, case)
}

#[tokio::test]
async fn the_notify_path_alerts_and_closes() {
    let (h, case) = run_with_disposition(
        "notify",
        &[
            "OpenIncident",
            "IsNewIncident",
            "Enrich",
            "Route",
            "NotifyAlert",
            "CloseNotified",
            "Done",
        ],
    )
    .await;
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Notified);
    assert_eq!(h.kinds_published_for(&record.incident_id).await, ["alert"]);
    assert!(!h.has_quarantine_policy(&case.user).await);
}

#[tokio::test]
async fn the_ignore_path_closes_quietly() {
    let (h, case) = run_with_disposition(
        "ignore",
        &[
            "OpenIncident",
            "IsNewIncident",
            "Enrich",
            "Route",
            "CloseIgnored",
            "Done",
        ],
    )
    .await;
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Closed);
    assert!(h.kinds_published_for(&record.incident_id).await.is_empty());
}
