//! Handler tests with the in-memory fakes.
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::fakes::{FakeIdentityStore, FakeIncidentStore, FakeRoleStore};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::fixture_detection as detection;
use cordon_core::model::{
    AccessKey, AttachedPolicy, Detection, KeyStatus, Principal, PrincipalKind,
};
use cordon_core::quarantine::{REVOKE_SESSIONS_POLICY_NAME, revoked_before};
use cordon_core::tags;
use cordon_core::{ResponsePolicy, TaskError, names};
use cordon_quarantine::{Deps, Input, Snapshot, handle};

const OWN_ROLE: &str = "arn:aws:iam::111122223333:role/cordon-quarantine-role";
/// The unique id the CreateUser fixture gives support-admin (`responseElements.user.userId`).
const SUPPORT_ADMIN_ID: &str = "AIDAS6N9IR1JRT0EET1YF";
/// The unique id Cordon's own quarantine role resolved to.
const OWN_ROLE_ID: &str = "AROAQUARANTINEROLE0001";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("valid time")
}

/// support-admin with an active and an inactive key, a password, a group and a prior
/// Cordon tag.
fn support_admin() -> cordon_core::model::UserFacts {
    let mut u = FakeIdentityStore::sample_user("support-admin");
    u.user_id = SUPPORT_ADMIN_ID.into();
    u.access_keys = vec![
        AccessKey {
            id: "AKIAACTIVE0000000001".into(),
            status: KeyStatus::Active,
            created: None,
        },
        AccessKey {
            id: "AKIAINACTIVE00000002".into(),
            status: KeyStatus::Inactive,
            created: None,
        },
    ];
    u.login_profile = true;
    u.groups = vec!["admins".into()];
    u.attached_policies = vec![AttachedPolicy {
        name: "AdministratorAccess".into(),
        arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
    }];
    u.tags
        .insert(tags::SECURITY_STATUS.into(), "Released".into());
    u.tags.insert("team".into(), "ops".into());
    u
}

struct World {
    iam: Arc<FakeIdentityStore>,
    store: Arc<FakeIncidentStore>,
    deps: Deps,
}

const DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";
const QUARANTINE_POLICY: &str =
    "arn:aws:iam::111122223333:policy/cordon-AutomatedSecurityQuarantine";
const FORCE_MFA_POLICY: &str = "arn:aws:iam::111122223333:policy/cordon-CordonForceMFA";

/// What the identities resolve to at cold start: Cordon's own role, and support-admin when
/// the policy protects it by name.
fn policy_ids(policy: &ResponsePolicy) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![("own", OWN_ROLE_ID)];
    if policy
        .protected_principals
        .iter()
        .any(|p| p == "support-admin")
    {
        out.push(("protected", SUPPORT_ADMIN_ID));
    }
    out
}

fn resolved(ids: &[(&str, &str)]) -> cordon_aws::identities::Identities {
    let mut t = cordon_core::policy::TrustedIds::none();
    for (what, id) in ids {
        let id = cordon_core::policy::UniqueId::parse(id).expect("a unique id");
        match *what {
            "own" => t.own_roles.insert(id),
            _ => t.protected.insert(id),
        };
    }
    cordon_aws::identities::Identities::resolved(t)
}

fn world(policy: ResponsePolicy, incident_id: &str) -> World {
    let iam = Arc::new(FakeIdentityStore::new().with_user(support_admin()));
    let store = Arc::new(FakeIncidentStore::new().with_open_incident(incident_id, t0()));
    let deps = Deps {
        identity: iam.clone(),
        roles: Arc::new(FakeRoleStore::new()),
        store: store.clone(),
        identities: resolved(&policy_ids(&policy)),
        policy: Arc::new(policy),
        quarantine_policy_arn: QUARANTINE_POLICY.into(),
        deny_all_policy_arn: DENY_ALL.into(),
        force_mfa_policy_arn: Some(FORCE_MFA_POLICY.into()),
        clock: cordon_aws::fixed_clock(t0()),
    };
    World { iam, store, deps }
}

