//! Handler tests with the in-memory fakes: the report's life cycle (in progress,
//! expired, the generation limit, throttling), the findings, the executions (one per user
//! per day) and the EMF line, validated against the Embedded Metric Format specification.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use cordon_aws::credential_report::{Fetched, Generation};
use cordon_aws::fakes::{FakeCredentialReports, FakeIncidentExecutions};
use cordon_core::audit::AuditSettings;
use cordon_core::classify::rules;
use cordon_core::classify::{Classification, classify};
use cordon_core::model::{AccountId, PrincipalKind};
use cordon_core::{TaskError, names};
use cordon_mfa_audit::{Config, Deps, Input, Poll, handle};
use serde_json::Value;

const ACCOUNT: &str = "111122223333";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 6, 0, 0)
        .single()
        .expect("valid time")
}

/// A report as IAM writes it: the root row first (`not_supported` password), CRLF line
/// ends, a quoted field. carol signs in without MFA; dave has MFA; erin has no password
/// and a key rotated 2023-01-02 and last used 2024-03-01; the root user has no MFA.
const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\r\n\
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2024-09-01T10:00:00+00:00,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n\
carol,arn:aws:iam::111122223333:user/carol,2022-05-01T00:00:00+00:00,true,2024-09-26T08:00:00+00:00,2022-05-01T00:00:00+00:00,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n\
dave,arn:aws:iam::111122223333:user/dave,2022-05-01T00:00:00+00:00,true,2024-09-26T08:00:00+00:00,2022-05-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n\
erin,\"arn:aws:iam::111122223333:user/erin\",2022-05-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2023-01-02T00:00:00+00:00,2024-03-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n";

struct World {
    reports: Arc<FakeCredentialReports>,
    executions: Arc<FakeIncidentExecutions>,
    deps: Deps,
}

fn world(reports: FakeCredentialReports, settings: AuditSettings) -> World {
    let reports = Arc::new(reports);
    let executions = Arc::new(FakeIncidentExecutions::new());
    let deps = Deps {
        reports: reports.clone(),
        executions: executions.clone(),
        account: AccountId::parse(ACCOUNT).expect("account"),
        region: "eu-west-1".into(),
        settings,
        poll: Poll {
            attempts: 3,
            delay: Duration::from_millis(1),
        },
        clock: cordon_aws::fixed_clock(now()),
    };
    World {
        reports,
        executions,
        deps,
    }
}

fn generated() -> Option<DateTime<Utc>> {
    Some(now() - chrono::Duration::minutes(3))
}

fn report() -> Fetched {
    Fetched::Report {
        csv: REPORT.into(),
        generated_at: generated(),
    }
}

