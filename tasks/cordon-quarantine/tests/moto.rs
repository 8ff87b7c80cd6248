//! Emulator-backed: quarantine against IAM and DynamoDB in moto.
use std::sync::Arc;

use cordon_aws::identities::Identities;
use cordon_aws::testing::{Moto, detection_for, fixture, moto, open_incident, unique};
use cordon_aws::{DynamoIncidentStore, IncidentStore};
use cordon_core::model::{Detection, Principal, PrincipalKind};
use cordon_core::{ResponsePolicy, TaskError, names};
use cordon_quarantine::{Deps, Input, handle};

const OWN_ROLE: &str = "arn:aws:iam::123456789012:role/cordon-quarantine-role";

const FIXTURE: &str = "iam-create-user-by-iam-user";

const DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";

/// Cordon's own quarantine role, in moto (created once; concurrent tests share it).
async fn own_role(m: &Moto) {
    let _ = m
        .iam()
        .create_role()
        .role_name("cordon-quarantine-role")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await;
}

async fn setup(
    m: &Moto,
    policy: ResponsePolicy,
    d: &Detection,
) -> (Arc<DynamoIncidentStore>, Deps) {
    let store = Arc::new(m.incident_store().await);
    open_incident(&*store, d, fixture(FIXTURE)).await;
    own_role(m).await;
    // What the function does at cold start: resolve the lists to unique ids in IAM.
    let iam = m.identity_store();
    let mut identities =
        Identities::from_config(&[OWN_ROLE.to_string()], &policy).expect("identity lists");
    identities
        .resolve_with(&iam, None)
        .await
        .expect("resolved against IAM");
    // The stack's deny-all policy, as the template creates it.
    let quarantine_policy_arn = m.quarantine_policy().await;
    let deps = Deps {
        identity: Arc::new(iam),
        roles: Arc::new(m.role_store()),
        store: store.clone(),
        policy: Arc::new(policy),
        identities,
        quarantine_policy_arn,
        deny_all_policy_arn: DENY_ALL.into(),
        force_mfa_policy_arn: None,
        clock: cordon_aws::system_clock(),
    };
    (store, deps)
}

#[tokio::test]
async fn quarantine_attaches_the_policy_once_and_keeps_the_first_snapshot() {
    let m = moto().await;
    let user = unique("backdoor");
    let arn = m.create_user(&user).await;
    let key_id = m.create_access_key(&user).await;
    m.create_login_profile(&user, "Tr0ub4dor&3-long").await;

    let d = detection_for(FIXTURE, &user, &arn);
    let (store, deps) = setup(&m, ResponsePolicy::default(), &d).await;
    let input = Input {
        incident_id: d.incident_id.clone(),
        detection: d.clone(),
        remediate: Some(true),
        facts: None,
    };

    let first = handle(input.clone(), &deps).await.expect("first run");
    assert!(!first.already_attached);
    assert!(first.snapshot_saved);
    assert_eq!(
        first.policy_arn, deps.quarantine_policy_arn,
        "the stack's policy"
    );
    assert_eq!(first.remediation.deactivated_keys, vec![key_id.clone()]);
    assert!(first.remediation.login_profile_deleted);
    let both = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // The customer-managed deny and the AWS-managed one nobody in the account can edit.
    assert_eq!(
        both(m.attached_policy_arns(&user).await),
        both(vec![first.policy_arn.clone(), DENY_ALL.to_string()])
    );

    let second = handle(input, &deps).await.expect("second run");
    assert!(second.already_attached);
    assert!(!second.snapshot_saved);
    assert!(second.remediation.deactivated_keys.is_empty());
    // Still one attachment of each.
    assert_eq!(
        both(m.attached_policy_arns(&user).await),
        both(vec![first.policy_arn.clone(), DENY_ALL.to_string()])
    );
    // The snapshot is the first run's: the key was active and the password existed.
    assert_eq!(second.snapshot, first.snapshot);
    assert_eq!(second.snapshot.active_access_key_ids, vec![key_id.clone()]);
    assert!(second.snapshot.login_profile);
    assert_eq!(second.quarantined_at, first.quarantined_at);

    let rec = store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert_eq!(rec.snapshot, Some(first.snapshot.clone()));
    let keys = m
        .iam()
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .expect("keys");
    assert!(
        keys.access_key_metadata()
            .iter()
            .all(|k| k.status().map(|s| s.as_str()) == Some("Inactive"))
    );
}

