//! Emulator-backed: the audit reads moto's IAM credential report over the real wire
//! protocol (`GenerateCredentialReport`, `GetCredentialReport`) and finds the users this
//! test creates. moto's report has no root row (root is covered by the handler tests with
//! a report as IAM writes it) and is shared by every test using moto, so only this test's
//! users are asserted on.
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cordon_aws::fakes::FakeIncidentExecutions;
use cordon_aws::testing::{Moto, moto, unique};
use cordon_core::audit::AuditSettings;
use cordon_core::classify::rules;
use cordon_core::classify::{Classification, classify};
use cordon_core::incident::incident_id_for_audit;
use cordon_core::model::AccountId;
use cordon_mfa_audit::{Deps, Input, Output, Poll, handle};

const MOTO_ACCOUNT: &str = "123456789012";

fn deps(
    m: &Moto,
    executions: &Arc<FakeIncidentExecutions>,
    settings: AuditSettings,
    clock: cordon_aws::Clock,
) -> Deps {
    Deps {
        reports: Arc::new(m.credential_reports()),
        executions: executions.clone(),
        account: AccountId::parse(MOTO_ACCOUNT).expect("account"),
        region: "us-east-1".into(),
        settings,
        poll: Poll {
            attempts: 5,
            delay: Duration::from_millis(200),
        },
        clock,
    }
}

/// The rule the execution started for `user` raises, if one was started.
fn rule_for(executions: &FakeIncidentExecutions, user: &str, out: &Output) -> Option<String> {
    let id = incident_id_for_audit(user, out.audit_day);
    let input = executions.started().get(&id)?.clone();
    match classify(&input, &AccountId::parse(MOTO_ACCOUNT).expect("account")) {
        Ok(Classification::Incident(d)) => {
            assert_eq!(d.principal.and_then(|p| p.name).as_deref(), Some(user));
            Some(d.rule)
        }
        other => panic!("the finding for {user} is not an incident: {other:?}"),
    }
}

#[tokio::test]
async fn the_audit_reads_motos_credential_report() {
    let m = moto().await;
    // Non-compliant: a console password and no MFA device.
    let console = unique("audit-console");
    m.create_user(&console).await;
    m.create_login_profile(&console, "Audit-test-passw0rd!")
        .await;
    // Compliant: a console password and a virtual MFA device.
    let with_mfa = unique("audit-mfa");
    m.create_user(&with_mfa).await;
    m.create_login_profile(&with_mfa, "Audit-test-passw0rd!")
        .await;
    let device = m
        .iam()
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(&with_mfa)
        .send()
        .await
        .expect("virtual MFA device");
    let serial = device
        .virtual_mfa_device()
        .map(|d| d.serial_number().to_string())
        .expect("serial");
    m.iam()
        .enable_mfa_device()
        .user_name(&with_mfa)
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("enable MFA");
    // Compliant without the key limits: no password, one active access key.
    let keyed = unique("audit-keys");
    m.create_user(&keyed).await;
    m.create_access_key(&keyed).await;

    let executions = Arc::new(FakeIncidentExecutions::new());
    let d = deps(
        &m,
        &executions,
        AuditSettings::default(),
        cordon_aws::system_clock(),
    );
    let out = handle(Input::default(), &d).await.expect("audit");
    assert!(out.users_audited >= 3, "{out:?}");
    assert!(out.mfa_failures >= 1);
    assert_eq!(
        rule_for(&executions, &console, &out).as_deref(),
        Some(rules::AUDIT_MFA_MISSING)
    );
    assert_eq!(rule_for(&executions, &with_mfa, &out), None);
    assert_eq!(rule_for(&executions, &keyed, &out), None);

    // A second run on the same day opens nothing new for them.
    let again = handle(Input::default(), &d).await.expect("again");
    let id = incident_id_for_audit(&console, again.audit_day);
    assert!(again.already_open.contains(&id), "{again:?}");
    assert!(!again.opened.contains(&id));

    // With a 365-day key limit, the audit 400 days from now finds the key too old (and
    // the key never used for longer than 30 days).
    let later = Utc::now() + chrono::Duration::days(400);
    let aged = Arc::new(FakeIncidentExecutions::new());
    let d = deps(
        &m,
        &aged,
        AuditSettings {
            key_max_age_days: Some(365),
            key_max_unused_days: Some(30),
        },
        cordon_aws::fixed_clock(later),
    );
    let out = handle(Input::default(), &d).await.expect("audit");
    assert_eq!(
        rule_for(&aged, &keyed, &out).as_deref(),
        Some(rules::AUDIT_ACCESS_KEY_STALE)
    );
    let id = incident_id_for_audit(&keyed, out.audit_day);
    let finding = &aged.started()[&id]["detail"]["findings"];
    let kinds: Vec<&str> = finding
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["accessKeyTooOld", "accessKeyUnused"], "{finding}");
}
