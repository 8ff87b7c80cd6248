//! The real `infra/template.yaml` against every fixture event in
//! `../shared/fixtures/events` (override with `CORDON_FIXTURES_DIR`).
//!
//! The expectations below are written from the fixture README's
//! classification table, not from what the template happens to do: if the
//! template changes in a way that breaks them, fix the template or argue the
//! README, don't edit this table to fit.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cordon_eventbridge::{Rule, route};
use serde_json::Value;

/// The README's "Incident" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Incident {
    Yes,
    No,
    Reject,
}
use Incident::{No, Reject, Yes};

const IAM: &str = "IamChangeRule";
const SIGNIN: &str = "ConsoleSignInRule";
const TRAIL: &str = "CloudTrailTamperingRule";

/// (fixture, README classification, rules that must match — exactly).
///
/// Rules are coarser than the detection engine: EventBridge cannot compare
/// two fields of one event or see earlier deliveries, so some `No` and
/// `Reject` events are still routed and the engine decides. Those rows say so.
const EXPECTED: &[(&str, Incident, &[&str])] = &[
    // CreateUser and friends
    ("iam-create-user-by-iam-user.json", Yes, &[IAM]),
    ("iam-create-user-by-assumed-role-ci.json", Yes, &[IAM]),
    ("iam-create-user-by-root.json", Yes, &[IAM]),
    ("iam-create-user-access-denied.json", No, &[]),
    ("iam-create-user-with-path-and-tags.json", Yes, &[IAM]),
    ("edge-create-user-username-64-chars.json", Yes, &[IAM]),
    (
        "edge-create-user-username-allowed-symbols.json",
        Yes,
        &[IAM],
    ),
    ("edge-create-user-non-iso-create-date.json", Yes, &[IAM]),
    ("duplicate-create-user-delivery-1.json", Yes, &[IAM]),
    // Same eventID redelivered: EventBridge routes it again; Open dedupes.
    ("duplicate-create-user-delivery-2.json", No, &[IAM]),
    // Other IAM changes
    ("iam-create-access-key-for-other-user.json", Yes, &[IAM]),
    // Self-service rotation: a pattern cannot compare requestParameters.userName
    // with userIdentity.userName, so the rule routes it and the engine ignores it.
    ("iam-create-access-key-self.json", No, &[IAM]),
    ("iam-create-login-profile.json", Yes, &[IAM]),
    ("iam-update-login-profile.json", Yes, &[IAM]),
    (
        "iam-attach-user-policy-administrator-access.json",
        Yes,
        &[IAM],
    ),
    ("iam-put-user-policy-inline-admin.json", Yes, &[IAM]),
    ("iam-add-user-to-group-admins.json", Yes, &[IAM]),
    ("iam-deactivate-mfa-device.json", Yes, &[IAM]),
    ("iam-delete-user.json", Yes, &[IAM]),
    ("iam-create-role-external-trust.json", Yes, &[IAM]),
    ("cloudtrail-stop-logging.json", Yes, &[TRAIL]),
    // Console sign-in
    (
        "signin-console-login-failure-iam-user-no-mfa.json",
        Yes,
        &[SIGNIN],
    ),
    (
        "signin-console-login-failure-wrong-username.json",
        Yes,
        &[SIGNIN],
    ),
    ("signin-console-login-success-no-mfa.json", Yes, &[SIGNIN]),
    // A sign-in with MFA is no incident by itself, but it is one right after a burst of
    // failed sign-ins from its IP or for its user, which only the failure counter (in the
    // engine) knows: the rule routes every IAM-user sign-in and the engine decides.
    ("signin-console-login-success-mfa.json", No, &[SIGNIN]),
    (
        "signin-console-login-root-success-no-mfa.json",
        Yes,
        &[SIGNIN],
    ),
    ("signin-console-login-root-success-mfa.json", Yes, &[SIGNIN]),
    ("signin-console-login-root-failure.json", Yes, &[SIGNIN]),
    ("signin-console-login-saml-federated.json", No, &[]),
    ("signin-console-login-sso-identity-center.json", No, &[]),
    ("signin-check-mfa.json", No, &[]),
    ("signin-credential-verification-failure.json", No, &[]),
    // Noise
    ("unrelated-s3-put-object-data-event.json", No, &[]),
    // Delivered by a schedule rule, not by pattern matching.
    ("scheduled-daily-audit-trigger.json", No, &[]),
    // Malformed. Without `detail` no pattern on `detail.*` can match, so these
    // two never reach Cordon on AWS; the rest are routed and the engine
    // rejects them (Cordon.InvalidEvent).
    ("malformed-missing-detail.json", Reject, &[]),
    ("malformed-detail-not-object.json", Reject, &[]),
    ("malformed-missing-user-identity.json", Reject, &[IAM]),
    (
        "malformed-create-user-username-65-chars.json",
        Reject,
        &[IAM],
    ),
    (
        "malformed-create-user-username-unicode.json",
        Reject,
        &[IAM],
    ),
];

