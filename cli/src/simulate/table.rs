//! Every scenario `cordon simulate` knows, one entry each, by family. Each raises one rule
//! id of `cordon_core::classify::rules`; the tests check that it does, through the
//! classifier and the template's rules, and that every detection has a scenario.
use cordon_core::classify::rules;

use super::scenario::Scenario;
use super::{audit, grants, roles, signin, tamper, trail, users};

pub const SCENARIOS: &[Scenario] = &[
    // Console sign-in (S0): no sign-in API; the users are real, the sign-ins delivered.
    Scenario {
        name: "console-brute-force",
        description: "Failed console sign-ins for one user (with a console password) from \
                      one IP, as many as the default failure threshold.",
        rule: rules::CONSOLE_LOGIN_FAILED,
        perform: Some(signin::console_victim),
        events: signin::brute_force_events,
    },
    Scenario {
        name: "password-spray",
        description: "One failed console sign-in for each of several users from one IP, \
                      and one for a user name that does not exist (masked by CloudTrail).",
        rule: rules::CONSOLE_LOGIN_FAILED,
        perform: Some(signin::spray_victims),
        events: signin::spray_events,
    },
    Scenario {
        name: "password-guessed",
        description: "Failed console sign-ins for one user from one IP up to the default \
                      threshold, then a successful one from the same IP.",
        rule: rules::CONSOLE_LOGIN_AFTER_FAILURES,
        perform: Some(signin::console_victim),
        events: signin::guessed_events,
    },
    Scenario {
        name: "console-login-no-mfa",
        description: "An IAM user signs in to the console without MFA.",
        rule: rules::CONSOLE_LOGIN_NO_MFA,
        perform: Some(signin::console_victim),
        events: signin::no_mfa_events,
    },
    Scenario {
        name: "root-console-login",
        description: "The root user signs in to the console (event only).",
        rule: rules::ROOT_CONSOLE_LOGIN,
        perform: None,
        events: signin::root_login_events,
    },
    Scenario {
        name: "root-console-login-failed",
        description: "A failed console sign-in as the root user (event only).",
        rule: rules::ROOT_CONSOLE_LOGIN_FAILED,
        perform: None,
        events: signin::root_login_failed_events,
    },
    Scenario {
        name: "root-password-changed",
        description: "The root user's password is changed (event only).",
        rule: rules::ROOT_PASSWORD_CHANGED,
        perform: None,
        events: signin::root_password_events,
    },
    // Backdoor users and credentials.
    Scenario {
        name: "create-user",
        description: "jdoe creates a backdoor user.",
        rule: rules::USER_CREATED,
        perform: Some(users::backdoor_user),
        events: users::create_user_events,
    },
    Scenario {
        name: "user-deleted",
        description: "jdoe deletes a user (the security team's monitor).",
        rule: rules::USER_DELETED,
        perform: Some(users::delete_user),
        events: users::delete_user_events,
    },
    Scenario {
        name: "user-renamed",
        description: "jdoe renames a user to a name people trust (UpdateUser newUserName).",
        rule: rules::USER_RENAMED,
        perform: Some(users::rename_user),
        events: users::rename_user_events,
    },
    Scenario {
        name: "access-key-for-other-user",
        description: "jdoe mints an access key for another user.",
        rule: rules::ACCESS_KEY_FOR_OTHER_USER,
        perform: Some(users::key_for_other_user),
        events: users::key_for_other_user_events,
    },
    Scenario {
        name: "root-access-key",
        description: "The root user creates itself an access key (event only).",
        rule: rules::ROOT_ACCESS_KEY_CREATED,
        perform: None,
        events: users::root_key_events,
    },
    Scenario {
        name: "login-profile-created",
        description: "jdoe gives a programmatic user a console password.",
        rule: rules::LOGIN_PROFILE_CREATED,
        perform: Some(users::login_profile_created),
        events: users::login_profile_created_events,
    },
    Scenario {
        name: "login-profile-updated",
        description: "jdoe resets another user's console password.",
        rule: rules::LOGIN_PROFILE_UPDATED,
        perform: Some(users::login_profile_updated),
        events: users::login_profile_updated_events,
    },
    Scenario {
        name: "mfa-deactivated",
        description: "jdoe deactivates another user's MFA device.",
        rule: rules::MFA_DEACTIVATED,
        perform: Some(users::mfa_deactivated),
        events: users::mfa_deactivated_events,
    },
    Scenario {
        name: "mfa-device-deleted",
        description: "jdoe deactivates and deletes another user's virtual MFA device.",
        rule: rules::MFA_DEVICE_DELETED,
        perform: Some(users::mfa_device_deleted),
        events: users::mfa_device_deleted_events,
    },
    // Administrator access granted.
    Scenario {
        name: "admin-policy-attach",
        description: "jdoe attaches AdministratorAccess to a user.",
        rule: rules::ADMIN_POLICY_ATTACHED,
        perform: Some(grants::admin_policy_attached),
        events: grants::admin_policy_attached_events,
    },
    Scenario {
        name: "inline-admin-policy",
        description: "jdoe puts an inline policy allowing * on * on a user.",
        rule: rules::INLINE_ADMIN_POLICY,
        perform: Some(grants::inline_admin_policy),
        events: grants::inline_admin_policy_events,
    },
    Scenario {
        name: "added-to-admin-group",
        description: "jdoe adds a user to a group that holds AdministratorAccess.",
        rule: rules::ADDED_TO_ADMIN_GROUP,
        perform: Some(grants::added_to_admin_group),
        events: grants::added_to_admin_group_events,
    },
    Scenario {
        name: "admin-to-role",
        description: "jdoe attaches AdministratorAccess to a role.",
        rule: rules::ADMIN_GRANTED_TO_ROLE,
        perform: Some(grants::admin_to_role),
        events: grants::admin_to_role_events,
    },
    Scenario {
        name: "admin-to-group",
        description: "jdoe puts an inline policy allowing iam:* on a group.",
        rule: rules::ADMIN_GRANTED_TO_GROUP,
        perform: Some(grants::admin_to_group),
        events: grants::admin_to_group_events,
    },
    Scenario {
        name: "admin-policy-version",
        description: "jdoe makes a new version of a managed policy, allowing * on *, its \
                      default.",
        rule: rules::ADMIN_POLICY_VERSION,
        perform: Some(grants::admin_policy_version),
        events: grants::admin_policy_version_events,
    },
    Scenario {
        name: "aws-compromised-key-quarantine",
        description: "AWS attaches AWSCompromisedKeyQuarantineV3 to a user whose key was \
                      exposed in public.",
        rule: rules::AWS_COMPROMISED_KEY_QUARANTINE,
        perform: Some(grants::aws_quarantine),
        events: grants::aws_quarantine_events,
    },
    // Ways in from outside.
    Scenario {
        name: "role-external-trust",
        description: "jdoe creates a role another account (444455556666) can assume.",
        rule: rules::ROLE_EXTERNAL_TRUST,
        perform: Some(roles::external_role),
        events: roles::external_role_events,
    },
    Scenario {
        name: "identity-provider",
        description: "jdoe creates an OpenID Connect identity provider the attacker controls.",
        rule: rules::IDENTITY_PROVIDER_CHANGED,
        perform: Some(roles::identity_provider),
        events: roles::identity_provider_events,
    },
    // The audit trail.
    Scenario {
        name: "trail-stopped",
        description: "jdoe stops the organisation's trail (event only).",
        rule: rules::LOGGING_STOPPED,
        perform: None,
        events: trail::stopped_events,
    },
    Scenario {
        name: "trail-weakened",
        description: "jdoe makes the trail single-Region (event only).",
        rule: rules::TRAIL_WEAKENED,
        perform: None,
        events: trail::weakened_events,
    },
    Scenario {
        name: "trail-changed",
        description: "jdoe turns the trail's log file validation off (event only).",
        rule: rules::TRAIL_CHANGED,
        perform: None,
        events: trail::changed_events,
    },
    // Attacks on Cordon, and root.
    Scenario {
        name: "quarantine-tampered",
        description: "jdoe detaches AWSDenyAll, which containment attaches, from a user.",
        rule: rules::QUARANTINE_TAMPERED,
        perform: Some(tamper::quarantine_detached),
        events: tamper::quarantine_detached_events,
    },
    Scenario {
        name: "quarantine-policy-changed",
        description: "jdoe makes a version of Cordon's quarantine policy that denies \
                      nothing its default (event only).",
        rule: rules::QUARANTINE_POLICY_CHANGED,
        perform: None,
        events: tamper::quarantine_policy_events,
    },
    Scenario {
        name: "rules-tampered",
        description: "jdoe disables Cordon's EventBridge rule (event only).",
        rule: rules::RULES_TAMPERED,
        perform: None,
        events: tamper::rule_disabled_events,
    },
    Scenario {
        name: "workflow-tampered",
        description: "jdoe stops one of Cordon's incident executions (event only).",
        rule: rules::WORKFLOW_TAMPERED,
        perform: None,
        events: tamper::execution_stopped_events,
    },
    Scenario {
        name: "root-api-call",
        description: "The root user makes an S3 bucket public (event only).",
        rule: rules::ROOT_API_CALL,
        perform: None,
        events: tamper::root_call_events,
    },
    // The MFA compliance audit (S3).
    Scenario {
        name: "mfa-noncompliant-user",
        description: "A user with a console password and no MFA, then the MFA audit's daily \
                      schedule event (which cordon local up, running no schedules, does not \
                      route).",
        rule: rules::AUDIT_MFA_MISSING,
        perform: Some(audit::noncompliant_user),
        events: audit::schedule_events,
    },
];