/// The line is valid Embedded Metric Format (the specification's rules, as
/// `cordon_core::metrics::validate` checks them for every line Cordon emits), one line, and
/// stamped with the audit's time.
fn assert_valid_emf(doc: &Value) {
    let line = doc.to_string();
    assert!(!line.contains('\n'));
    cordon_core::metrics::validate(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(
        doc["_aws"]["Timestamp"].as_i64(),
        Some(now().timestamp_millis()),
        "Timestamp in epoch milliseconds"
    );
}

fn metric(out: &cordon_mfa_audit::Output, name: &str) -> u64 {
    out.metrics[name]
        .as_u64()
        .unwrap_or_else(|| panic!("metric {name}"))
}

#[tokio::test]
async fn non_compliant_users_and_root_open_one_incident_each_through_the_workflow() {
    let w = world(
        FakeCredentialReports::scripted(vec![Ok(Generation::Complete)], vec![Ok(report())]),
        AuditSettings::default(),
    );
    let out = handle(Input::default(), &w.deps).await.expect("audit");
    assert_eq!(out.users_audited, 4);
    assert_eq!(out.non_compliant, 2, "{out:?}");
    assert_eq!(out.mfa_failures, 2);
    assert_eq!(out.report_generated_at, generated().expect("set"));
    assert_eq!(out.opened.len(), 2);
    assert!(out.already_open.is_empty());
    assert_valid_emf(&out.metrics);
    assert_eq!(
        out.metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "SecurityAudit"
    );
    assert_eq!(metric(&out, "MFAFailures"), 2);
    assert_eq!(metric(&out, "ConsoleUsersWithoutMFA"), 1);
    assert_eq!(metric(&out, "RootWithoutMFA"), 1);
    assert_eq!(metric(&out, "AccessKeysTooOld"), 0);

    // Each execution is named by its incident id, and its input is the finding the
    // workflow's OpenIncident classifies.
    let home = AccountId::parse(ACCOUNT).expect("account");
    let started = w.executions.started();
    let mut seen = Vec::new();
    for (name, input) in &started {
        assert!(name.starts_with("mfa-20240927-"), "{name}");
        assert!(
            name.len() <= 80,
            "Step Functions names are at most 80 characters"
        );
        let Ok(Classification::Incident(d)) = classify(input, &home) else {
            panic!("the finding is not an incident: {input}");
        };
        assert_eq!(&d.incident_id, name);
        assert_eq!(d.region, "eu-west-1");
        seen.push((d.rule.clone(), d.principal.map(|p| p.kind)));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (
                rules::AUDIT_MFA_MISSING.to_string(),
                Some(PrincipalKind::IamUser)
            ),
            (
                rules::AUDIT_ROOT_MFA_MISSING.to_string(),
                Some(PrincipalKind::Root)
            ),
        ]
    );

    // A second run the same day opens nothing new.
    let again = handle(Input::default(), &w.deps).await.expect("again");
    assert!(again.opened.is_empty(), "{again:?}");
    assert_eq!(again.already_open.len(), 2);
    assert_eq!(w.executions.started().len(), 2);
}

#[tokio::test]
async fn key_limits_are_applied_only_when_the_policy_sets_them() {
    let w = world(
        FakeCredentialReports::ready(REPORT),
        AuditSettings {
            key_max_age_days: Some(365),
            key_max_unused_days: Some(90),
        },
    );
    let out = handle(Input::default(), &w.deps).await.expect("audit");
    // erin: a key 634 days old, unused for 210 days; she is not an MFA failure.
    assert_eq!(out.non_compliant, 3);
    assert_eq!(out.mfa_failures, 2);
    assert_eq!(metric(&out, "AccessKeysTooOld"), 1);
    assert_eq!(metric(&out, "AccessKeysUnused"), 1);
    let home = AccountId::parse(ACCOUNT).expect("account");
    let rules: Vec<String> = w
        .executions
        .started()
        .values()
        .filter_map(|input| match classify(input, &home) {
            Ok(Classification::Incident(d)) => Some(d.rule),
            _ => None,
        })
        .collect();
    assert!(
        rules.contains(&rules::AUDIT_ACCESS_KEY_STALE.to_string()),
        "{rules:?}"
    );
}

#[tokio::test]
async fn a_report_in_progress_is_polled_until_it_is_ready() {
    let w = world(
        FakeCredentialReports::scripted(
            vec![Ok(Generation::Started)],
            vec![
                Ok(Fetched::InProgress),
                Ok(Fetched::InProgress),
                Ok(report()),
            ],
        ),
        AuditSettings::default(),
    );
    let out = handle(Input::default(), &w.deps).await.expect("audit");
    assert_eq!(out.users_audited, 4);
    assert_eq!(w.reports.count("iam:GetCredentialReport"), 3);
    assert_eq!(w.reports.count("iam:GenerateCredentialReport"), 1);
}

#[tokio::test]
async fn a_report_that_never_finishes_is_transient_and_opens_nothing() {
    let w = world(
        FakeCredentialReports::scripted(
            vec![Ok(Generation::Started)],
            vec![Ok(Fetched::InProgress)],
        ),
        AuditSettings::default(),
    );
    let err = handle(Input::default(), &w.deps)
        .await
        .expect_err("in progress");
    assert_eq!(err.error_name(), names::TRANSIENT);
    assert!(err.to_string().contains("ReportInProgress"), "{err}");
    // The first fetch and `attempts` more.
    assert_eq!(w.reports.count("iam:GetCredentialReport"), 4);
    assert!(w.executions.started().is_empty());
}

