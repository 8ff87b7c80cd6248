//! Response policy: JSON loading and assess()/check_containable().
mod common;

use cordon_core::classify::{Classification, classify, rules};
use cordon_core::model::{AttachedPolicy, Disposition, PrincipalKind, Severity, UserFacts};
use cordon_core::policy::{TrustedIds, UniqueId};
use cordon_core::{Detection, ResponsePolicy, TaskError};

/// The unique id of one of Cordon's own roles (resolved from its ARN at first use).
const OWN: &str = "AROAOWNCORDONQUARANTINE1";
/// The role of the CI fixture's session (`AROAGYAZMKJUHY8V7CDFX:GitHubActions`).
const CI_ROLE: &str = "AROAGYAZMKJUHY8V7CDFX";

fn id(s: &str) -> UniqueId {
    UniqueId::parse(s).unwrap_or_else(|| panic!("{s} is a unique id"))
}

fn own() -> TrustedIds {
    TrustedIds {
        own_roles: [id(OWN)].into(),
        ..TrustedIds::default()
    }
}

fn incident(name: &str) -> Detection {
    match classify(&common::shared(name), &common::home()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{name}: {other:?}"),
    }
}

fn config_error(json: &str) -> String {
    match ResponsePolicy::from_json(json) {
        Err(TaskError::Config(msg)) => msg,
        other => panic!("expected a Config error for {json}, got {other:?}"),
    }
}

#[test]
fn empty_json_is_the_default() {
    assert_eq!(
        ResponsePolicy::from_json("{}"),
        Ok(ResponsePolicy::default())
    );
    let p = ResponsePolicy::default();
    assert_eq!(p.approval_timeout_seconds, 3600);
    assert!(!p.deactivate_access_keys && !p.delete_login_profile);
    assert_eq!(p.allowlisted_disposition, Disposition::Notify);
    for rule in rules::INCIDENT_RULES {
        assert!(p.rules.contains_key(*rule), "no default for {rule}");
    }
}

#[test]
fn full_policy_parses_and_overrides_merge() {
    let p = ResponsePolicy::from_json(
        r#"{
            "rules": {"iam.user-created": {"disposition": "auto"},
                      "signin.console-login-failed": {"severity": "high", "disposition": "approve"}},
            "default_rule": {"severity": "critical"},
            "allowlisted_actors": ["arn:aws:iam::111122223333:role/github-actions-deployer"],
            "allowlisted_disposition": "ignore",
            "protected_principals": ["breakglass", "arn:aws:iam::111122223333:user/ops/oncall"],
            "approval_timeout_seconds": 900,
            "on_approval_timeout": "auto",
            "deactivate_access_keys": true,
            "delete_login_profile": true,
            "attach_force_mfa_policy": true,
            "failure_window_seconds": 300,
            "failure_threshold": 3
        }"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = p.rule_response(rules::USER_CREATED);
    assert_eq!(
        (r.severity, r.disposition),
        (Severity::High, Disposition::Auto)
    );
    let r = p.rule_response(rules::CONSOLE_LOGIN_FAILED);
    assert_eq!(
        (r.severity, r.disposition),
        (Severity::High, Disposition::Approve)
    );
    let r = p.rule_response("some.future-rule");
    assert_eq!(
        (r.severity, r.disposition),
        (Severity::Critical, Disposition::Approve)
    );
    assert_eq!(p.on_approval_timeout, Disposition::Auto);
    assert_eq!(p.approval_timeout_seconds, 900);
    assert!(p.deactivate_access_keys && p.delete_login_profile && p.attach_force_mfa_policy);
}

