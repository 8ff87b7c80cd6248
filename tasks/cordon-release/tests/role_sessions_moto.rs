//! Emulator-backed: a role's sessions revoked by the real quarantine handler (the inline
//! deny conditioned on `aws:TokenIssueTime`, as the IAM console's "Revoke active
//! sessions" writes it), then lifted by release, over moto's IAM and DynamoDB.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::testing::{Moto, fixture_detection, moto, open_incident, unique};
use cordon_aws::{DynamoIncidentStore, IncidentStore, RoleStore};
use cordon_core::model::{Detection, IncidentStatus, Principal, PrincipalKind};
use cordon_core::quarantine::REVOKE_SESSIONS_POLICY_NAME;
use cordon_core::{ResponsePolicy, TaskError};
use cordon_release::{Deps, ReleaseInput, ReleaseOutput, ReleaseVia, ReleasedBy, release};
use serde_json::Value;

async fn create_role(m: &Moto, name: &str) -> String {
    cordon_aws::testing::create_workload_role(&m.iam(), name).await
}

/// An incident about a session of `role` (an assumed-role principal, as CloudTrail names
/// the session that made the call).
fn session_detection(role: &str, role_arn: &str) -> Detection {
    let mut d = fixture_detection("iam-create-user-by-iam-user");
    d.incident_id = unique("role-inc");
    let account = role_arn.split(':').nth(4).expect("account").to_string();
    d.principal = Some(Principal {
        kind: PrincipalKind::AssumedRole,
        name: Some(role.to_string()),
        arn: Some(format!(
            "arn:aws:sts::{account}:assumed-role/{role}/attacker"
        )),
        account_id: Some(account),
        principal_id: None,
    });
    d
}

/// Quarantine's dependencies, with `own_role` (an ARN) as Cordon's own role, resolved to
/// its unique id against moto as the function does when it prepares.
async fn quarantine_deps(
    m: &Moto,
    store: &Arc<DynamoIncidentStore>,
    own_role: Option<&str>,
) -> cordon_quarantine::Deps {
    let policy = ResponsePolicy::default();
    let own: Vec<String> = own_role.into_iter().map(str::to_string).collect();
    let mut identities =
        cordon_aws::identities::Identities::from_config(&own, &policy).expect("own role");
    identities
        .resolve_with(&m.identity_store(), None)
        .await
        .expect("resolves");
    cordon_quarantine::Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        store: store.clone(),
        policy: Arc::new(policy),
        identities,
        quarantine_policy_arn: m.quarantine_policy().await,
        deny_all_policy_arn: "arn:aws:iam::aws:policy/AWSDenyAll".into(),
        force_mfa_policy_arn: None,
        clock: cordon_aws::system_clock(),
    }
}

async fn inline_policy(m: &Moto, role: &str) -> Option<Value> {
    m.role_store()
        .get_role_inline_policy(role, REVOKE_SESSIONS_POLICY_NAME)
        .await
        .expect("get role policy")
}

/// The release function, as `cordon release` run by alice calls it.
async fn release_as_alice(
    m: &Moto,
    store: &Arc<DynamoIncidentStore>,
    incident_id: &str,
    reason: Option<&str>,
) -> Result<ReleaseOutput, TaskError> {
    let deps = Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        store: store.clone(),
        notifier: Arc::new(m.notifier()),
        topic_arn: m.create_topic().await,
        quarantine_policy_arn: None,
        deny_all_policy_arn: "arn:aws:iam::aws:policy/AWSDenyAll".into(),
        clock: cordon_aws::system_clock(),
    };
    release(
        ReleaseInput {
            incident_id: incident_id.to_string(),
            released_by: ReleasedBy {
                name: Some("alice".into()),
                ip: None,
                user_agent: None,
                via: ReleaseVia::Cli,
                verified: None,
            },
            reason: reason.map(str::to_string),
        },
        &deps,
    )
    .await
}

