//! This crate's own fixtures for what the shared corpus does not show
//! (`tests/fixtures/*.json` other than `ugly-*`): trust policies replaced, trails narrowed
//! or redirected, root writes outside IAM, a sign-in without `MFAUsed`, events of another
//! account. Each expectation is written from how CloudTrail records the call, not from
//! what the classifier happens to say.
mod common;

use std::collections::BTreeSet;

use cordon_core::TaskError;
use cordon_core::classify::{Classification, Dismissal, classify, is_other_account, rules};
use cordon_core::model::{AccountId, PrincipalKind};
use cordon_core::{Detection, ResponsePolicy};
use serde_json::{Value, json};

#[derive(Debug)]
enum Expect {
    /// rule, and a text the title contains.
    Incident(&'static str, &'static str),
    /// Judged not an incident; the reason contains this text.
    Judged(&'static str),
    /// Rejected for its account; the field named.
    OtherAccount(&'static str),
}
use Expect::*;

const TABLE: &[(&str, Expect)] = &[
    (
        "iam-update-assume-role-policy-external.json",
        Incident(rules::ROLE_EXTERNAL_TRUST, "ci-deployer"),
    ),
    (
        "iam-update-assume-role-policy-internal.json",
        Judged("no external account"),
    ),
    (
        "cloudtrail-update-trail-single-region.json",
        Incident(rules::TRAIL_WEAKENED, "single-Region"),
    ),
    (
        "cloudtrail-update-trail-new-bucket.json",
        Incident(rules::TRAIL_WEAKENED, "cdn-assets-backup-7731"),
    ),
    (
        "cloudtrail-update-trail-validation-off.json",
        Incident(rules::TRAIL_CHANGED, "validation turned off"),
    ),
    (
        "cloudtrail-update-trail-strengthened.json",
        Judged("keeps every management event recorded"),
    ),
    (
        "cloudtrail-put-event-selectors-management-off.json",
        Incident(
            rules::TRAIL_WEAKENED,
            "management events are no longer recorded",
        ),
    ),
    (
        "cloudtrail-put-event-selectors-write-only.json",
        Incident(rules::TRAIL_WEAKENED, "read-only management events"),
    ),
    (
        "cloudtrail-put-event-selectors-advanced-data-only.json",
        Incident(
            rules::TRAIL_WEAKENED,
            "management events are no longer recorded",
        ),
    ),
    (
        "cloudtrail-put-event-selectors-exclude-kms.json",
        Incident(rules::TRAIL_CHANGED, "kms.amazonaws.com"),
    ),
    (
        "cloudtrail-put-event-selectors-add-data-events.json",
        Judged("keeps every management event recorded"),
    ),
    (
        "root-s3-put-bucket-policy-eu-west-1.json",
        Incident(rules::ROOT_API_CALL, "s3:PutBucketPolicy"),
    ),
    (
        "root-iam-create-policy.json",
        Incident(rules::ROOT_API_CALL, "iam:CreatePolicy"),
    ),
    (
        "root-ec2-describe-instances-read-only.json",
        Judged("read-only"),
    ),
    (
        "signin-console-login-success-mfa-used-missing.json",
        Incident(rules::CONSOLE_LOGIN_NO_MFA, "without MFA"),
    ),
    (
        "iam-create-user-other-account.json",
        OtherAccount("account"),
    ),
    (
        "iam-create-user-recipient-other-account.json",
        OtherAccount("detail.recipientAccountId"),
    ),
];

fn own(name: &str) -> Value {
    common::load(&common::own_fixtures_dir().join(name))
}

fn incident(raw: &Value) -> Detection {
    match classify(raw, &common::home()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("expected an incident, got {other:?}"),
    }
}

#[test]
fn own_fixtures_match_their_expectations() {
    let files: BTreeSet<String> = common::json_files(&common::own_fixtures_dir())
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with("ugly-"))
        .collect();
    // The escalation and tamper fixtures have their expectations in
    // tests/escalation_and_tampering.rs (they need the stack's name); the rest are here.
    let elsewhere = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/escalation_and_tampering.rs"),
    )
    .expect("tests/escalation_and_tampering.rs");
    let files: BTreeSet<String> = files
        .into_iter()
        .filter(|f| !elsewhere.contains(&format!("\"{}", f.trim_end_matches(".json"))))
        .collect();
    let listed: BTreeSet<String> = TABLE.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(files, listed, "tests/fixtures and the table differ");
    let mut failures = Vec::new();
    for (file, expect) in TABLE {
        let got = classify(&own(file), &common::home());
        let ok = match (expect, &got) {
            (Incident(rule, text), Ok(Classification::Incident(d))) => {
                d.rule == *rule && d.title.contains(text)
            }
            (
                Judged(text),
                Ok(Classification::NotAnIncident {
                    reason,
                    dismissal: Dismissal::Judged,
                }),
            ) => reason.contains(text),
            (OtherAccount(field), Err(e @ TaskError::InvalidEvent { field: f, .. })) => {
                f == field && is_other_account(e)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn another_accounts_event_is_rejected_with_the_reason() {
    let e = classify(&own("iam-create-user-other-account.json"), &common::home())
        .expect_err("rejected");
    let text = e.to_string();
    assert!(text.contains("444455556666"), "{text}");
    assert!(text.contains("home account 111122223333"), "{text}");
    assert_eq!(e.error_name(), cordon_core::names::INVALID_EVENT);
    // The same event is this account's event for a stack in 444455556666.
    let theirs = AccountId::parse("444455556666").expect("valid");
    let d = match classify(&own("iam-create-user-other-account.json"), &theirs) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.account, "444455556666");
    // Every readable shared fixture is rejected by a stack of another account: nothing
    // slips through because it is not a CloudTrail record or is scheduled. A malformed
    // one is rejected as malformed first.
    for path in common::json_files(&common::shared_fixtures_dir()) {
        let raw = common::load(&path);
        let readable = classify(&raw, &common::home()).is_ok();
        match classify(&raw, &theirs) {
            Err(e) if is_other_account(&e) || !readable => {}
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    // An event that names no account cannot be placed.
    let mut raw = common::shared("iam-create-user-by-iam-user.json");
    raw.as_object_mut().map(|o| o.remove("account"));
    let e = classify(&raw, &common::home()).expect_err("no account");
    assert!(is_other_account(&e), "{e}");
    // A malformed record is not an account rejection.
    let e = classify(
        &common::shared("malformed-missing-user-identity.json"),
        &common::home(),
    )
    .expect_err("malformed");
    assert!(!is_other_account(&e), "{e}");
}

#[test]
fn a_sign_in_without_mfa_used_is_a_sign_in_without_mfa() {
    let d = incident(&own("signin-console-login-success-mfa-used-missing.json"));
    assert_eq!(d.evidence["mfaUsed"], false);
    assert_eq!(d.region, "eu-north-1");
    // With an MFAIdentifier but no MFAUsed, the device shows MFA was used.
    let mut raw = own("signin-console-login-success-mfa-used-missing.json");
    raw["detail"]["additionalEventData"]["MFAIdentifier"] =
        json!("arn:aws:iam::111122223333:mfa/dev-intern");
    assert!(matches!(
        classify(&raw, &common::home()),
        Ok(Classification::NotAnIncident { .. })
    ));
    // MFAUsed decides when present, whatever the case; anything but yes is no MFA.
    for (value, mfa) in [
        (json!("Yes"), true),
        (json!("YES"), true),
        (json!("No"), false),
        (json!(""), false),
        (json!("maybe"), false),
        (Value::Null, true),
    ] {
        raw["detail"]["additionalEventData"]["MFAUsed"] = value.clone();
        let got = classify(&raw, &common::home());
        assert_eq!(
            matches!(got, Ok(Classification::NotAnIncident { .. })),
            mfa,
            "MFAUsed {value}: {got:?}"
        );
    }
    // The root sign-in without MFAUsed is the critical one.
    let mut root = common::shared("signin-console-login-root-success-no-mfa.json");
    root["detail"]["additionalEventData"]
        .as_object_mut()
        .map(|o| o.remove("MFAUsed"));
    let d = incident(&root);
    assert!(d.title.contains("WITHOUT MFA"), "{}", d.title);
}

#[test]
fn trail_findings_are_evidence_and_unreadable_selectors_are_uncertain() {
    let d = incident(&own("cloudtrail-put-event-selectors-management-off.json"));
    assert_eq!(d.evidence["managementWritesRecorded"], false);
    assert_eq!(d.evidence["managementReadsRecorded"], false);
    assert_eq!(d.evidence["trail"], "org-management-events");
    assert_eq!(
        d.principal.as_ref().map(|p| p.kind),
        Some(PrincipalKind::IamUser)
    );
    assert_eq!(
        d.principal.as_ref().and_then(|p| p.name.as_deref()),
        Some("jdoe"),
        "the trail is no principal: the actor is contained"
    );
    let policy = ResponsePolicy::default();
    let a = policy.assess(&d, None, &cordon_core::policy::TrustedIds::none());
    assert_eq!(a.severity, cordon_core::model::Severity::Critical);

    let mut raw = own("cloudtrail-put-event-selectors-management-off.json");
    raw["detail"]["requestParameters"]["eventSelectors"] = json!("garbled");
    let d = incident(&raw);
    assert_eq!(d.rule, rules::TRAIL_WEAKENED);
    assert_eq!(d.evidence["trailSettingsParsed"], false);
    let auto: ResponsePolicy = ResponsePolicy::from_json(
        r#"{"rules": {"cloudtrail.trail-weakened": {"disposition": "auto"}}}"#,
    )
    .expect("policy");
    assert_eq!(
        auto.assess(&d, None, &cordon_core::policy::TrustedIds::none())
            .disposition,
        cordon_core::model::Disposition::Approve,
        "an unreadable request is never contained automatically"
    );

    let d = incident(&own("cloudtrail-update-trail-single-region.json"));
    assert_eq!(
        d.evidence["findings"][0],
        "made single-Region: events in every other Region are no longer recorded"
    );
    // High by default; this one is critical because jdoe's CLI runs on Kali.
    assert_eq!(
        policy.rule_response(rules::TRAIL_CHANGED).severity,
        cordon_core::model::Severity::High
    );
    let changed = incident(&own("cloudtrail-update-trail-validation-off.json"));
    let a = policy.assess(&changed, None, &cordon_core::policy::TrustedIds::none());
    assert_eq!(a.severity, cordon_core::model::Severity::Critical);
    assert!(
        a.reasons.iter().any(|r| r.contains("user agent")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn root_writes_in_any_service_are_root_api_calls_and_root_is_never_contained() {
    let d = incident(&own("root-s3-put-bucket-policy-eu-west-1.json"));
    assert!(d.root_activity);
    assert_eq!(d.region, "eu-west-1");
    assert_eq!(
        d.principal.as_ref().map(|p| p.kind),
        Some(PrincipalKind::Root)
    );
    let a = ResponsePolicy::default().assess(&d, None, &cordon_core::policy::TrustedIds::none());
    assert_eq!(a.severity, cordon_core::model::Severity::Critical);
    assert_eq!(a.disposition, cordon_core::model::Disposition::Notify);
    // A failed root write changed nothing: judged, not an incident.
    let mut failed = own("root-s3-put-bucket-policy-eu-west-1.json");
    failed["detail"]["errorCode"] = json!("AccessDenied");
    failed["detail"]["errorMessage"] = json!("Access Denied");
    assert!(matches!(
        classify(&failed, &common::home()),
        Ok(Classification::NotAnIncident {
            dismissal: Dismissal::Judged,
            ..
        })
    ));
    // The same write by anyone else has no rule.
    let mut user = own("root-s3-put-bucket-policy-eu-west-1.json");
    user["detail"]["userIdentity"] =
        common::shared("iam-create-user-by-iam-user.json")["detail"]["userIdentity"].clone();
    assert!(
        classify(&user, &common::home())
            .expect("classified")
            .is_no_rule()
    );
}
