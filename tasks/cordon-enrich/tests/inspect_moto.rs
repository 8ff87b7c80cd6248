//! Enrich reads what a detection names but does not carry, against moto over the real IAM
//! API: a customer-managed policy's default version and attachments, a group's policies,
//! a role; and judges the detection by what they grant.
use std::sync::Arc;

use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::{moto, open_incident, unique};
use cordon_core::ResponsePolicy;
use cordon_core::classify::{Classification, classify};
use cordon_core::model::{Detection, Disposition, Inspect, PrincipalKind};
use cordon_enrich::{Deps, Input, handle};
use serde_json::json;

async fn deps(m: &cordon_aws::testing::Moto) -> (Arc<cordon_aws::DynamoIncidentStore>, Deps) {
    let store = Arc::new(m.incident_store().await);
    let deps = Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        policies: Arc::new(m.policy_reader()),
        store: store.clone(),
        policy: Arc::new(ResponsePolicy::default()),
        identities: cordon_aws::identities::Identities::default(),
        clock: cordon_aws::system_clock(),
    };
    (store, deps)
}

/// A detection of the fixture `name`, re-aimed at `change` (in moto's account).
fn detection(name: &str, change: impl Fn(&mut serde_json::Value)) -> Detection {
    let mut event = cordon_aws::testing::fixture(name);
    event["account"] = json!(cordon_aws::fakes::FAKE_ACCOUNT);
    event["detail"]["recipientAccountId"] = json!(cordon_aws::fakes::FAKE_ACCOUNT);
    change(&mut event["detail"]);
    let home = cordon_core::model::AccountId::parse(cordon_aws::fakes::FAKE_ACCOUNT).expect("id");
    match classify(&event, &home).expect("valid") {
        Classification::Incident(mut d) => {
            d.incident_id = unique("ct");
            d
        }
        other => panic!("{name}: {other:?}"),
    }
}

async fn enrich(store: &dyn IncidentStore, deps: &Deps, d: &Detection) -> cordon_enrich::Output {
    open_incident(store, d, json!({})).await;
    handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
        },
        deps,
    )
    .await
    .expect("enrich")
}

