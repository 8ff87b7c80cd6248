//! Handler tests with the in-memory fakes.
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cordon_aws::fakes::{FakeIdentityStore, FakeIncidentStore};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::fixture_detection as detection;
use cordon_core::ResponsePolicy;
use cordon_core::model::{Detection, Disposition};
use cordon_enrich::{Deps, Input, handle};

fn deps(
    iam: FakeIdentityStore,
    policy: ResponsePolicy,
    d: &Detection,
) -> (Arc<FakeIdentityStore>, Arc<FakeIncidentStore>, Deps) {
    let at = Utc
        .with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("time");
    let iam = Arc::new(iam);
    let store = Arc::new(FakeIncidentStore::new().with_open_incident(&d.incident_id, at));
    let deps = Deps {
        identity: iam.clone(),
        roles: Arc::new(cordon_aws::fakes::FakeRoleStore::new()),
        policies: Arc::new(cordon_aws::fakes::FakePolicyReader::new()),
        store: store.clone(),
        policy: Arc::new(policy),
        identities: cordon_aws::identities::Identities::default(),
        clock: cordon_aws::fixed_clock(at),
    };
    (iam, store, deps)
}

#[tokio::test]
async fn an_existing_user_is_looked_up_and_the_assessment_is_stored() {
    let d = detection("iam-attach-user-policy-administrator-access");
    let mut user = FakeIdentityStore::sample_user("support-admin");
    user.groups = vec!["admins".into()];
    let (_, store, deps) = deps(
        FakeIdentityStore::new().with_user(user.clone()),
        ResponsePolicy::default(),
        &d,
    );
    let out = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
        },
        &deps,
    )
    .await
    .expect("enrich");
    assert!(out.principal_exists);
    assert_eq!(out.facts, Some(user));
    assert_eq!(out.approval_timeout_seconds, 3600);
    assert_eq!(out.on_approval_timeout, Disposition::Notify);
    assert!(out.assessment.containable, "{:?}", out.assessment);

    let rec = store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert_eq!(rec.severity, Some(out.assessment.severity));
    assert_eq!(rec.disposition, Some(out.assessment.disposition));
    assert_eq!(rec.assessment, Some(out.assessment.clone()));
    let json = serde_json::to_value(&out).expect("json");
    for key in [
        "incidentId",
        "facts",
        "assessment",
        "principalExists",
        "approvalTimeoutSeconds",
        "onApprovalTimeout",
    ] {
        assert!(json.get(key).is_some(), "output has {key}: {json}");
    }
}

#[tokio::test]
async fn a_principal_that_no_longer_exists_is_not_an_error() {
    let d = detection("iam-create-user-by-iam-user");
    let (iam, _, deps) = deps(FakeIdentityStore::new(), ResponsePolicy::default(), &d);
    let out = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d,
        },
        &deps,
    )
    .await
    .expect("enrich");
    assert!(!out.principal_exists);
    assert!(out.facts.is_none());
    assert_eq!(iam.count("iam:GetUser"), 1);
}

#[tokio::test]
async fn root_is_not_looked_up_and_never_contained() {
    let d = detection("signin-console-login-root-success-no-mfa");
    let (iam, _, deps) = deps(FakeIdentityStore::new(), ResponsePolicy::default(), &d);
    let out = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d,
        },
        &deps,
    )
    .await
    .expect("enrich");
    assert!(iam.calls().is_empty());
    assert!(!out.assessment.containable);
    assert_ne!(out.assessment.disposition, Disposition::Auto);
    assert_ne!(out.assessment.disposition, Disposition::Approve);
}

#[tokio::test]
async fn an_allowlisted_actor_is_flagged_by_its_unique_id_and_a_look_alike_is_not() {
    let d = detection("iam-create-user-by-assumed-role-ci");
    let issuer = d
        .actor
        .session_issuer_arn
        .clone()
        .expect("CI session issuer");
    let role_id = d
        .actor
        .unique_id()
        .expect("the session's role id")
        .to_string();
    let role_name = issuer.rsplit('/').next().expect("role name").to_string();
    let policy = ResponsePolicy::from_json(&format!(r#"{{"allowlisted_actors": ["{issuer}"]}}"#))
        .expect("policy");
    let enrich = |iam_role_id: &'static str| {
        let d = d.clone();
        let policy = policy.clone();
        let issuer = issuer.clone();
        let role_name = role_name.clone();
        let role_id = role_id.clone();
        async move {
            let iam = FakeIdentityStore::new();
            // IAM now reports this id for the allowlisted role's name.
            let id = if iam_role_id.is_empty() {
                role_id.as_str()
            } else {
                iam_role_id
            };
            iam.put_role(&role_name, &issuer, id);
            let (iam, _, mut deps) = deps(iam, policy.clone(), &d);
            deps.identities =
                cordon_aws::identities::Identities::from_config(&[], &policy).expect("lists");
            deps.identities
                .resolve_with(&*iam, None)
                .await
                .expect("resolved");
            handle(
                Input {
                    incident_id: d.incident_id.clone(),
                    detection: d,
                },
                &deps,
            )
            .await
            .expect("enrich")
        }
    };
    let out = enrich("").await;
    assert!(out.assessment.actor_allowlisted);
    assert_eq!(out.assessment.disposition, Disposition::Notify);
    // The role was deleted and re-created under the same name (a new unique id): the
    // session in the event is not the allowlisted role's.
    let out = enrich("AROAREPLACEMENT000001").await;
    assert!(!out.assessment.actor_allowlisted, "{:?}", out.assessment);
}

#[test]
fn config_rejects_a_bad_policy_naming_the_variable() {
    let env = |k: &str| match k {
        "CORDON_TABLE_NAME" => Some("t".to_string()),
        "CORDON_RESPONSE_POLICY" => Some(r#"{"no_such_field": 1}"#.to_string()),
        _ => None,
    };
    let err = cordon_enrich::Config::from_lookup(&env).expect_err("bad policy");
    assert!(err.to_string().contains("CORDON_RESPONSE_POLICY"), "{err}");
}

#[tokio::test]
async fn the_first_assessment_counts_the_incident_per_rule_and_severity_once() {
    use cordon_aws::Function;
    let d = detection("iam-attach-user-policy-administrator-access");
    let (_, _, deps) = deps(
        FakeIdentityStore::new().with_user(FakeIdentityStore::sample_user("support-admin")),
        ResponsePolicy::default(),
        &d,
    );
    let input = || Input {
        incident_id: d.incident_id.clone(),
        detection: d.clone(),
    };
    let at = Utc::now();
    let first = handle(input(), &deps).await.expect("enrich");
    assert_eq!(first.first_assessed.as_deref(), Some(d.rule.as_str()));
    let lines: Vec<String> = deps
        .measure(&first, at)
        .iter()
        .flat_map(|l| l.render())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    for line in &lines {
        cordon_core::metrics::validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let emf: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON");
    assert_eq!(emf["IncidentsOpened"], 1.0, "{emf}");
    assert_eq!(emf["Rule"], d.rule.as_str(), "{emf}");
    assert_eq!(emf["Severity"], first.assessment.severity.as_str(), "{emf}");
    assert!(
        serde_json::to_value(&first)
            .expect("json")
            .get("firstAssessed")
            .is_none(),
        "not part of the payload"
    );

    // A retried enrich (or a replay's) assesses again and counts nothing.
    let again = handle(input(), &deps).await.expect("enrich again");
    assert_eq!(again.first_assessed, None);
    assert!(deps.measure(&again, at).is_empty());
}