/// Incidents the rules deliberately leave to another path. None today.
const DELIBERATELY_UNMATCHED_INCIDENTS: &[&str] = &[];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template_path() -> PathBuf {
    manifest_dir().join("../../infra/template.yaml")
}

fn fixtures_dir() -> PathBuf {
    let dir = std::env::var_os("CORDON_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../../../shared/fixtures/events"));
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing: set CORDON_FIXTURES_DIR to the shared \
         fixtures/events folder (this test never passes by skipping)",
        dir.display()
    );
    dir
}

/// The rules as a stack in the fixtures' home account deploys them (its README:
/// `111122223333`).
fn rules() -> Vec<Rule> {
    let path = template_path();
    let template = cordon_template::Template::load(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let values = cordon_template::Values::new("111122223333", "us-east-1", "aws", "cordon")
        .with_parameters(template.parameters(), &Default::default())
        .unwrap_or_else(|e| panic!("parameters: {e}"));
    match cordon_eventbridge::Rules::from_template(&template, &values).map(|r| r.rules) {
        Ok(rules) => rules,
        Err(e) => panic!("cannot load rules from {}: {e}", path.display()),
    }
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

fn matched(rules: &[Rule], event: &Value) -> BTreeSet<String> {
    route(rules, event)
        .into_iter()
        .map(|r| r.logical_id.clone())
        .collect()
}

#[test]
fn template_rules_load_and_reference_rules_exist() {
    let rules = rules();
    let ids: BTreeSet<&str> = rules.iter().map(|r| r.logical_id.as_str()).collect();
    for expected in [IAM, SIGNIN, TRAIL] {
        assert!(
            ids.contains(expected),
            "rule {expected} not in template; have {ids:?}"
        );
    }
    assert!(
        rules.iter().all(Rule::is_enabled),
        "a rule is disabled: {rules:#?}"
    );
}

#[test]
fn every_fixture_is_listed() {
    let dir = fixtures_dir();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    let unlisted: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "fixtures without an expectation: {unlisted:?}; expectations without a fixture: {missing:?}"
    );
}

#[test]
fn template_rules_route_fixtures_as_the_readme_expects() {
    let rules = rules();
    let mut failures = Vec::new();
    for (name, _, expected) in EXPECTED {
        let got = matched(&rules, &fixture(name));
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            failures.push(format!("{name}: matched {got:?}, expected {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) routed wrongly by infra/template.yaml:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_incident_is_caught_by_a_rule() {
    let rules = rules();
    let missed: Vec<&str> = EXPECTED
        .iter()
        .filter(|(name, incident, _)| {
            *incident == Yes
                && !DELIBERATELY_UNMATCHED_INCIDENTS.contains(name)
                && route(&rules, &fixture(name)).is_empty()
        })
        .map(|(name, _, _)| *name)
        .collect();
    assert!(missed.is_empty(), "incidents no rule catches: {missed:?}");
}

#[test]
fn benign_events_are_not_matched() {
    let rules = rules();
    for name in [
        "unrelated-s3-put-object-data-event.json",
        "signin-console-login-saml-federated.json",
        "signin-console-login-sso-identity-center.json",
        "signin-check-mfa.json",
        "iam-create-user-access-denied.json",
        "signin-credential-verification-failure.json",
    ] {
        let got = matched(&rules, &fixture(name));
        assert!(
            got.is_empty(),
            "{name} should not be matched, but {got:?} matched"
        );
    }
}

/// Every rule pins `account` to the stack's account, so no other account's event starts
/// an execution; and the template cannot be read without knowing that account.
#[test]
fn every_rule_pins_the_stack_account() {
    for rule in rules() {
        assert_eq!(
            rule.pattern.source().get("account"),
            Some(&serde_json::json!(["111122223333"])),
            "{} does not pin the stack's account",
            rule.logical_id
        );
    }
    let e = cordon_eventbridge::load_rules(&template_path(), &cordon_template::Values::default())
        .expect_err("the account is unknown");
    assert!(e.to_string().contains("AWS::AccountId"), "{e}");
}

#[test]
fn another_accounts_copy_of_any_fixture_is_not_routed() {
    let rules = rules();
    for (name, _, _) in EXPECTED {
        let mut event = fixture(name);
        if let Some(o) = event.as_object_mut() {
            o.insert("account".into(), serde_json::json!("444455556666"));
        }
        let got = matched(&rules, &event);
        assert!(got.is_empty(), "{name} from another account: {got:?}");
    }
}