#[test]
fn policy_errors_name_the_field() {
    let cases = [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (r#"{"allowlist": []}"#, "`allowlist`: unknown field"),
        (
            r#"{"rules": {"iam.user-createdd": {}}}"#,
            "`rules.iam.user-createdd`: unknown rule id",
        ),
        (
            r#"{"rules": {"iam.user-created": {"sevrity": "high"}}}"#,
            "`rules.iam.user-created`: unknown field `sevrity`",
        ),
        (
            r#"{"rules": {"iam.user-created": {"disposition": "quarantine"}}}"#,
            "`rules.iam.user-created`: unknown variant `quarantine`",
        ),
        (r#"{"rules": []}"#, "`rules`: must be an object"),
        (
            r#"{"allowlisted_disposition": "approve"}"#,
            "`allowlisted_disposition`: must be \"ignore\" or \"notify\"",
        ),
        (
            r#"{"on_approval_timeout": "approve"}"#,
            "`on_approval_timeout`",
        ),
        (
            r#"{"approval_timeout_seconds": 5}"#,
            "`approval_timeout_seconds`: must be between",
        ),
        (
            r#"{"approval_timeout_seconds": "3600"}"#,
            "`approval_timeout_seconds`: invalid type",
        ),
        (
            r#"{"allowlisted_actors": ["*"]}"#,
            "`allowlisted_actors[0]`",
        ),
        (
            r#"{"protected_principals": ["ok", ""]}"#,
            "`protected_principals[1]`: must not be empty",
        ),
        (
            r#"{"deactivate_access_keys": "yes"}"#,
            "`deactivate_access_keys`: invalid type",
        ),
        (
            r#"{"failure_threshold": 0}"#,
            "`failure_threshold`: must be at least 1",
        ),
    ];
    for (json, want) in cases {
        let msg = config_error(json);
        assert!(msg.contains(want), "{json}: {msg}");
    }
}

#[test]
fn default_dispositions_for_the_story() {
    let p = ResponsePolicy::default();
    let cases = [
        ("iam-create-user-by-iam-user.json", Disposition::Approve),
        (
            "iam-attach-user-policy-administrator-access.json",
            Disposition::Auto,
        ),
        ("iam-put-user-policy-inline-admin.json", Disposition::Auto),
        // A group's name decides nothing: without its policies read, a human decides.
        ("iam-add-user-to-group-admins.json", Disposition::Approve),
        (
            "iam-create-access-key-for-other-user.json",
            Disposition::Approve,
        ),
        ("iam-delete-user.json", Disposition::Approve),
        ("cloudtrail-stop-logging.json", Disposition::Approve),
        // A role is not an IAM user: never contained, so notify.
        ("iam-create-role-external-trust.json", Disposition::Notify),
        (
            "signin-console-login-failure-iam-user-no-mfa.json",
            Disposition::Notify,
        ),
        (
            "signin-console-login-failure-wrong-username.json",
            Disposition::Notify,
        ),
        (
            "signin-console-login-root-success-no-mfa.json",
            Disposition::Notify,
        ),
        (
            "signin-console-login-root-failure.json",
            Disposition::Notify,
        ),
    ];
    for (file, want) in cases {
        let a = p.assess(&incident(file), None, &own());
        assert_eq!(a.disposition, want, "{file}: {a:?}");
    }
}

#[test]
fn root_is_never_contained_and_critical_without_mfa() {
    let p = ResponsePolicy::from_json(
        r#"{"rules": {"signin.root-console-login": {"disposition": "auto"},
                      "root.api-call": {"disposition": "auto"}},
            "allowlisted_disposition": "ignore"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Root cannot even be listed.
    let msg = config_error(r#"{"allowlisted_actors": ["arn:aws:iam::111122223333:root"]}"#);
    assert!(msg.contains("root user is never"), "{msg}");
    let d = incident("signin-console-login-root-success-no-mfa.json");
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.disposition, Disposition::Notify, "{a:?}");
    assert!(!a.containable);
    assert!(!a.actor_allowlisted, "root is never allowlisted");
    assert!(a.protected_reason.as_deref().unwrap_or("").contains("root"));

    let d = incident("signin-console-login-root-success-mfa.json");
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.disposition, Disposition::Notify);

    let root = d
        .principal
        .clone()
        .unwrap_or_else(|| panic!("root principal"));
    match p.check_containable(&root, &own()) {
        Err(TaskError::ProtectedPrincipal { reason, .. }) => assert!(reason.contains("root")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn root_created_user_may_be_contained_but_is_critical() {
    let p = ResponsePolicy::default();
    let d = incident("iam-create-user-by-root.json");
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::Critical);
    assert!(a.containable, "the new user is containable: {a:?}");
    assert_eq!(a.disposition, Disposition::Approve);
}

#[test]
fn allowlisted_ci_role_is_still_an_incident_but_not_contained() {
    let d = incident("iam-create-user-by-assumed-role-ci.json");
    let p = ResponsePolicy::from_json(
        r#"{"allowlisted_actors": ["arn:aws:iam::111122223333:role/github-actions-iam-provisioner"]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The entry names the role; what matches is the unique id it resolved to, which the
    // session's principalId carries.
    let resolved = TrustedIds {
        allowlisted: [id(CI_ROLE)].into(),
        ..own()
    };
    let a = p.assess(&d, None, &resolved);
    assert!(a.actor_allowlisted, "{a:?}");
    assert_eq!(a.disposition, Disposition::Notify);
    // Not resolved (the role did not exist at first use): never matched by its name.
    assert!(!p.assess(&d, None, &own()).actor_allowlisted);

    let p = ResponsePolicy::from_json(
        r#"{"allowlisted_actors": ["AROAGYAZMKJUHY8V7CDFX"], "allowlisted_disposition": "ignore"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.assess(&d, None, &resolved).disposition,
        Disposition::Ignore
    );
    // A role with another id (deleted and re-created under the same name) is not trusted.
    let mut recreated = d.clone();
    recreated.actor.principal_id = Some("AROAANOTHERROLE0000001:GitHubActions".into());
    assert!(!p.assess(&recreated, None, &resolved).actor_allowlisted);
}

#[test]
fn wildcards_are_refused_in_every_identity_list() {
    for json in [
        r#"{"allowlisted_actors": ["arn:aws:iam::111122223333:role/github-actions-*"]}"#,
        r#"{"protected_principals": ["breakglass-*"]}"#,
        r#"{"protected_principals": ["arn:aws:iam::111122223333:user/break-glass/*"]}"#,
    ] {
        let msg = config_error(json);
        assert!(msg.contains("wildcard"), "{json}: {msg}");
    }
}

#[test]
fn cordons_own_role_is_protected_and_its_actions_allowlisted_by_id() {
    let p = ResponsePolicy::default();
    let mut d = incident("iam-create-user-by-assumed-role-ci.json");
    let own = TrustedIds {
        own_roles: [id(CI_ROLE)].into(),
        ..TrustedIds::default()
    };
    let a = p.assess(&d, None, &own);
    assert!(a.actor_allowlisted, "{a:?}");
    assert_eq!(a.disposition, Disposition::Notify);

    // The principal is an assumed-role session of one of Cordon's own roles.
    d.principal = Some(d.actor.as_principal());
    let a = p.assess(&d, None, &own);
    assert!(!a.containable);
    assert!(
        a.protected_reason
            .as_deref()
            .unwrap_or("")
            .contains("Cordon's own roles")
    );
    let session = d.actor.as_principal();
    assert!(matches!(
        p.check_containable(&session, &own),
        Err(TaskError::ProtectedPrincipal { .. })
    ));
    // Another role: not ours, whatever its name.
    let other = TrustedIds {
        own_roles: [id("AROAOTHERROLE00000001")].into(),
        ..TrustedIds::default()
    };
    assert!(p.check_containable(&session, &other).is_ok());
}

#[test]
fn a_look_alike_of_cordons_own_role_is_not_trusted() {
    // The attacker created `<stack>-x`, assumed it, and attached admin to a backdoor user.
    let mut d = incident("iam-attach-user-policy-administrator-access.json");
    d.actor.kind = PrincipalKind::AssumedRole;
    d.actor.arn = Some("arn:aws:sts::111122223333:assumed-role/cordon-prod-x/s".into());
    d.actor.session_issuer_arn = Some("arn:aws:iam::111122223333:role/cordon-prod-x".into());
    d.actor.principal_id = Some("AROALOOKALIKE000000001:s".into());
    let a = ResponsePolicy::default().assess(&d, None, &own());
    assert!(!a.actor_allowlisted, "{a:?}");
    assert_eq!(a.disposition, Disposition::Auto, "{a:?}");
}

#[test]
fn protected_principals_by_unique_id() {
    let d = incident("iam-attach-user-policy-administrator-access.json");
    let p = ResponsePolicy::from_json(r#"{"protected_principals": ["support-admin"]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    // The event has no id for the target; enrich's facts supply it.
    let facts = UserFacts {
        user_name: "support-admin".into(),
        user_id: "AIDASUPPORTADMIN000001".into(),
        arn: "arn:aws:iam::111122223333:user/support-admin".into(),
        ..Default::default()
    };
    let protected = TrustedIds {
        protected: [id("AIDASUPPORTADMIN000001")].into(),
        ..own()
    };
    let a = p.assess(&d, Some(&facts), &protected);
    assert!(!a.containable);
    assert_eq!(
        a.disposition,
        Disposition::Notify,
        "auto is downgraded: {a:?}"
    );
    assert!(
        a.protected_reason
            .as_deref()
            .unwrap_or("")
            .contains("protected")
    );
    // A user of the same name with another id (the break-glass user was deleted and an
    // attacker created one with its name) is not protected.
    let impostor = UserFacts {
        user_id: "AIDAIMPOSTOR0000000001".into(),
        ..facts.clone()
    };
    assert!(p.assess(&d, Some(&impostor), &protected).containable);
    // Names alone never protect.
    assert!(p.assess(&d, Some(&facts), &own()).containable);
}

#[test]
fn unknown_principal_is_never_contained() {
    let p = ResponsePolicy::from_json(
        r#"{"rules": {"signin.console-login-failed": {"disposition": "auto"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let d = incident("signin-console-login-failure-wrong-username.json");
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::Low);
    assert_eq!(a.disposition, Disposition::Notify);
    assert!(!a.containable);
    let mut unknown = d.actor.as_principal();
    unknown.name = None;
    unknown.arn = None;
    assert!(matches!(
        p.check_containable(&unknown, &own()),
        Err(TaskError::PrincipalNotFound(_))
    ));
}

#[test]
fn unknown_rules_go_to_a_human() {
    let p = ResponsePolicy::default();
    let mut d = incident("iam-create-login-profile.json");
    d.rule = "iam.something-new".into();
    let a = p.assess(&d, None, &own());
    assert_eq!(a.disposition, Disposition::Approve);
    assert!(a.reasons[0].contains("default_rule"), "{:?}", a.reasons);
}

#[test]
fn escalations() {
    let p = ResponsePolicy::default();
    // Kali user agent: one level up.
    let d = incident("iam-create-user-by-iam-user.json");
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::Critical, "{a:?}");
    // Target already admin (from enrich's facts).
    let d = incident("signin-console-login-success-no-mfa.json");
    let base = p.assess(&d, None, &own()).severity;
    let facts = UserFacts {
        user_name: "jdoe".into(),
        attached_policies: vec![AttachedPolicy {
            name: "AdministratorAccess".into(),
            arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        }],
        ..Default::default()
    };
    let a = p.assess(&d, Some(&facts), &own());
    assert!(a.severity > base, "{a:?}");
}

#[test]
fn failure_threshold_escalates_failed_sign_ins() {
    // The failed sign-in counter writes `failureCount` and `failureThresholdReached` into
    // the detection's evidence; assess turns them into an escalation.
    let p = ResponsePolicy::from_json(r#"{"failure_threshold": 3, "failure_window_seconds": 600}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let failures = |count: u64, reached: bool| {
        let mut d = incident("signin-console-login-failure-iam-user-no-mfa.json");
        d.evidence
            .insert("failureCount".into(), serde_json::json!(count));
        d.evidence
            .insert("failureThresholdReached".into(), serde_json::json!(reached));
        d
    };
    let d = failures(3, true);
    let a = p.assess(&d, None, &own());
    assert_eq!(a.severity, Severity::High, "{a:?}");
    assert_eq!(a.disposition, Disposition::Approve);
    assert_eq!(
        PrincipalKind::IamUser,
        d.principal
            .map(|p| p.kind)
            .unwrap_or(PrincipalKind::Unknown)
    );
    // Twice the threshold: critical.
    let a = p.assess(&failures(6, true), None, &own());
    assert_eq!(a.severity, Severity::Critical, "{a:?}");
    // Below the threshold: the rule's severity and disposition stand.
    let a = p.assess(&failures(2, false), None, &own());
    assert_eq!(
        (a.severity, a.disposition),
        (Severity::Medium, Disposition::Notify),
        "{a:?}"
    );
}

#[test]
fn assessment_serializes_camel_case() {
    let a = ResponsePolicy::default().assess(&incident("iam-delete-user.json"), None, &own());
    let v = serde_json::to_value(&a).unwrap_or_default();
    for key in [
        "severity",
        "disposition",
        "reasons",
        "actorAllowlisted",
        "containable",
        "protectedReason",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert!(a.containable, "DeleteUser contains the actor jdoe: {a:?}");
}
