//! Emulator-backed: enrich reads a real (moto) IAM user.
use std::sync::Arc;

use cordon_aws::IncidentStore;
use cordon_aws::testing::{detection_for, fixture, fixture_detection, moto, open_incident, unique};
use cordon_core::ResponsePolicy;
use cordon_core::model::KeyStatus;
use cordon_enrich::{Deps, Input, handle};

#[tokio::test]
async fn enrich_sees_keys_mfa_and_groups() {
    let m = moto().await;
    let iam = m.iam();
    let user = unique("enriched");
    let group = unique("admins");
    let arn = m.create_user(&user).await;
    m.add_to_new_group(&user, &group).await;
    let key_id = m.create_access_key(&user).await;
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

    let d = detection_for("iam-add-user-to-group-admins", &user, &arn);
    let store = Arc::new(m.incident_store().await);
    open_incident(&*store, &d, fixture("iam-add-user-to-group-admins")).await;
    let deps = Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        policies: Arc::new(m.policy_reader()),
        store: store.clone(),
        policy: Arc::new(ResponsePolicy::default()),
        identities: cordon_aws::identities::Identities::default(),
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
    let mut d = fixture_detection("iam-create-user-by-iam-user");
    d.incident_id = unique("ct");
    if let Some(p) = d.principal.as_mut() {
        p.name = Some(unique("gone"));
    }
    let store = Arc::new(m.incident_store().await);
    open_incident(&*store, &d, serde_json::json!({})).await;
    let deps = Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        policies: Arc::new(m.policy_reader()),
        store,
        policy: Arc::new(ResponsePolicy::default()),
        identities: cordon_aws::identities::Identities::default(),
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
