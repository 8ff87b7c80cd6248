//! The response policy's fields and their built-in defaults.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::rules;
use crate::model::{Disposition, Severity};

/// Severity and disposition for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleResponse {
    pub severity: Severity,
    pub disposition: Disposition,
}

/// A partial override of a [`RuleResponse`] in the JSON policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub severity: Option<Severity>,
    pub disposition: Option<Disposition>,
}

/// See the module docs for the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePolicy {
    /// Effective per-rule table (built-in defaults merged with the JSON overrides).
    pub rules: BTreeMap<String, RuleResponse>,
    /// For rules missing from `rules`.
    pub default_rule: RuleResponse,
    /// Actors whose changes are expected: user or role ARNs, user names or unique ids
    /// (for assumed-role sessions, the role). Matched by the unique id each resolves to;
    /// wildcards are refused.
    pub allowlisted_actors: Vec<String>,
    /// `ignore` or `notify`. The incident is still opened and recorded.
    pub allowlisted_disposition: Disposition,
    /// Users or roles never contained (break-glass): ARNs, user names or unique ids,
    /// matched by the unique id each resolves to; wildcards are refused.
    pub protected_principals: Vec<String>,
    pub approval_timeout_seconds: u64,
    /// What happens when nobody answers an approval request: `auto`, `notify` or `ignore`.
    pub on_approval_timeout: Disposition,
    pub deactivate_access_keys: bool,
    pub delete_login_profile: bool,
    /// Attach the force-MFA policy for MFA findings (`signin.console-login-no-mfa`,
    /// `iam.mfa-deactivated`, `iam.mfa-device-deleted`, `audit.mfa-missing`; see
    /// [`crate::quarantine::Plan`]). Turning it on makes `audit.mfa-missing` `auto`
    /// unless its rule entry says otherwise: the remediation then runs on every finding.
    pub attach_force_mfa_policy: bool,
    /// The window and threshold of the failed sign-in counter ([`crate::failures`]): a
    /// key's window opens at its first failure and lasts `failure_window_seconds`; the
    /// failure that reaches `failure_threshold` (and twice it) escalates the incident.
    pub failure_window_seconds: u64,
    pub failure_threshold: u32,
    /// The MFA audit flags active access keys last rotated more than this many days ago
    /// (`audit.access-key-stale`); `None`: not checked.
    pub audit_key_max_age_days: Option<u32>,
    /// The MFA audit flags active access keys unused for more than this many days;
    /// `None`: not checked.
    pub audit_key_max_unused_days: Option<u32>,
}

fn rr(severity: Severity, disposition: Disposition) -> RuleResponse {
    RuleResponse {
        severity,
        disposition,
    }
}

/// The built-in per-rule defaults (the table in the module docs).
pub fn default_rule_table() -> BTreeMap<String, RuleResponse> {
    use Disposition::*;
    use Severity::*;
    [
        (rules::ADMIN_POLICY_ATTACHED, rr(Critical, Auto)),
        (rules::INLINE_ADMIN_POLICY, rr(Critical, Auto)),
        (rules::ADDED_TO_ADMIN_GROUP, rr(Critical, Auto)),
        (rules::USER_CREATED, rr(High, Approve)),
        (rules::ACCESS_KEY_FOR_OTHER_USER, rr(High, Approve)),
        (rules::LOGIN_PROFILE_CREATED, rr(High, Approve)),
        (rules::LOGIN_PROFILE_UPDATED, rr(High, Approve)),
        (rules::MFA_DEACTIVATED, rr(High, Approve)),
        (rules::USER_DELETED, rr(High, Approve)),
        (rules::LOGGING_STOPPED, rr(Critical, Approve)),
        (rules::TRAIL_WEAKENED, rr(Critical, Approve)),
        (rules::TRAIL_CHANGED, rr(High, Notify)),
        (rules::ROLE_EXTERNAL_TRUST, rr(High, Notify)),
        (rules::ROOT_ACCESS_KEY_CREATED, rr(Critical, Notify)),
        (rules::ROOT_API_CALL, rr(Critical, Notify)),
        (rules::ROOT_CONSOLE_LOGIN, rr(High, Notify)),
        (rules::ROOT_CONSOLE_LOGIN_FAILED, rr(High, Notify)),
        (rules::CONSOLE_LOGIN_NO_MFA, rr(Medium, Approve)),
        (rules::CONSOLE_LOGIN_FAILED, rr(Medium, Notify)),
        (rules::AUDIT_MFA_MISSING, rr(Medium, Notify)),
        (rules::AUDIT_ROOT_MFA_MISSING, rr(Critical, Notify)),
        (rules::AUDIT_ACCESS_KEY_STALE, rr(Low, Notify)),
        (rules::ADMIN_GRANTED_TO_ROLE, rr(Critical, Approve)),
        (rules::ADMIN_GRANTED_TO_GROUP, rr(Critical, Approve)),
        (rules::ADMIN_POLICY_VERSION, rr(Critical, Approve)),
        (rules::IDENTITY_PROVIDER_CHANGED, rr(High, Approve)),
        (rules::MFA_DEVICE_DELETED, rr(High, Notify)),
        (rules::USER_RENAMED, rr(High, Notify)),
        (rules::AWS_COMPROMISED_KEY_QUARANTINE, rr(Critical, Auto)),
        (rules::ROOT_PASSWORD_CHANGED, rr(Critical, Notify)),
        (rules::CONSOLE_LOGIN_AFTER_FAILURES, rr(High, Approve)),
        (rules::QUARANTINE_TAMPERED, rr(Critical, Auto)),
        (rules::QUARANTINE_POLICY_CHANGED, rr(Critical, Approve)),
        (rules::RULES_TAMPERED, rr(Critical, Approve)),
        (rules::WORKFLOW_TAMPERED, rr(Critical, Approve)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        ResponsePolicy {
            rules: default_rule_table(),
            default_rule: rr(Severity::High, Disposition::Approve),
            allowlisted_actors: Vec::new(),
            allowlisted_disposition: Disposition::Notify,
            protected_principals: Vec::new(),
            approval_timeout_seconds: 3600,
            on_approval_timeout: Disposition::Notify,
            deactivate_access_keys: false,
            delete_login_profile: false,
            attach_force_mfa_policy: false,
            failure_window_seconds: 900,
            failure_threshold: 5,
            audit_key_max_age_days: None,
            audit_key_max_unused_days: None,
        }
    }
}

impl ResponsePolicy {
    /// Severity and disposition configured for `rule` (or `default_rule`).
    pub fn rule_response(&self, rule: &str) -> RuleResponse {
        self.rules.get(rule).copied().unwrap_or(self.default_rule)
    }

    /// The failed sign-in counter's window and threshold.
    pub fn failure_window(&self) -> crate::failures::FailureWindow {
        crate::failures::FailureWindow {
            seconds: self.failure_window_seconds,
            threshold: self.failure_threshold,
        }
    }

    /// The MFA audit's optional access-key limits.
    pub fn audit_settings(&self) -> crate::audit::AuditSettings {
        crate::audit::AuditSettings {
            key_max_age_days: self.audit_key_max_age_days,
            key_max_unused_days: self.audit_key_max_unused_days,
        }
    }
}