#[tokio::test]
async fn an_expired_report_is_generated_again_once() {
    let w = world(
        FakeCredentialReports::scripted(
            vec![Ok(Generation::Complete), Ok(Generation::Started)],
            vec![Ok(Fetched::Expired), Ok(report())],
        ),
        AuditSettings::default(),
    );
    handle(Input::default(), &w.deps).await.expect("audit");
    assert_eq!(w.reports.count("iam:GenerateCredentialReport"), 2);

    let w = world(
        FakeCredentialReports::scripted(
            vec![Ok(Generation::Started)],
            vec![Ok(Fetched::NotPresent)],
        ),
        AuditSettings::default(),
    );
    let err = handle(Input::default(), &w.deps)
        .await
        .expect_err("never there");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(w.reports.count("iam:GenerateCredentialReport"), 2);
}

#[tokio::test]
async fn the_generation_limit_falls_back_to_the_last_report() {
    let w = world(
        FakeCredentialReports::scripted(vec![Ok(Generation::Limited)], vec![Ok(report())]),
        AuditSettings::default(),
    );
    let out = handle(Input::default(), &w.deps)
        .await
        .expect("the last report");
    assert_eq!(out.opened.len(), 2);

    let w = world(
        FakeCredentialReports::scripted(vec![Ok(Generation::Limited)], vec![Ok(Fetched::Expired)]),
        AuditSettings::default(),
    );
    let err = handle(Input::default(), &w.deps)
        .await
        .expect_err("nothing to read");
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("LimitExceeded"), "{err}");
    assert_eq!(w.reports.count("iam:GenerateCredentialReport"), 1);
}

#[tokio::test]
async fn throttling_is_transient_and_an_unreadable_report_is_an_error() {
    let w = world(
        FakeCredentialReports::ready(REPORT),
        AuditSettings::default(),
    );
    w.reports.fail_on(
        "iam:GenerateCredentialReport",
        TaskError::transient("iam:GenerateCredentialReport", "Throttling: Rate exceeded"),
    );
    let err = handle(Input::default(), &w.deps)
        .await
        .expect_err("throttled");
    assert_eq!(err.error_name(), names::TRANSIENT);

    let w = world(
        FakeCredentialReports::ready(
            "user,arn,password_enabled\nbob,arn:aws:iam::111122223333:user/bob,true\n",
        ),
        AuditSettings::default(),
    );
    let err = handle(Input::default(), &w.deps)
        .await
        .expect_err("no mfa_active column");
    assert!(err.to_string().contains("mfa_active"), "{err}");
    assert!(w.executions.started().is_empty());
}

#[tokio::test]
async fn a_bad_row_is_skipped_and_the_others_are_audited() {
    let broken = format!("{REPORT}mallory,not-an-arn\r\n");
    let w = world(
        FakeCredentialReports::ready(&broken),
        AuditSettings::default(),
    );
    let out = handle(Input::default(), &w.deps).await.expect("audit");
    assert_eq!(out.users_audited, 4);
    assert_eq!(out.unreadable_rows.len(), 1, "{out:?}");
    assert_eq!(out.opened.len(), 2);
}

#[test]
fn config_reads_the_state_machine_account_and_key_limits() {
    let env = |name: &str| match name {
        "CORDON_STATE_MACHINE_ARN" => {
            Some("arn:aws:states:eu-west-1:111122223333:stateMachine:cordon-incidents".into())
        }
        "CORDON_ACCOUNT_ID" => Some(ACCOUNT.into()),
        "CORDON_RESPONSE_POLICY" => Some(r#"{"audit_key_max_age_days": 90}"#.into()),
        _ => None,
    };
    let c = Config::from_lookup(&env).expect("config");
    assert_eq!(c.region, "eu-west-1");
    assert_eq!(c.settings.key_max_age_days, Some(90));
    assert_eq!(c.settings.key_max_unused_days, None);

    let bad = |name: &str| match name {
        "CORDON_STATE_MACHINE_ARN" => Some("cordon-incidents".into()),
        _ => env(name),
    };
    let err = Config::from_lookup(&bad).expect_err("not an ARN");
    assert_eq!(err.error_name(), names::CONFIG);
    let none = |name: &str| match name {
        "CORDON_ACCOUNT_ID" => None,
        _ => env(name),
    };
    assert!(Config::from_lookup(&none).is_err());
}