fn input(d: &Detection, remediate: Option<bool>) -> Input {
    Input {
        incident_id: d.incident_id.clone(),
        detection: d.clone(),
        remediate,
        facts: None,
    }
}

#[tokio::test]
async fn quarantine_attaches_once_and_the_first_snapshot_wins() {
    let d = detection("iam-create-user-by-iam-user");
    let w = world(ResponsePolicy::default(), &d.incident_id);

    let first = handle(input(&d, Some(true)), &w.deps)
        .await
        .expect("first run");
    assert_eq!(first.user_name, "support-admin");
    assert!(!first.already_attached);
    assert!(first.snapshot_saved);
    assert_eq!(first.quarantined_at, t0());
    assert_eq!(
        first.remediation.deactivated_keys,
        vec!["AKIAACTIVE0000000001".to_string()]
    );
    assert!(first.remediation.login_profile_deleted);
    // Both deny-alls: the customer-managed one, and AWSDenyAll, which nobody can edit.
    assert_eq!(first.actions_taken.len(), 4, "{:?}", first.actions_taken);
    assert!(
        first.actions_taken[1].contains("arn:aws:iam::aws:policy/AWSDenyAll"),
        "{:?}",
        first.actions_taken
    );
    assert_eq!(first.policy_arns.len(), 2);
    assert_eq!(
        first.snapshot.active_access_key_ids,
        vec!["AKIAACTIVE0000000001".to_string()]
    );
    assert_eq!(
        first.snapshot.inactive_access_key_ids,
        vec!["AKIAINACTIVE00000002".to_string()]
    );
    assert!(first.snapshot.login_profile);
    assert_eq!(
        first.snapshot.attached_policy_arns,
        vec!["arn:aws:iam::aws:policy/AdministratorAccess".to_string()]
    );
    assert_eq!(
        first
            .snapshot
            .cordon_tags
            .get(tags::SECURITY_STATUS)
            .map(String::as_str),
        Some("Released")
    );
    assert!(!first.snapshot.cordon_tags.contains_key("team"));

    // A later re-run (redrive) changes nothing and reports the first snapshot.
    let mut later = w.deps.clone();
    later.clock = cordon_aws::fixed_clock(t0() + Duration::minutes(5));
    let second = handle(input(&d, Some(true)), &later)
        .await
        .expect("second run");
    assert!(second.already_attached);
    assert!(!second.snapshot_saved);
    assert_eq!(second.snapshot, first.snapshot);
    assert_eq!(second.quarantined_at, t0());
    assert!(second.remediation.deactivated_keys.is_empty());
    assert!(!second.remediation.login_profile_deleted);
    assert!(second.actions_taken.is_empty());
    assert_eq!(second.policy_arn, first.policy_arn);

    assert_eq!(w.iam.count("iam:AttachUserPolicy"), 2, "each deny-all once");
    let user = w.iam.user("support-admin").expect("user");
    assert_eq!(
        user.attached_policies
            .iter()
            .filter(|p| p.arn == first.policy_arn)
            .count(),
        1
    );
    assert!(
        user.access_keys
            .iter()
            .all(|k| k.status == KeyStatus::Inactive)
    );
    assert!(!user.login_profile);

    let rec = w
        .store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    let stored: Snapshot = rec.snapshot.expect("snapshot stored");
    assert_eq!(stored, first.snapshot);
    assert_eq!(
        w.store
            .timeline(&d.incident_id)
            .await
            .expect("timeline")
            .len(),
        2
    );
}

