//! Home account only: another account's event about a user whose name also exists in this
//! account is neither routed by the stack's rules nor, if it reaches the workflow anyway
//! (an organisation-wide bus, a rule without the pin), acted on. It is recorded as a
//! REJECTED incident with the reason, and this account's user is left alone.
use cordon_aws::IncidentStore;
use cordon_core::model::IncidentStatus;
use cordon_engine::ExecutionStatus;
use serde_json::json;

use crate::harness::Harness;

const OTHER_ACCOUNT: &str = "444455556666";

#[tokio::test]
async fn an_event_from_another_account_is_rejected_and_recorded() {
    let h = Harness::new(Some(
        r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#,
    ))
    .await;
    // The user really exists in this (the local) account: exactly what must not be
    // contained on the word of another account's event.
    let case = h.backdoor_user_event().await;
    let mut event = case.event.clone();
    event["account"] = json!(OTHER_ACCOUNT);
    event["detail"]["recipientAccountId"] = json!(OTHER_ACCOUNT);
    event["detail"]["userIdentity"]["accountId"] = json!(OTHER_ACCOUNT);

    // The local stack's rules, resolved for its own account, do not route it...
    let template_path = cordon_tests::workspace_root().join("infra/template.yaml");
    let rules = cordon::local::LocalTemplate::load(&template_path, &Default::default())
        .and_then(|t| t.rules())
        .unwrap_or_else(|e| panic!("the local stack's rules: {e:#}"));
    assert!(
        !cordon_eventbridge::route(&rules, &case.event).is_empty(),
        "the home account's own event is routed"
    );
    assert!(
        cordon_eventbridge::route(&rules, &event).is_empty(),
        "another account's event must not be routed"
    );

    // ...and delivered anyway, the workflow rejects it at OpenIncident.
    let mut ex = h.start(&event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Failed);
    let entered = h.states_entered(&ex);
    assert_eq!(entered.first().map(String::as_str), Some("OpenIncident"));
    for step in ["Enrich", "Quarantine", "Tag"] {
        assert!(
            !entered.iter().any(|s| s == step),
            "{step} ran for another account's event: {entered:?}"
        );
    }
    let described = ex.describe();
    assert_eq!(described.error.as_deref(), Some("Cordon.InvalidEvent"));
    let cause = described.cause.unwrap_or_default();
    assert!(
        cause.contains(OTHER_ACCOUNT),
        "the cause names the account: {cause}"
    );

    let rejected = h
        .store()
        .get(&cordon_core::incident::rejected_incident_id(&event))
        .await
        .expect("reading the table")
        .expect("the rejected event is on record");
    assert_eq!(rejected.status, IncidentStatus::Rejected);
    assert_eq!(
        rejected.event.as_ref(),
        Some(&event),
        "the raw event is kept"
    );
    let reason = rejected.error.unwrap_or_default();
    assert!(
        reason.contains(OTHER_ACCOUNT) && reason.contains(cordon::local::LOCAL_ACCOUNT),
        "the reason names both accounts: {reason}"
    );
    assert!(
        h.store()
            .get(&cordon_core::incident::incident_id_for_event(
                event["detail"]["eventID"].as_str().unwrap_or_default()
            ))
            .await
            .expect("reading the table")
            .is_none(),
        "no incident was opened for it"
    );
    assert!(
        !h.has_quarantine_policy(&case.user).await,
        "this account's {} was contained on another account's event",
        case.user
    );
    assert!(
        !h.user_tags(&case.user).await.contains_key("SecurityStatus"),
        "this account's user was tagged"
    );
}
