//! Emulator-backed: enrich reads a real (moto) IAM user.
use std::sync::Arc;

use chrono::Utc;
use cordon_aws::IamIdentityStore;
use cordon_aws::store::{IncidentStore, NewIncident};
use cordon_aws::testing::{fixture, moto, unique};
use cordon_core::model::{IncidentStatus, KeyStatus, Principal, PrincipalKind};
use cordon_core::{Classification, ResponsePolicy, classify};
use cordon_enrich::{Deps, Input, handle};

#[tokio::test]
async fn enrich_sees_keys_mfa_and_groups() {
    let m = moto().await;
    let iam = m.iam();
    let user = unique("enriched");
    let group = unique("admins");
    let arn = m.create_user(&user).await;
    iam.create_group()
        .group_name(&group)
        .send()
        .await
        .expect("group");
    iam.add_user_to_group()
        .group_name(&group)
        .user_name(&user)
        .send()
        .await
        .expect("membership");
    let key_id = iam
        .create_access_key()
        .user_name(&user)
        .send()
        .await
        .expect("key")
        .access_key()
        .map(|k| k.access_key_id().to_string())
        .expect("key id");
    let serial = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(unique("mfa"))
        .send()
        .await
        .expect("virtual MFA")
        .virtual_mfa_device()
        .map(|d| d.serial_number().to_string())
        .expect("serial");
    iam.enable_mfa_device()
        .user_name(&user)
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("enable MFA");

    let mut d = match classify(&fixture("iam-add-user-to-group-admins")) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("fixture should be an incident: {other:?}"),
    };
    d.incident_id = unique("ct");
    d.principal = Some(Principal {
        kind: PrincipalKind::IamUser,
        name: Some(user.clone()),
        arn: Some(arn.clone()),
        account_id: Some("123456789012".into()),
        principal_id: None,
    });

    let store = Arc::new(m.incident_store().await);
    store
        .open(&NewIncident {
            incident_id: d.incident_id.clone(),
            status: IncidentStatus::Open,
            opened_at: Utc::now(),
            rule: Some(d.rule.clone()),
            title: Some(d.title.clone()),
            principal: d.principal.clone(),
            actor: Some(d.actor.clone()),
            event: fixture("iam-add-user-to-group-admins"),
            detection: None,
            error: None,
            execution_arn: None,
        })
        .await
        .expect("open");
    let deps = Deps {
        identity: Arc::new(IamIdentityStore::new(iam.clone())),
        store: store.clone(),
        policy: Arc::new(ResponsePolicy::default()),
        own_role_arns: vec![],
        clock: cordon_aws::system_clock(),
    };

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
    let facts = out.facts.expect("facts");
    assert_eq!(facts.arn, arn);
    assert_eq!(facts.groups, vec![group]);
    assert_eq!(facts.access_keys.len(), 1);
    assert_eq!(facts.access_keys[0].id, key_id);
    assert_eq!(facts.access_keys[0].status, KeyStatus::Active);
    assert_eq!(facts.mfa_devices, vec![serial]);
    assert!(!facts.login_profile);

    let rec = store
        .get(&d.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert_eq!(rec.severity, Some(out.assessment.severity));
    assert_eq!(rec.disposition, Some(out.assessment.disposition));
}

#[tokio::test]
async fn a_deleted_user_is_assessed_without_facts() {
    let m = moto().await;
    let mut d = match classify(&fixture("iam-create-user-by-iam-user")) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("fixture should be an incident: {other:?}"),
    };
    d.incident_id = unique("ct");
    if let Some(p) = d.principal.as_mut() {
        p.name = Some(unique("gone"));
    }
    let store = Arc::new(m.incident_store().await);
    store
        .open(&NewIncident {
            incident_id: d.incident_id.clone(),
            status: IncidentStatus::Open,
            opened_at: Utc::now(),
            rule: None,
            title: None,
            principal: None,
            actor: None,
            event: serde_json::json!({}),
            detection: None,
            error: None,
            execution_arn: None,
        })
        .await
        .expect("open");
    let deps = Deps {
        identity: Arc::new(IamIdentityStore::new(m.iam())),
        store,
        policy: Arc::new(ResponsePolicy::default()),
        own_role_arns: vec![],
        clock: cordon_aws::system_clock(),
    };
    let out = handle(
        Input {
            incident_id: d.incident_id.clone(),
            detection: d,
        },
        &deps,
    )
    .await
    .expect("a missing user is not an error");
    assert!(!out.principal_exists);
    assert!(out.facts.is_none());
}