#[tokio::test]
async fn remediation_follows_the_policy_unless_the_input_says_otherwise() {
    let d = detection("iam-create-user-by-iam-user");
    // Default policy: no remediation.
    let w = world(ResponsePolicy::default(), &d.incident_id);
    let out = handle(input(&d, None), &w.deps).await.expect("run");
    assert!(out.remediation.deactivated_keys.is_empty());
    assert!(!out.remediation.login_profile_deleted);
    assert_eq!(w.iam.count("iam:UpdateAccessKey"), 0);

    // Policy says deactivate keys only.
    let policy = ResponsePolicy::from_json(r#"{"deactivate_access_keys": true}"#).expect("policy");
    let w = world(policy.clone(), &d.incident_id);
    let out = handle(input(&d, None), &w.deps).await.expect("run");
    assert_eq!(out.remediation.deactivated_keys.len(), 1);
    assert!(!out.remediation.login_profile_deleted);

    // The input can switch it off.
    let w = world(policy, &d.incident_id);
    let out = handle(input(&d, Some(false)), &w.deps).await.expect("run");
    assert!(out.remediation.deactivated_keys.is_empty());
}

#[tokio::test]
async fn a_pre_created_policy_arn_is_used_as_is() {
    let d = detection("iam-create-user-by-iam-user");
    let mut w = world(ResponsePolicy::default(), &d.incident_id);
    let arn = "arn:aws:iam::111122223333:policy/security/PreCreatedDenyAll";
    w.deps.quarantine_policy_arn = arn.to_string();
    let out = handle(input(&d, None), &w.deps).await.expect("run");
    assert_eq!(out.policy_arn, arn);
    assert_eq!(w.iam.count("iam:CreatePolicy"), 0);
}

async fn assert_refused(w: &World, d: &Detection) {
    let err = handle(input(d, Some(true)), &w.deps)
        .await
        .expect_err("protected principals are refused");
    assert!(
        matches!(err, TaskError::ProtectedPrincipal { .. }),
        "{err:?}"
    );
    assert_eq!(err.error_name(), names::PROTECTED_PRINCIPAL);
    // Nothing was read, snapshotted, created or attached.
    assert!(w.iam.calls().is_empty(), "{:?}", w.iam.calls());
    assert!(
        w.store
            .get(&d.incident_id)
            .await
            .expect("get")
            .is_none_or(|r| r.snapshot.is_none())
    );
}

#[tokio::test]
async fn root_is_refused() {
    let d = detection("signin-console-login-root-success-no-mfa");
    assert_eq!(
        d.principal.as_ref().map(|p| p.kind),
        Some(PrincipalKind::Root)
    );
    let w = world(ResponsePolicy::default(), &d.incident_id);
    assert_refused(&w, &d).await;
}

#[tokio::test]
async fn the_protected_list_is_refused() {
    let d = detection("iam-create-user-by-iam-user");
    let policy = ResponsePolicy::from_json(r#"{"protected_principals": ["support-admin"]}"#)
        .expect("policy");
    let w = world(policy, &d.incident_id);
    assert_refused(&w, &d).await;
    assert!(
        w.iam
            .user("support-admin")
            .expect("user")
            .attached_policies
            .iter()
            .all(|p| !p.arn.contains("AutomatedSecurityQuarantine"))
    );
}

#[tokio::test]
async fn cordons_own_role_is_refused() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.principal = Some(Principal {
        kind: PrincipalKind::AssumedRole,
        name: Some("cordon-quarantine-role".into()),
        arn: Some(
            "arn:aws:sts::111122223333:assumed-role/cordon-quarantine-role/cordon-quarantine"
                .into(),
        ),
        account_id: Some("111122223333".into()),
        principal_id: Some(format!("{OWN_ROLE_ID}:cordon-quarantine")),
    });
    let w = world(ResponsePolicy::default(), &d.incident_id);
    assert_refused(&w, &d).await;
}

fn vendor_role() -> Principal {
    Principal {
        kind: PrincipalKind::Role,
        name: Some("vendor-support-access".into()),
        arn: Some("arn:aws:iam::111122223333:role/vendor-support-access".into()),
        account_id: Some("111122223333".into()),
        principal_id: None,
    }
}

#[tokio::test]
async fn a_role_has_its_older_sessions_revoked_and_its_user_side_untouched() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.principal = Some(vendor_role());
    let mut w = world(ResponsePolicy::default(), &d.incident_id);
    let roles = Arc::new(
        FakeRoleStore::new().with_role(FakeRoleStore::sample_role("vendor-support-access", "/")),
    );
    w.deps.roles = roles.clone();
    let out = handle(input(&d, Some(true)), &w.deps).await.expect("run");
    assert_eq!(out.principal_kind, PrincipalKind::Role);
    assert_eq!(out.user_name, "vendor-support-access");
    assert_eq!(out.quarantined_at, t0());
    let policies = roles.inline_policies("vendor-support-access");
    let doc = policies
        .get(REVOKE_SESSIONS_POLICY_NAME)
        .expect("revocation policy put");
    assert_eq!(revoked_before(doc), Some(t0()));
    assert_eq!(
        doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
        "2024-09-27T14:06:00Z"
    );
    // A role is not a user: no user was read, snapshotted or given the deny-all policy.
    assert!(w.iam.calls().is_empty(), "{:?}", w.iam.calls());
    let record = w
        .store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("record");
    assert!(record.snapshot.is_none());

    // A retry keeps the first cut-off (a later clock would let the attacker's fresh
    // session through otherwise).
    w.deps.clock = cordon_aws::fixed_clock(t0() + Duration::minutes(5));
    let again = handle(input(&d, Some(true)), &w.deps).await.expect("again");
    assert!(again.already_attached);
    assert!(again.actions_taken.is_empty());
    assert_eq!(again.quarantined_at, t0());
    assert_eq!(roles.count("iam:PutRolePolicy"), 1);
}