#[tokio::test]
async fn a_roles_sessions_are_revoked_with_the_token_issue_time_and_release_lifts_it() {
    let m = moto().await;
    let role = unique("app-deployer");
    let role_arn = create_role(&m, &role).await;
    let store = Arc::new(m.incident_store().await);
    let d = session_detection(&role, &role_arn);
    open_incident(&*store, &d, serde_json::json!({})).await;
    let q = quarantine_deps(&m, &store, None).await;
    let input = cordon_quarantine::Input {
        incident_id: d.incident_id.clone(),
        detection: d.clone(),
        remediate: Some(true),
        facts: None,
    };
    let before = Utc::now();
    let out = cordon_quarantine::handle(input.clone(), &q)
        .await
        .expect("quarantine");
    assert_eq!(out.principal_kind, PrincipalKind::Role);
    assert_eq!(out.user_name, role);

    // The deny statement, as IAM stores it.
    let doc = inline_policy(&m, &role)
        .await
        .expect("the revocation policy");
    let statements = doc["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{doc}");
    let st = &statements[0];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(st["Action"], "*");
    assert_eq!(st["Resource"], "*");
    let cutoff = st["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .expect("DateLessThan aws:TokenIssueTime");
    let cutoff: DateTime<Utc> = DateTime::parse_from_rfc3339(cutoff)
        .expect("an ISO 8601 time")
        .with_timezone(&Utc);
    assert!(
        cutoff >= before && cutoff <= Utc::now() + chrono::Duration::seconds(1),
        "the cut-off is the containment time, rounded up to the second: {cutoff}"
    );
    assert_eq!(out.quarantined_at, cutoff);
    // The role itself stays usable: nothing else was put on it, its trust is untouched.
    let listed = m
        .iam()
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list role policies");
    assert_eq!(listed.policy_names(), [REVOKE_SESSIONS_POLICY_NAME]);
    let attached = m
        .iam()
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list attached");
    assert!(attached.attached_policies().is_empty());

    // A retry keeps the first cut-off.
    let again = cordon_quarantine::handle(input, &q).await.expect("again");
    assert!(again.actions_taken.is_empty(), "{again:?}");
    assert_eq!(again.quarantined_at, cutoff);

    store
        .close(
            &d.incident_id,
            IncidentStatus::Contained,
            Utc::now(),
            Some("contained"),
            None,
        )
        .await
        .expect("close");
    let released = release_as_alice(&m, &store, &d.incident_id, Some("moto test"))
        .await
        .expect("release");
    assert!(
        released
            .actions_taken
            .iter()
            .any(|a| a.contains(REVOKE_SESSIONS_POLICY_NAME)),
        "{released:?}"
    );
    assert!(
        inline_policy(&m, &role).await.is_none(),
        "release removes it"
    );
    let record = store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("record");
    assert_eq!(record.status, IncidentStatus::Released);
}

#[tokio::test]
async fn release_leaves_a_policy_of_the_same_name_that_is_no_longer_cordons() {
    let m = moto().await;
    let role = unique("app-runner");
    let role_arn = create_role(&m, &role).await;
    let store = Arc::new(m.incident_store().await);
    let d = session_detection(&role, &role_arn);
    open_incident(&*store, &d, serde_json::json!({})).await;
    cordon_quarantine::handle(
        cordon_quarantine::Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
            remediate: None,
            facts: None,
        },
        &quarantine_deps(&m, &store, None).await,
    )
    .await
    .expect("quarantine");
    // Someone replaced Cordon's statement with their own under the same name.
    let theirs = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    m.iam()
        .put_role_policy()
        .role_name(&role)
        .policy_name(REVOKE_SESSIONS_POLICY_NAME)
        .policy_document(theirs)
        .send()
        .await
        .expect("put");
    store
        .close(
            &d.incident_id,
            IncidentStatus::Contained,
            Utc::now(),
            None,
            None,
        )
        .await
        .expect("close");
    let out = release_as_alice(&m, &store, &d.incident_id, None)
        .await
        .expect("release");
    assert!(
        out.drift.iter().any(|d| d.contains("no longer Cordon's")),
        "{out:?}"
    );
    assert!(inline_policy(&m, &role).await.is_some(), "theirs is kept");
}

#[tokio::test]
async fn cordons_own_role_and_a_missing_role_are_not_touched() {
    let m = moto().await;
    let store = Arc::new(m.incident_store().await);
    let own_name = unique("cordon-quarantine-role");
    let own_arn = create_role(&m, &own_name).await;
    let q = quarantine_deps(&m, &store, Some(&own_arn)).await;
    let own = session_detection(&own_name, &own_arn);
    open_incident(&*store, &own, serde_json::json!({})).await;
    let err = cordon_quarantine::handle(
        cordon_quarantine::Input {
            incident_id: own.incident_id.clone(),
            detection: own,
            remediate: None,
            facts: None,
        },
        &q,
    )
    .await
    .expect_err("own role");
    assert!(
        matches!(err, TaskError::ProtectedPrincipal { .. }),
        "{err:?}"
    );

    let gone = unique("gone-role");
    let d = session_detection(&gone, &format!("arn:aws:iam::123456789012:role/{gone}"));
    open_incident(&*store, &d, serde_json::json!({})).await;
    let err = cordon_quarantine::handle(
        cordon_quarantine::Input {
            incident_id: d.incident_id.clone(),
            detection: d,
            remediate: None,
            facts: None,
        },
        &q,
    )
    .await
    .expect_err("missing");
    assert_eq!(err, TaskError::PrincipalNotFound(gone));
}
