//! Stable rule ids. They appear in notifications, message attributes, the audit table
//! and the response policy, so never rename one.
//!
//! Each incident rule is raised by one [`Detector`](super::Detector) (listed in its
//! `rules`), except [`ROOT_API_CALL`] (the fallback for calls no detector claims), the
//! [`AUDIT_RULES`] (the scheduled MFA audit's findings, `classify/audit.rs`) and
//! [`CONSOLE_LOGIN_AFTER_FAILURES`] (the failed sign-in counter, [`crate::failures`]). A
//! test checks this catalogue against [`DETECTORS`](super::DETECTORS).

pub const USER_CREATED: &str = "iam.user-created";
/// Informational: used only in `NotAnIncident` reasons and for denied-attempt counters.
pub const USER_CREATE_DENIED: &str = "iam.user-create-denied";
pub const CONSOLE_LOGIN_FAILED: &str = "signin.console-login-failed";
pub const CONSOLE_LOGIN_NO_MFA: &str = "signin.console-login-no-mfa";
pub const ROOT_CONSOLE_LOGIN: &str = "signin.root-console-login";
pub const ROOT_CONSOLE_LOGIN_FAILED: &str = "signin.root-console-login-failed";
pub const ACCESS_KEY_FOR_OTHER_USER: &str = "iam.access-key-for-other-user";
pub const ROOT_ACCESS_KEY_CREATED: &str = "iam.root-access-key-created";
pub const LOGIN_PROFILE_CREATED: &str = "iam.login-profile-created";
pub const LOGIN_PROFILE_UPDATED: &str = "iam.login-profile-updated";
pub const ADMIN_POLICY_ATTACHED: &str = "iam.admin-policy-attached";
pub const INLINE_ADMIN_POLICY: &str = "iam.inline-admin-policy";
pub const ADDED_TO_ADMIN_GROUP: &str = "iam.added-to-admin-group";
pub const MFA_DEACTIVATED: &str = "iam.mfa-deactivated";
pub const USER_DELETED: &str = "iam.user-deleted";
pub const ROLE_EXTERNAL_TRUST: &str = "iam.role-external-trust";
/// `StopLogging` or `DeleteTrail`.
pub const LOGGING_STOPPED: &str = "cloudtrail.logging-stopped";
/// A trail records less, or delivers its logs elsewhere: management events (or their
/// writes or reads) off, single-Region, global service events or the organisation's
/// accounts dropped, a new S3 bucket.
pub const TRAIL_WEAKENED: &str = "cloudtrail.trail-weakened";
/// A trail still records everything, but its integrity or monitoring changed: log file
/// validation off, KMS key, CloudWatch Logs, SNS topic or S3 prefix changed, management
/// event sources excluded.
pub const TRAIL_CHANGED: &str = "cloudtrail.trail-changed";
/// Any other successful write call made by the root user, in any service.
pub const ROOT_API_CALL: &str = "root.api-call";
/// The scheduled MFA audit trigger (S3).
pub const SCHEDULED_MFA_AUDIT: &str = "audit.scheduled-mfa";
/// A per-user finding of the MFA audit: console password without MFA.
pub const AUDIT_MFA_MISSING: &str = "audit.mfa-missing";
/// The MFA audit found the root user without MFA.
pub const AUDIT_ROOT_MFA_MISSING: &str = "audit.root-mfa-missing";
/// The MFA audit found an active access key older, or unused for longer, than the response
/// policy allows (only when `audit_key_max_age_days` / `audit_key_max_unused_days` are set).
pub const AUDIT_ACCESS_KEY_STALE: &str = "audit.access-key-stale";