#[tokio::test]
async fn a_role_that_is_gone_or_unmodifiable_is_not_touched() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.principal = Some(vendor_role());
    let mut w = world(ResponsePolicy::default(), &d.incident_id);
    let roles = Arc::new(FakeRoleStore::new());
    w.deps.roles = roles.clone();
    let err = handle(input(&d, None), &w.deps).await.expect_err("gone");
    assert_eq!(
        err,
        TaskError::PrincipalNotFound("vendor-support-access".into())
    );

    let roles = Arc::new(FakeRoleStore::new().with_role(FakeRoleStore::sample_role(
        "vendor-support-access",
        "/aws-reserved/sso.amazonaws.com/",
    )));
    w.deps.roles = roles.clone();
    let err = handle(input(&d, None), &w.deps)
        .await
        .expect_err("reserved");
    assert!(
        matches!(err, TaskError::ProtectedPrincipal { .. }),
        "{err:?}"
    );
    assert_eq!(roles.count("iam:PutRolePolicy"), 0);
}

#[tokio::test]
async fn a_missing_user_is_principal_not_found() {
    let d = detection("iam-create-user-by-iam-user");
    let mut w = world(ResponsePolicy::default(), &d.incident_id);
    w.iam = Arc::new(FakeIdentityStore::new());
    w.deps.identity = w.iam.clone();
    let err = handle(input(&d, None), &w.deps).await.expect_err("missing");
    assert_eq!(err, TaskError::PrincipalNotFound("support-admin".into()));
}

#[tokio::test]
async fn aws_failures_keep_their_error_names() {
    let d = detection("iam-create-user-by-iam-user");
    let w = world(ResponsePolicy::default(), &d.incident_id);
    w.iam.fail_on(
        "iam:AttachUserPolicy",
        TaskError::transient("iam:AttachUserPolicy", "Throttling: Rate exceeded"),
    );
    let err = handle(input(&d, None), &w.deps)
        .await
        .expect_err("throttled");
    assert_eq!(err.error_name(), names::TRANSIENT);
    // The retry succeeds, and the snapshot is still the first one.
    w.iam.heal("iam:AttachUserPolicy");
    let out = handle(input(&d, None), &w.deps).await.expect("retry");
    assert!(!out.snapshot_saved);
    assert!(!out.already_attached);
}

