//! Stable rule ids. They appear in notifications, message attributes, the audit table
//! and the response policy, so never rename one.
//!
//! Each incident rule is raised by one [`Detector`](super::Detector) (listed in its
//! `rules`), except [`ROOT_API_CALL`] (the fallback for calls no detector claims) and
//! [`AUDIT_MFA_MISSING`] (the scheduled MFA audit). A test checks this catalogue against
//! [`DETECTORS`](super::DETECTORS).

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
];