/// Administrator access granted to a role: `AttachRolePolicy` or `PutRolePolicy` of a
/// policy that grants it (judged by what the policy grants, see
/// [`crate::policy_document`]).
pub const ADMIN_GRANTED_TO_ROLE: &str = "iam.admin-granted-to-role";
/// Administrator access granted to a group: `AttachGroupPolicy` or `PutGroupPolicy`.
pub const ADMIN_GRANTED_TO_GROUP: &str = "iam.admin-granted-to-group";
/// A managed policy's default version now grants administrator access:
/// `CreatePolicyVersion` with `setAsDefault`, or `SetDefaultPolicyVersion`.
pub const ADMIN_POLICY_VERSION: &str = "iam.admin-policy-version";
/// A SAML or OpenID Connect identity provider created or changed: whoever controls it can
/// federate into every role that trusts it.
pub const IDENTITY_PROVIDER_CHANGED: &str = "iam.identity-provider-changed";
/// `DeleteVirtualMFADevice`: an MFA device deleted (after it was deactivated).
pub const MFA_DEVICE_DELETED: &str = "iam.mfa-device-deleted";
/// `UpdateUser` with `newUserName`: a user renamed (evades name-based lists, hides a
/// backdoor under a familiar name).
pub const USER_RENAMED: &str = "iam.user-renamed";
/// AWS attached its own `AWSCompromisedKeyQuarantine*` policy to a user: AWS found the
/// user's access key exposed in public.
pub const AWS_COMPROMISED_KEY_QUARANTINE: &str = "iam.aws-compromised-key-quarantine";
/// The root user's password was changed (`PasswordUpdated`) or reset
/// (`PasswordRecoveryCompleted`).
pub const ROOT_PASSWORD_CHANGED: &str = "signin.root-password-changed";
/// A console sign-in succeeded from an IP address (or for a user) that failed to sign in
/// at least `failure_threshold` times in the failure window: a password guessed. Raised by
/// the failed sign-in counter ([`crate::failures`]), not by a detector.
pub const CONSOLE_LOGIN_AFTER_FAILURES: &str = "signin.console-login-after-failures";
/// Cordon's containment undone outside Cordon: its quarantine or force-MFA policy detached
/// from a user, or its session-revocation policy deleted from a role. The principal is
/// contained again.
pub const QUARANTINE_TAMPERED: &str = "cordon.quarantine-tampered";
/// Cordon's quarantine (or force-MFA) policy itself edited or deleted: a new default
/// version, another version made default, a version or the policy deleted.
pub const QUARANTINE_POLICY_CHANGED: &str = "cordon.quarantine-policy-changed";
/// Cordon's EventBridge rules disabled, deleted, changed or stripped of their targets.
pub const RULES_TAMPERED: &str = "cordon.rules-tampered";
/// Cordon's workflow stopped or changed: an execution stopped, the state machine deleted
/// or updated.
pub const WORKFLOW_TAMPERED: &str = "cordon.workflow-tampered";

/// Every rule that can open an incident.
pub const INCIDENT_RULES: &[&str] = &[
    USER_CREATED,
    CONSOLE_LOGIN_FAILED,
    CONSOLE_LOGIN_NO_MFA,
    ROOT_CONSOLE_LOGIN,
    ROOT_CONSOLE_LOGIN_FAILED,
    ACCESS_KEY_FOR_OTHER_USER,
    ROOT_ACCESS_KEY_CREATED,
    LOGIN_PROFILE_CREATED,
    LOGIN_PROFILE_UPDATED,
    ADMIN_POLICY_ATTACHED,
    INLINE_ADMIN_POLICY,
    ADDED_TO_ADMIN_GROUP,
    MFA_DEACTIVATED,
    USER_DELETED,
    ROLE_EXTERNAL_TRUST,
    LOGGING_STOPPED,
    TRAIL_WEAKENED,
    TRAIL_CHANGED,
    ROOT_API_CALL,
    AUDIT_MFA_MISSING,
    AUDIT_ROOT_MFA_MISSING,
    AUDIT_ACCESS_KEY_STALE,
    ADMIN_GRANTED_TO_ROLE,
    ADMIN_GRANTED_TO_GROUP,
    ADMIN_POLICY_VERSION,
    IDENTITY_PROVIDER_CHANGED,
    MFA_DEVICE_DELETED,
    USER_RENAMED,
    AWS_COMPROMISED_KEY_QUARANTINE,
    ROOT_PASSWORD_CHANGED,
    CONSOLE_LOGIN_AFTER_FAILURES,
    QUARANTINE_TAMPERED,
    QUARANTINE_POLICY_CHANGED,
    RULES_TAMPERED,
    WORKFLOW_TAMPERED,
];

/// The rules the scheduled MFA audit raises (from its findings, never from a CloudTrail
/// event).
pub const AUDIT_RULES: &[&str] = &[
    AUDIT_MFA_MISSING,
    AUDIT_ROOT_MFA_MISSING,
    AUDIT_ACCESS_KEY_STALE,
];

/// The rules about missing or removed MFA: the force-MFA remediation applies to them.
pub const MFA_RULES: &[&str] = &[
    CONSOLE_LOGIN_NO_MFA,
    MFA_DEACTIVATED,
    MFA_DEVICE_DELETED,
    AUDIT_MFA_MISSING,
];

/// The rules about an attack on Cordon itself.
pub const TAMPER_RULES: &[&str] = &[
    QUARANTINE_TAMPERED,
    QUARANTINE_POLICY_CHANGED,
    RULES_TAMPERED,
    WORKFLOW_TAMPERED,
];