#[test]
fn config_reads_the_environment() {
    let env = |k: &str| match k {
        "CORDON_TABLE_NAME" => Some("incidents".to_string()),
        "CORDON_OWN_ROLE_ARNS" => Some(format!("{OWN_ROLE}, arn:aws:iam::111122223333:role/other")),
        "CORDON_FUNCTION_ROLE_ARN" => Some(OWN_ROLE.to_string()),
        "CORDON_RESPONSE_POLICY" => Some(r#"{"protected_principals":["breakglass"]}"#.to_string()),
        "CORDON_QUARANTINE_POLICY_ARN" => Some(QUARANTINE_POLICY.to_string()),
        _ => None,
    };
    let c = cordon_quarantine::Config::from_lookup(&env).expect("config");
    assert_eq!(c.deny_all_policy_arn, DENY_ALL);
    assert_eq!(
        c.policy.protected_principals,
        vec!["breakglass".to_string()]
    );
    assert_eq!(c.quarantine_policy_arn, QUARANTINE_POLICY);
    let without_policy = |name: &str| match name {
        "CORDON_QUARANTINE_POLICY_ARN" => None,
        other => env(other),
    };
    let err =
        cordon_quarantine::Config::from_lookup(&without_policy).expect_err("no quarantine policy");
    assert_eq!(err.error_name(), names::CONFIG);
    assert!(
        err.to_string().contains("CORDON_QUARANTINE_POLICY_ARN"),
        "{err}"
    );
    let err = cordon_quarantine::Config::from_lookup(&|_| None).expect_err("no table");
    assert!(err.to_string().contains("CORDON_TABLE_NAME"), "{err}");
}

#[tokio::test]
async fn the_aws_managed_deny_is_attached_with_the_customer_managed_one() {
    let d = detection("iam-create-user-by-iam-user");
    let w = world(ResponsePolicy::default(), &d.incident_id);
    let out = handle(input(&d, None), &w.deps).await.expect("run");
    assert_eq!(
        out.policy_arns,
        vec![out.policy_arn.clone(), DENY_ALL.to_string()]
    );
    let user = w.iam.user("support-admin").expect("user");
    for arn in &out.policy_arns {
        assert!(
            user.attached_policies.iter().any(|p| &p.arn == arn),
            "{arn} attached: {:?}",
            user.attached_policies
        );
    }
    // The record release reads says what this run attached.
    let timeline = w.store.timeline(&d.incident_id).await.expect("timeline");
    let record: cordon_core::quarantine::QuarantineRecord = serde_json::from_value(
        timeline
            .iter()
            .find(|e| e.step == cordon_quarantine::QUARANTINE_STEP)
            .and_then(|e| e.details.clone())
            .expect("details"),
    )
    .expect("a quarantine record");
    assert_eq!(record.attached_policy_arns, out.policy_arns);
    assert_eq!(record.user_id.as_deref(), Some(SUPPORT_ADMIN_ID));
}

#[tokio::test]
async fn a_user_recreated_under_the_name_is_not_contained() {
    let d = detection("iam-create-user-by-iam-user");
    let w = world(ResponsePolicy::default(), &d.incident_id);
    let mut impostor = support_admin();
    impostor.user_id = "AIDANEWUSERSAMENAME01".into();
    w.iam.put_user(impostor);
    let err = handle(input(&d, Some(true)), &w.deps)
        .await
        .expect_err("refused");
    assert_eq!(err.error_name(), names::PRINCIPAL_NOT_FOUND);
    assert!(err.to_string().contains("AIDANEWUSERSAMENAME01"), "{err}");
    for write in [
        "iam:AttachUserPolicy",
        "iam:UpdateAccessKey",
        "iam:DeleteLoginProfile",
        "iam:CreatePolicy",
    ] {
        assert_eq!(w.iam.count(write), 0, "{write}");
    }
    let rec = w
        .store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert!(rec.snapshot.is_none());

    // Without an id in the event, the id enrich saw is the incident's identity.
    let mut no_id = d.clone();
    if let Some(p) = no_id.principal.as_mut() {
        p.principal_id = None;
    }
    let mut enriched = support_admin();
    enriched.user_id = "AIDAOLDUSER0000000001".into();
    let mut with_facts = input(&no_id, None);
    with_facts.facts = Some(enriched);
    let err = handle(with_facts, &w.deps).await.expect_err("refused");
    assert_eq!(err.error_name(), names::PRINCIPAL_NOT_FOUND);
}

#[tokio::test]
async fn a_protected_user_is_refused_by_id_even_when_the_event_has_none() {
    let mut d = detection("iam-create-user-by-iam-user");
    if let Some(p) = d.principal.as_mut() {
        p.principal_id = None;
    }
    let policy = ResponsePolicy::from_json(r#"{"protected_principals": ["support-admin"]}"#)
        .expect("policy");
    let w = world(policy, &d.incident_id);
    let err = handle(input(&d, Some(true)), &w.deps)
        .await
        .expect_err("protected");
    assert_eq!(err.error_name(), names::PROTECTED_PRINCIPAL);
    assert_eq!(w.iam.count("iam:AttachUserPolicy"), 0);
}

fn force_mfa_policy() -> ResponsePolicy {
    ResponsePolicy {
        attach_force_mfa_policy: true,
        ..ResponsePolicy::default()
    }
}

#[tokio::test]
async fn an_mfa_finding_gets_the_stacks_force_mfa_policy_besides_the_deny_all() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.rule = cordon_core::classify::rules::MFA_DEACTIVATED.to_string();
    let w = world(force_mfa_policy(), &d.incident_id);
    let out = handle(input(&d, Some(false)), &w.deps).await.expect("run");
    let user = w.iam.user("support-admin").expect("user");
    let attached: Vec<&str> = user
        .attached_policies
        .iter()
        .map(|p| p.arn.as_str())
        .collect();
    assert!(attached.contains(&FORCE_MFA_POLICY), "{attached:?}");
    assert!(attached.contains(&QUARANTINE_POLICY), "{attached:?}");
    assert!(
        out.actions_taken
            .iter()
            .any(|a| a.contains(FORCE_MFA_POLICY)),
        "{:?}",
        out.actions_taken
    );
    // Never created or looked up by name.
    assert_eq!(w.iam.count("iam:CreatePolicy"), 0);
    assert_eq!(w.iam.count("iam:ListPolicies"), 0);
}

#[tokio::test]
async fn an_audit_finding_gets_only_the_force_mfa_policy() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.rule = cordon_core::classify::rules::AUDIT_MFA_MISSING.to_string();
    let w = world(force_mfa_policy(), &d.incident_id);
    handle(input(&d, Some(false)), &w.deps).await.expect("run");
    let user = w.iam.user("support-admin").expect("user");
    let attached: Vec<&str> = user
        .attached_policies
        .iter()
        .map(|p| p.arn.as_str())
        .collect();
    assert!(attached.contains(&FORCE_MFA_POLICY), "{attached:?}");
    assert!(!attached.contains(&QUARANTINE_POLICY), "{attached:?}");
    assert!(!attached.contains(&DENY_ALL), "{attached:?}");
}

#[tokio::test]
async fn without_the_stacks_force_mfa_policy_the_remediation_is_a_config_error() {
    let mut d = detection("iam-create-user-by-iam-user");
    d.rule = cordon_core::classify::rules::AUDIT_MFA_MISSING.to_string();
    let mut w = world(force_mfa_policy(), &d.incident_id);
    w.deps.force_mfa_policy_arn = None;
    let err = handle(input(&d, Some(false)), &w.deps)
        .await
        .expect_err("no policy to attach");
    assert_eq!(err.error_name(), names::CONFIG);
    assert!(
        err.to_string().contains("CORDON_FORCE_MFA_POLICY_ARN"),
        "{err}"
    );
    assert_eq!(w.iam.count("iam:CreatePolicy"), 0);
    assert_eq!(w.iam.count("iam:AttachUserPolicy"), 0);
}