async fn assert_refused(m: &Moto, deps: &Deps, d: &Detection) {
    let err = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
            remediate: Some(true),
            facts: None,
        },
        deps,
    )
    .await
    .expect_err("protected principals are refused");
    assert!(
        matches!(err, TaskError::ProtectedPrincipal { .. }),
        "{err:?}"
    );
    assert_eq!(err.error_name(), names::PROTECTED_PRINCIPAL);
    let rec = deps
        .store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert!(rec.snapshot.is_none(), "nothing is snapshotted");
    if let Some(name) = d.principal.as_ref().and_then(|p| p.name.as_deref())
        && m.iam().get_user().user_name(name).send().await.is_ok()
    {
        assert!(
            m.attached_policy_arns(name).await.is_empty(),
            "nothing is attached"
        );
    }
}

#[tokio::test]
async fn protected_principals_are_refused_and_nothing_is_attached() {
    let m = moto().await;

    // On the protected list (a break-glass user that exists in IAM).
    let user = unique("breakglass");
    let arn = m.create_user(&user).await;
    let d = detection_for(FIXTURE, &user, &arn);
    let policy = ResponsePolicy::from_json(&format!(r#"{{"protected_principals": ["{user}"]}}"#))
        .expect("policy");
    let (_, deps) = setup(&m, policy, &d).await;
    assert_refused(&m, &deps, &d).await;

    // Root.
    let mut d = detection_for(FIXTURE, "root", "arn:aws:iam::123456789012:root");
    d.principal = Some(Principal {
        kind: PrincipalKind::Root,
        name: None,
        arn: Some("arn:aws:iam::123456789012:root".into()),
        account_id: Some("123456789012".into()),
        principal_id: None,
    });
    let (_, deps) = setup(&m, ResponsePolicy::default(), &d).await;
    assert_refused(&m, &deps, &d).await;

    // Cordon's own role (an assumed-role session of it).
    let mut d = detection_for(FIXTURE, "x", "x");
    d.principal = Some(Principal {
        kind: PrincipalKind::AssumedRole,
        name: Some("cordon-quarantine-role".into()),
        arn: Some("arn:aws:sts::123456789012:assumed-role/cordon-quarantine-role/session".into()),
        account_id: Some("123456789012".into()),
        principal_id: None,
    });
    let (_, deps) = setup(&m, ResponsePolicy::default(), &d).await;
    let role_id = deps
        .identity
        .role_identity("cordon-quarantine-role")
        .await
        .expect("GetRole")
        .expect("the role exists")
        .id;
    if let Some(p) = d.principal.as_mut() {
        p.principal_id = Some(format!("{role_id}:session"));
    }
    assert_refused(&m, &deps, &d).await;
}

/// Safe outcome: a user deleted and re-created under the same name while the incident
/// waited is a different identity; quarantine records the mismatch and changes nothing.
#[tokio::test]
async fn a_user_recreated_under_the_same_name_is_not_contained() {
    let m = moto().await;
    let user = unique("recreated");
    let arn = m.create_user(&user).await;
    let d = detection_for(FIXTURE, &user, &arn);
    let (store, deps) = setup(&m, ResponsePolicy::default(), &d).await;
    // What enrich saw when the incident was assessed.
    let enriched = deps
        .identity
        .get_user_facts(&user)
        .await
        .expect("GetUser")
        .expect("the user");
    m.iam()
        .delete_user()
        .user_name(&user)
        .send()
        .await
        .expect("delete");
    m.create_user(&user).await;

    let err = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
            remediate: Some(true),
            facts: Some(enriched.clone()),
        },
        &deps,
    )
    .await
    .expect_err("a different identity is refused");
    assert_eq!(err.error_name(), names::PRINCIPAL_NOT_FOUND, "{err}");
    assert!(err.to_string().contains(&enriched.user_id), "{err}");
    assert!(
        m.attached_policy_arns(&user).await.is_empty(),
        "nothing attached"
    );
    let rec = store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert!(rec.snapshot.is_none(), "nothing snapshotted");
    let timeline = store.timeline(&d.incident_id).await.expect("timeline");
    assert!(
        timeline
            .iter()
            .any(|e| e.step == "QuarantineRefused" && e.message.contains(&enriched.user_id)),
        "the mismatch is reported: {timeline:?}"
    );
}