#[tokio::test]
async fn a_customer_managed_policy_is_judged_by_its_default_version() {
    let m = moto().await;
    let (store, deps) = deps(&m).await;
    let user = unique("grantee");
    m.create_user(&user).await;
    let admin = m
        .create_policy(
            &unique("dev-everything"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
        )
        .await;
    let harmless = m
        .create_policy(
            &unique("read-reports"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#,
        )
        .await;
    for (arn, want) in [
        (&admin, Disposition::Auto),
        (&harmless, Disposition::Ignore),
    ] {
        let d = detection("iam-attach-user-policy-administrator-access", |detail| {
            detail["requestParameters"] = json!({"userName": user, "policyArn": arn});
        });
        assert!(
            matches!(d.inspect, Some(Inspect::ManagedPolicy { .. })),
            "{d:?}"
        );
        let out = enrich(&*store, &deps, &d).await;
        let inspection = out.inspection.expect("read");
        assert!(inspection.problem.is_none(), "{inspection:?}");
        assert_eq!(out.assessment.disposition, want, "{:?}", out.assessment);
    }
    // Attaching it raises the attachment count enrich reads.
    m.attach_user_policy(&user, &admin).await;
    let d = detection("iam-attach-user-policy-administrator-access", |detail| {
        detail["requestParameters"] = json!({"userName": user, "policyArn": admin});
    });
    let out = enrich(&*store, &deps, &d).await;
    assert_eq!(out.inspection.and_then(|i| i.attachment_count), Some(1));
}

#[tokio::test]
async fn a_group_is_judged_by_its_policies_not_its_name() {
    let m = moto().await;
    let (store, deps) = deps(&m).await;
    let iam = m.iam();
    let group = unique("helpdesk");
    iam.create_group()
        .group_name(&group)
        .send()
        .await
        .expect("group");
    iam.put_group_policy()
        .group_name(&group)
        .policy_name("pass-roles")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("inline group policy");
    let user = unique("member");
    m.create_user(&user).await;
    let d = detection("iam-add-user-to-group-admins", |detail| {
        detail["requestParameters"] = json!({"userName": user, "groupName": group});
    });
    let out = enrich(&*store, &deps, &d).await;
    let grants = out.inspection.and_then(|i| i.grants).expect("read");
    assert!(grants.is_admin(), "{grants:?}");
    assert_eq!(out.assessment.disposition, Disposition::Auto);
    // An "admins" group with nothing in it grants nothing.
    let empty = unique("admins");
    iam.create_group()
        .group_name(&empty)
        .send()
        .await
        .expect("group");
    let d = detection("iam-add-user-to-group-admins", |detail| {
        detail["requestParameters"] = json!({"userName": user, "groupName": empty});
    });
    let out = enrich(&*store, &deps, &d).await;
    assert_eq!(out.assessment.disposition, Disposition::Ignore);
}

#[tokio::test]
async fn a_role_is_read_so_its_sessions_can_be_revoked() {
    let m = moto().await;
    let (store, deps) = deps(&m).await;
    let role = unique("app-deployer");
    cordon_aws::testing::create_workload_role(&m.iam(), &role).await;
    let d = detection("iam-attach-role-policy-administrator-access", |detail| {
        detail["requestParameters"]["roleName"] = json!(role);
    });
    assert_eq!(
        d.principal.as_ref().map(|p| p.kind),
        Some(PrincipalKind::Role)
    );
    let out = enrich(&*store, &deps, &d).await;
    assert_eq!(out.role.map(|r| r.role_name), Some(role));
    assert!(out.assessment.containable, "{:?}", out.assessment);
}

#[tokio::test]
async fn containment_undone_is_contained_again_only_while_an_incident_holds_the_user() {
    use cordon_aws::fakes::FAKE_ACCOUNT;
    use cordon_core::classify::{Home, classify_in, rules};
    use cordon_core::model::{AccountId, IncidentStatus};

    let m = moto().await;
    let (store, deps) = deps(&m).await;
    let user = unique("freed");
    let user_arn = m.create_user(&user).await;
    let home = AccountId::parse(FAKE_ACCOUNT).expect("id");
    let tampered = || {
        let mut event = cordon_aws::testing::fixture("cordon-detach-quarantine-policy");
        event["account"] = json!(FAKE_ACCOUNT);
        event["detail"]["recipientAccountId"] = json!(FAKE_ACCOUNT);
        event["detail"]["eventID"] = json!(unique("detach"));
        event["detail"]["requestParameters"] = json!({
            "userName": user,
            "policyArn": format!("arn:aws:iam::{FAKE_ACCOUNT}:policy/cordon-AutomatedSecurityQuarantine"),
        });
        match classify_in(&event, &Home::new(home.clone()).with_stack("cordon")).expect("valid") {
            Classification::Incident(mut d) => {
                d.incident_id = unique("tamper");
                d
            }
            other => panic!("{other:?}"),
        }
    };

    // Nobody holds the user: a person is told, nothing is contained.
    let d = tampered();
    assert_eq!(d.rule, rules::QUARANTINE_TAMPERED);
    assert_eq!(
        d.principal.as_ref().and_then(|p| p.name.as_deref()),
        Some(user.as_str())
    );
    let out = enrich(&*store, &deps, &d).await;
    assert_ne!(
        out.assessment.disposition,
        Disposition::Auto,
        "{:?}",
        out.assessment
    );

    // A CONTAINED incident about the user (found by its ARN in Cordon's records, whatever
    // the user's tags say): contained again.
    let held = detection("iam-create-user-by-iam-user", |detail| {
        detail["responseElements"]["user"]["userName"] = json!(user);
        detail["responseElements"]["user"]["arn"] = json!(user_arn);
        detail["requestParameters"]["userName"] = json!(user);
    });
    assert_eq!(
        held.principal.as_ref().and_then(|p| p.arn.as_deref()),
        Some(user_arn.as_str())
    );
    open_incident(&*store, &held, json!({})).await;
    store
        .close(
            &held.incident_id,
            IncidentStatus::Contained,
            chrono::Utc::now(),
            None,
            None,
        )
        .await
        .expect("close");
    let d = tampered();
    let out = enrich(&*store, &deps, &d).await;
    assert_eq!(
        out.assessment.disposition,
        Disposition::Auto,
        "{:?}",
        out.assessment
    );
    assert!(
        out.assessment
            .reasons
            .iter()
            .any(|r| r.contains(&held.incident_id)),
        "{:?}",
        out.assessment.reasons
    );
}
