//! The escalation, persistence and tampering detections (this crate's fixtures), as the
//! stack `cordon` in the fixtures' account classifies them, and how the response policy
//! judges them with what enrich reads.
mod common;

use cordon_core::classify::{Classification, Home, classify_in, rules};
use cordon_core::model::{Disposition, Inspection, PrincipalKind, RoleFacts, Severity};
use cordon_core::policy::{Facts, TrustedIds};
use cordon_core::policy_document::{Grant, Grants};
use cordon_core::{Detection, ResponsePolicy};

fn home() -> Home {
    Home::new(common::home()).with_stack("cordon")
}

fn classify_own(name: &str) -> Classification {
    let event = common::load(&common::own_fixtures_dir().join(name));
    classify_in(&event, &home()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn incident(name: &str) -> Detection {
    match classify_own(name) {
        Classification::Incident(d) => d,
        other => panic!("{name}: {other:?}"),
    }
}

/// (fixture, rule, principal name or None, principal kind)
const INCIDENTS: &[(&str, &str, Option<&str>, PrincipalKind)] = &[
    (
        "iam-attach-role-policy-administrator-access.json",
        rules::ADMIN_GRANTED_TO_ROLE,
        Some("app-deployer"),
        PrincipalKind::Role,
    ),
    (
        "iam-attach-group-policy-customer-managed.json",
        rules::ADMIN_GRANTED_TO_GROUP,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-put-role-policy-pass-role.json",
        rules::ADMIN_GRANTED_TO_ROLE,
        Some("build-runner"),
        PrincipalKind::Role,
    ),
    (
        "iam-put-group-policy-iam-star.json",
        rules::ADMIN_GRANTED_TO_GROUP,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-create-policy-version-admin-default.json",
        rules::ADMIN_POLICY_VERSION,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-set-default-policy-version.json",
        rules::ADMIN_POLICY_VERSION,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-create-saml-provider.json",
        rules::IDENTITY_PROVIDER_CHANGED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-create-oidc-provider.json",
        rules::IDENTITY_PROVIDER_CHANGED,
        Some("ops-admin"),
        PrincipalKind::AssumedRole,
    ),
    (
        "iam-update-oidc-provider-thumbprint.json",
        rules::IDENTITY_PROVIDER_CHANGED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-delete-virtual-mfa-device.json",
        rules::MFA_DEVICE_DELETED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-update-user-rename.json",
        rules::USER_RENAMED,
        Some("breakglass-2"),
        PrincipalKind::IamUser,
    ),
    (
        "iam-attach-user-policy-aws-compromised-key-quarantine.json",
        rules::AWS_COMPROMISED_KEY_QUARANTINE,
        Some("svc-uploader"),
        PrincipalKind::IamUser,
    ),
    (
        "signin-root-password-updated.json",
        rules::ROOT_PASSWORD_CHANGED,
        None,
        PrincipalKind::Root,
    ),
    (
        "signin-root-password-recovery-completed.json",
        rules::ROOT_PASSWORD_CHANGED,
        None,
        PrincipalKind::Root,
    ),
    (
        "cordon-detach-quarantine-policy.json",
        rules::QUARANTINE_TAMPERED,
        Some("support-admin"),
        PrincipalKind::IamUser,
    ),
    (
        "cordon-delete-role-revocation-policy.json",
        rules::QUARANTINE_TAMPERED,
        Some("ops-admin"),
        PrincipalKind::Role,
    ),
    (
        "cordon-create-quarantine-policy-version.json",
        rules::QUARANTINE_POLICY_CHANGED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "cordon-disable-rule.json",
        rules::RULES_TAMPERED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "cordon-remove-targets.json",
        rules::RULES_TAMPERED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
    (
        "cordon-stop-execution.json",
        rules::WORKFLOW_TAMPERED,
        Some("jdoe"),
        PrincipalKind::IamUser,
    ),
];

const NOT_INCIDENTS: &[(&str, &str)] = &[
    (
        "iam-attach-user-policy-read-only.json",
        "not a policy that grants",
    ),
    ("iam-put-role-policy-s3-read.json", "does not grant"),
    (
        "iam-create-policy-version-not-default.json",
        "not in effect",
    ),
    ("iam-update-user-path-only.json", "does not rename"),
    (
        "signin-root-password-updated-failure.json",
        "did not succeed",
    ),
    (
        "iam-detach-user-policy-unrelated.json",
        "not one of Cordon's",
    ),
    (
        "events-disable-rule-unrelated.json",
        "not one of Cordon's rules",
    ),
    (
        "cordon-update-rule-by-cloudformation.json",
        "CloudFormation",
    ),
];

#[test]
fn each_detection_raises_its_rule_on_the_right_principal() {
    for (file, rule, name, kind) in INCIDENTS {
        let d = incident(file);
        assert_eq!(d.rule, *rule, "{file}");
        let p = d
            .principal
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: principal"));
        assert_eq!(p.kind, *kind, "{file}");
        assert_eq!(p.name.as_deref(), *name, "{file}");
    }
    for (file, reason) in NOT_INCIDENTS {
        match classify_own(file) {
            Classification::NotAnIncident { reason: r, .. } => {
                assert!(r.contains(reason), "{file}: {r}")
            }
            other => panic!("{file}: expected no incident, got {other:?}"),
        }
    }
}

#[test]
fn attacks_on_cordon_need_the_stack_to_be_known() {
    // Without the stack name Cordon cannot tell its resources from anyone's.
    let event = common::load(&common::own_fixtures_dir().join("cordon-disable-rule.json"));
    let nameless = Home::new(common::home());
    assert!(matches!(
        classify_in(&event, &nameless),
        Ok(Classification::NotAnIncident { .. })
    ));
    // Another stack's rule of the same shape is not Cordon's.
    let other = Home::new(common::home()).with_stack("billing");
    assert!(matches!(
        classify_in(&event, &other),
        Ok(Classification::NotAnIncident { .. })
    ));
}

#[test]
fn grants_the_event_does_not_carry_are_read_by_enrich() {
    let p = ResponsePolicy::default();
    let d = incident("iam-attach-group-policy-customer-managed.json");
    assert!(d.inspect.is_some(), "{d:?}");
    // Unread: a human decides.
    let a = p.assess_with(&d, &Facts::default(), &TrustedIds::none());
    assert_eq!(a.disposition, Disposition::Approve, "{a:?}");
    // It grants iam:*: the rule's verdict stands.
    let admin = Inspection {
        subject: "policy dev-everything".into(),
        grants: Some(Grants {
            grants: vec![Grant::IamFullAccess],
            skipped: vec![],
        }),
        attachment_count: Some(1),
        problem: None,
    };
    let facts = Facts {
        inspection: Some(&admin),
        ..Facts::default()
    };
    let a = p.assess_with(&d, &facts, &TrustedIds::none());
    assert_eq!(
        (a.severity, a.disposition),
        (Severity::Critical, Disposition::Approve)
    );
    assert!(a.reasons.iter().any(|r| r.contains("iam:*")), "{a:?}");
    // It grants nothing: recorded and closed quietly.
    let harmless = Inspection {
        grants: Some(Grants::default()),
        ..admin.clone()
    };
    let a = p.assess_with(
        &d,
        &Facts {
            inspection: Some(&harmless),
            ..Facts::default()
        },
        &TrustedIds::none(),
    );
    assert_eq!(a.disposition, Disposition::Ignore, "{a:?}");
    // A new admin default version on a policy attached to nothing: told, not contained.
    let v = incident("iam-create-policy-version-admin-default.json");
    let unattached = Inspection {
        attachment_count: Some(0),
        ..admin
    };
    let a = p.assess_with(
        &v,
        &Facts {
            inspection: Some(&unattached),
            ..Facts::default()
        },
        &TrustedIds::none(),
    );
    assert_eq!(a.disposition, Disposition::Notify, "{a:?}");
}

#[test]
fn containment_undone_is_undone_again_only_for_what_cordon_holds() {
    let p = ResponsePolicy::default();
    let d = incident("cordon-detach-quarantine-policy.json");
    let held = Facts {
        contained_by: Some("ct-1"),
        ..Facts::default()
    };
    let a = p.assess_with(&d, &held, &TrustedIds::none());
    assert_eq!(
        (a.severity, a.disposition),
        (Severity::Critical, Disposition::Auto)
    );
    // Allowlisting the actor (resolved to its unique id, as the functions do) does not
    // soften an attack on Cordon.
    let actor_id = d
        .actor
        .unique_id()
        .expect("the fixture's actor carries its unique id");
    let mut allowing = TrustedIds::none();
    allowing.allowlisted.insert(actor_id);
    assert!(
        allowing.is_allowlisted(&d.actor),
        "the actor is allowlisted"
    );
    let a = p.assess_with(&d, &held, &allowing);
    assert!(!a.actor_allowlisted, "{a:?}");
    assert_eq!(a.disposition, Disposition::Auto, "{a:?}");
    // The same actor allowlisted on an ordinary detection is expected (so the check above
    // is not vacuous).
    let mut grant = incident("iam-attach-role-policy-administrator-access.json");
    grant.actor = d.actor.clone();
    let a = p.assess_with(&grant, &Facts::default(), &allowing);
    assert!(a.actor_allowlisted, "{a:?}");
    assert_ne!(a.disposition, Disposition::Auto, "{a:?}");
    // Released (or never contained): the team is told, nothing is contained again.
    let a = p.assess_with(&d, &Facts::default(), &TrustedIds::none());
    assert_eq!(a.disposition, Disposition::Notify, "{a:?}");
}

#[test]
fn role_sessions_can_be_revoked_only_on_modifiable_roles_of_this_account() {
    let p = ResponsePolicy::default();
    let d = incident("iam-attach-role-policy-administrator-access.json");
    let role = RoleFacts {
        role_name: "app-deployer".into(),
        role_id: "AROAEXAMPLE".into(),
        arn: "arn:aws:iam::111122223333:role/app-deployer".into(),
        path: "/".into(),
        ..RoleFacts::default()
    };
    let a = p.assess_with(
        &d,
        &Facts {
            role: Some(&role),
            ..Facts::default()
        },
        &TrustedIds::none(),
    );
    assert!(a.containable, "{a:?}");
    assert_eq!(a.disposition, Disposition::Approve);
    // Missing role, service-linked role, Cordon's own role: told, never contained.
    assert!(
        !p.assess_with(&d, &Facts::default(), &TrustedIds::none())
            .containable
    );
    let linked = RoleFacts {
        path: "/aws-service-role/support.amazonaws.com/".into(),
        ..role.clone()
    };
    let a = p.assess_with(
        &d,
        &Facts {
            role: Some(&linked),
            ..Facts::default()
        },
        &TrustedIds::none(),
    );
    assert!(
        !a.containable && a.disposition == Disposition::Notify,
        "{a:?}"
    );
    // Cordon's own role, by the unique id IAM gave it.
    let mut own = TrustedIds::none();
    own.own_roles
        .extend(cordon_core::policy::UniqueId::issued(&role.role_id));
    let a = p.assess_with(
        &d,
        &Facts {
            role: Some(&role),
            ..Facts::default()
        },
        &own,
    );
    assert!(!a.containable, "{a:?}");
}

#[test]
fn aws_quarantine_and_root_password_defaults() {
    let p = ResponsePolicy::default();
    let a = p.assess(
        &incident("iam-attach-user-policy-aws-compromised-key-quarantine.json"),
        None,
        &TrustedIds::none(),
    );
    assert_eq!(
        (a.severity, a.disposition),
        (Severity::Critical, Disposition::Auto)
    );
    let a = p.assess(
        &incident("signin-root-password-updated.json"),
        None,
        &TrustedIds::none(),
    );
    assert_eq!(
        (a.severity, a.disposition),
        (Severity::Critical, Disposition::Notify)
    );
    assert!(!a.containable);
}
