//! This crate's own hostile/edge fixtures (`tests/fixtures/ugly-*.json`).
mod common;

use std::collections::BTreeSet;

use cordon_core::TaskError;
use cordon_core::classify::{Classification, classify, rules};

#[derive(Debug)]
enum Expect {
    Incident(&'static str),
    No(&'static str),
    /// field, text in the reason
    Reject(&'static str, &'static str),
}
use Expect::*;

const TABLE: &[(&str, Expect)] = &[
    (
        "ugly-detail-null.json",
        Reject("detail", "must be a JSON object, got null"),
    ),
    (
        "ugly-user-identity-not-object.json",
        Reject("detail.userIdentity", "got a string"),
    ),
    (
        "ugly-event-time-not-a-date.json",
        Reject("detail.eventTime", "ISO 8601"),
    ),
    ("ugly-huge-strings.json", Incident(rules::USER_CREATED)),
    (
        "ugly-create-user-no-response-elements.json",
        Incident(rules::USER_CREATED),
    ),
    (
        "ugly-create-user-no-user-name.json",
        Reject("detail.requestParameters.userName", "is missing"),
    ),
    (
        "ugly-missing-event-id.json",
        Reject("detail.eventID", "is missing"),
    ),
    ("ugly-signin-mfa-used-uppercase.json", No("with MFA")),
    (
        "ugly-root-signin-mfa-uppercase.json",
        Incident(rules::ROOT_CONSOLE_LOGIN),
    ),
    ("ugly-top-level-array.json", Reject("$", "got an array")),
    (
        "ugly-not-cloudtrail-guardduty.json",
        No("not a CloudTrail event"),
    ),
    (
        "ugly-create-role-service-trust.json",
        No("no external account"),
    ),
    (
        "ugly-create-role-url-encoded-only.json",
        Incident(rules::ROLE_EXTERNAL_TRUST),
    ),
    (
        "ugly-put-user-policy-not-admin.json",
        No("does not grant administrator"),
    ),
    (
        "ugly-put-user-policy-garbled.json",
        Incident(rules::INLINE_ADMIN_POLICY),
    ),
    (
        "ugly-create-user-response-elements-string.json",
        Incident(rules::USER_CREATED),
    ),
    (
        "ugly-user-identity-empty.json",
        Incident(rules::USER_CREATED),
    ),
    (
        "ugly-create-user-name-number.json",
        Reject(
            "detail.requestParameters.userName",
            "must be a string, got a number",
        ),
    ),
    (
        "ugly-create-user-name-newline.json",
        Reject("detail.requestParameters.userName", "U+000A"),
    ),
];

#[test]
fn own_fixtures_match_their_expectations() {
    let dir = common::own_fixtures_dir();
    let files: BTreeSet<String> = common::json_files(&dir)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("ugly-"))
        .collect();
    let listed: BTreeSet<String> = TABLE.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(files, listed, "tests/fixtures/ugly-* and the table differ");

    let mut failures = Vec::new();
    for (file, expect) in TABLE {
        let got = classify(&common::load(&dir.join(file)), &common::home());
        let ok = match (expect, &got) {
            (Incident(rule), Ok(Classification::Incident(d))) => d.rule == *rule,
            (No(text), Ok(Classification::NotAnIncident { reason, .. })) => reason.contains(text),
            (Reject(field, text), Err(TaskError::InvalidEvent { field: f, reason })) => {
                f == field && reason.contains(text)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn detection(file: &str) -> cordon_core::Detection {
    match classify(
        &common::load(&common::own_fixtures_dir().join(file)),
        &common::home(),
    ) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn huge_event_id_is_hashed_into_a_valid_execution_name() {
    let d = detection("ugly-huge-strings.json");
    assert!(d.incident_id.starts_with("ct-h-"), "{}", d.incident_id);
    assert!(d.incident_id.len() <= 80);
}

#[test]
fn create_user_without_response_uses_the_request_name_and_no_arn() {
    for file in [
        "ugly-create-user-no-response-elements.json",
        "ugly-create-user-response-elements-string.json",
    ] {
        let d = detection(file);
        let p = d.principal.as_ref();
        assert_eq!(p.and_then(|p| p.name.as_deref()), Some("support-admin"));
        assert_eq!(
            p.and_then(|p| p.arn.as_deref()),
            None,
            "never built from the name"
        );
    }
}

#[test]
fn uncertain_detections_are_marked() {
    let d = detection("ugly-put-user-policy-garbled.json");
    assert_eq!(d.evidence["adminPolicyConfirmed"], false);
    let a = cordon_core::ResponsePolicy::default().assess(
        &d,
        None,
        &cordon_core::policy::TrustedIds::none(),
    );
    assert_eq!(a.disposition, cordon_core::model::Disposition::Approve);
    let d = detection("ugly-create-role-url-encoded-only.json");
    assert_eq!(
        d.evidence["externalPrincipals"][0],
        "arn:aws:iam::444455556666:root"
    );
}
