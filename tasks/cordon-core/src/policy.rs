//! The response policy: what Cordon does with each detection.
//!
//! Loaded from JSON ([`ResponsePolicy::from_json`]); every field is optional and falls
//! back to [`ResponsePolicy::default`]. Unknown fields are rejected, and errors name the
//! bad field.
//!
//! # Default response table
//!
//! | rule | severity | disposition | why |
//! |---|---|---|---|
//! | `iam.admin-policy-attached` | critical | auto | AdministratorAccess/IAMFullAccess on a user: high confidence |
//! | `iam.inline-admin-policy` | critical | auto | inline `*` on `*`; approve when the document could not be parsed |
//! | `iam.added-to-admin-group` | critical | auto | membership of an `*admin*` group |
//! | `iam.user-created` | high | approve | backdoor users are the S1/S2 case, but CI and admins create users too |
//! | `iam.access-key-for-other-user` | high | approve | persistence technique, but the target is often a service user |
//! | `iam.login-profile-created` | high | approve | console access for a (programmatic) user |
//! | `iam.login-profile-updated` | high | approve | password reset of another user |
//! | `iam.mfa-deactivated` | high | approve | |
//! | `iam.user-deleted` | high | approve | contains the actor (the target is gone) |
//! | `cloudtrail.logging-stopped` | critical | approve | contains the actor |
//! | `iam.role-external-trust` | high | notify | a role is not an IAM user, so it is not contained |
//! | `iam.root-access-key-created` | critical | notify | root is never contained |
//! | `root.api-call` | critical | notify | root is never contained |
//! | `signin.root-console-login` | high (critical without MFA) | notify | root is never contained |
//! | `signin.root-console-login-failed` | high | notify | |
//! | `signin.console-login-no-mfa` | medium | approve | |
//! | `signin.console-login-failed` | medium (low for unknown user names) | notify | escalated by [`crate::failure::FailureWindow`] |
//! | `audit.mfa-missing` | medium | notify | optional force-MFA remediation |
//! | any other rule (`default_rule`) | high | approve | uncertain: ask a human |
//!
//! Then [`ResponsePolicy::assess`] adjusts:
//! - root activity → critical; a suspicious user agent (Kali, Parrot, …) → one level up;
//!   a target that already holds admin rights (from enrich's facts) → one level up;
//! - an uncertain detection (unparsed policy document) is never `auto`, it is `approve`;
//! - an allowlisted actor (session issuer role ARN for assumed roles; `*` suffix = prefix
//!   match) or Cordon's own role → `allowlisted_disposition` (`notify` by default). Root is
//!   never allowlisted;
//! - a principal that cannot be contained (root, Cordon's own roles, `protected_principals`,
//!   unknown, not an IAM user) → never `auto` or `approve`: `notify`;
//! - root activity is never `ignore`.
//!
//! Other defaults: `approval_timeout_seconds` 3600, `on_approval_timeout` `notify`,
//! `deactivate_access_keys`, `delete_login_profile` and `attach_force_mfa_policy` false,
//! `failure_window_seconds` 900, `failure_threshold` 5.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::rules;
use crate::error::TaskError;
use crate::model::{
    Assessment, Detection, Disposition, Principal, PrincipalKind, Severity, UserFacts,
};
use crate::policy_document::{is_admin_group_name, is_admin_managed_policy};

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
    /// Actor ARNs (session issuer role ARNs for assumed roles). `*` suffix = prefix match.
    pub allowlisted_actors: Vec<String>,
    /// `ignore` or `notify`. The incident is still opened and recorded.
    pub allowlisted_disposition: Disposition,
    /// ARNs or user names that are never contained (break-glass users). `*` suffix = prefix.
    pub protected_principals: Vec<String>,
    pub approval_timeout_seconds: u64,
    /// What happens when nobody answers an approval request: `auto`, `notify` or `ignore`.
    pub on_approval_timeout: Disposition,
    pub deactivate_access_keys: bool,
    pub delete_login_profile: bool,
    /// Attach the force-MFA policy for MFA findings (`signin.console-login-no-mfa`,
    /// `iam.mfa-deactivated`, `audit.mfa-missing`).
    pub attach_force_mfa_policy: bool,
    /// Sliding window and threshold of the failed sign-in counter.
    pub failure_window_seconds: u64,
    pub failure_threshold: u32,
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
        (rules::ROLE_EXTERNAL_TRUST, rr(High, Notify)),
        (rules::ROOT_ACCESS_KEY_CREATED, rr(Critical, Notify)),
        (rules::ROOT_API_CALL, rr(Critical, Notify)),
        (rules::ROOT_CONSOLE_LOGIN, rr(High, Notify)),
        (rules::ROOT_CONSOLE_LOGIN_FAILED, rr(High, Notify)),
        (rules::CONSOLE_LOGIN_NO_MFA, rr(Medium, Approve)),
        (rules::CONSOLE_LOGIN_FAILED, rr(Medium, Notify)),
        (rules::AUDIT_MFA_MISSING, rr(Medium, Notify)),
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
        }
    }
}

const KNOWN_FIELDS: &[&str] = &[
    "rules",
    "default_rule",
    "allowlisted_actors",
    "allowlisted_disposition",
    "protected_principals",
    "approval_timeout_seconds",
    "on_approval_timeout",
    "deactivate_access_keys",
    "delete_login_profile",
    "attach_force_mfa_policy",
    "failure_window_seconds",
    "failure_threshold",
];

fn cfg_err(field: &str, msg: impl std::fmt::Display) -> TaskError {
    TaskError::Config(format!("response policy field `{field}`: {msg}"))
}

fn field<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Result<T, TaskError> {
    serde_json::from_value(v.clone()).map_err(|e| cfg_err(name, e))
}

fn arn_list(v: &Value, name: &str) -> Result<Vec<String>, TaskError> {
    let list: Vec<String> = field(v, name)?;
    for (i, entry) in list.iter().enumerate() {
        let t = entry.trim();
        if t.is_empty() {
            return Err(cfg_err(&format!("{name}[{i}]"), "must not be empty"));
        }
        if t == "*" || t == "arn:*" || t == "arn:aws:*" {
            return Err(cfg_err(
                &format!("{name}[{i}]"),
                format!("\"{t}\" would match every identity; list ARNs or ARN prefixes"),
            ));
        }
    }
    Ok(list.into_iter().map(|s| s.trim().to_string()).collect())
}

impl ResponsePolicy {
    /// Parses a JSON policy. Missing fields keep their defaults; `rules` entries override
    /// the built-in table per field.
    pub fn from_json(json: &str) -> Result<Self, TaskError> {
        let root: Value = serde_json::from_str(json)
            .map_err(|e| TaskError::Config(format!("response policy is not valid JSON: {e}")))?;
        let obj = root.as_object().ok_or_else(|| {
            TaskError::Config("response policy must be a JSON object".to_string())
        })?;
        let mut p = ResponsePolicy::default();
        for (key, v) in obj {
            match key.as_str() {
                "rules" => {
                    let map = v
                        .as_object()
                        .ok_or_else(|| cfg_err("rules", "must be an object keyed by rule id"))?;
                    for (rule, ov) in map {
                        let name = format!("rules.{rule}");
                        if !rules::INCIDENT_RULES.contains(&rule.as_str()) {
                            return Err(cfg_err(
                                &name,
                                format!(
                                    "unknown rule id; known rules: {}",
                                    rules::INCIDENT_RULES.join(", ")
                                ),
                            ));
                        }
                        let ov: RuleOverride = field(ov, &name)?;
                        let base = p.rule_response(rule);
                        p.rules.insert(
                            rule.clone(),
                            RuleResponse {
                                severity: ov.severity.unwrap_or(base.severity),
                                disposition: ov.disposition.unwrap_or(base.disposition),
                            },
                        );
                    }
                }
                "default_rule" => {
                    let ov: RuleOverride = field(v, key)?;
                    p.default_rule = RuleResponse {
                        severity: ov.severity.unwrap_or(p.default_rule.severity),
                        disposition: ov.disposition.unwrap_or(p.default_rule.disposition),
                    };
                }
                "allowlisted_actors" => p.allowlisted_actors = arn_list(v, key)?,
                "protected_principals" => p.protected_principals = arn_list(v, key)?,
                "allowlisted_disposition" => {
                    let d: Disposition = field(v, key)?;
                    if !matches!(d, Disposition::Ignore | Disposition::Notify) {
                        return Err(cfg_err(
                            key,
                            format!("must be \"ignore\" or \"notify\", got \"{}\"", d.as_str()),
                        ));
                    }
                    p.allowlisted_disposition = d;
                }
                "on_approval_timeout" => {
                    let d: Disposition = field(v, key)?;
                    if d == Disposition::Approve {
                        return Err(cfg_err(
                            key,
                            "must be \"auto\", \"notify\" or \"ignore\" (\"approve\" would wait again)",
                        ));
                    }
                    p.on_approval_timeout = d;
                }
                "approval_timeout_seconds" => {
                    let s: u64 = field(v, key)?;
                    if !(60..=31_536_000).contains(&s) {
                        return Err(cfg_err(
                            key,
                            format!("must be between 60 and 31536000 (one year), got {s}"),
                        ));
                    }
                    p.approval_timeout_seconds = s;
                }
                "deactivate_access_keys" => p.deactivate_access_keys = field(v, key)?,
                "delete_login_profile" => p.delete_login_profile = field(v, key)?,
                "attach_force_mfa_policy" => p.attach_force_mfa_policy = field(v, key)?,
                "failure_window_seconds" => {
                    let s: u64 = field(v, key)?;
                    if s == 0 {
                        return Err(cfg_err(key, "must be at least 1"));
                    }
                    p.failure_window_seconds = s;
                }
                "failure_threshold" => {
                    let n: u32 = field(v, key)?;
                    if n == 0 {
                        return Err(cfg_err(key, "must be at least 1"));
                    }
                    p.failure_threshold = n;
                }
                other => {
                    return Err(cfg_err(
                        other,
                        format!("unknown field; known fields: {}", KNOWN_FIELDS.join(", ")),
                    ));
                }
            }
        }
        Ok(p)
    }

    /// Severity and disposition configured for `rule` (or `default_rule`).
    pub fn rule_response(&self, rule: &str) -> RuleResponse {
        self.rules.get(rule).copied().unwrap_or(self.default_rule)
    }

    /// `true` when the actor's allowlist identity (session issuer role ARN for assumed
    /// roles, else the ARN) matches `allowlisted_actors`. Root is never allowlisted.
    pub fn is_actor_allowlisted(&self, actor: &crate::model::Actor) -> bool {
        if actor.kind == PrincipalKind::Root {
            return false;
        }
        let Some(id) = actor.allowlist_identity() else {
            return false;
        };
        self.allowlisted_actors
            .iter()
            .any(|p| pattern_matches(p, id))
    }

    /// `true` when the principal is on `protected_principals` (by ARN or user name).
    pub fn is_protected(&self, principal: &Principal) -> bool {
        self.protected_principals.iter().any(|entry| {
            if entry.starts_with("arn:") {
                principal
                    .arn
                    .as_deref()
                    .is_some_and(|a| pattern_matches(entry, a))
            } else {
                principal.name.as_deref().is_some_and(|n| {
                    match entry.strip_suffix('*') {
                        Some(prefix) => n
                            .to_ascii_lowercase()
                            .starts_with(&prefix.to_ascii_lowercase()),
                        // IAM user names are unique case-insensitively.
                        None => n.eq_ignore_ascii_case(entry),
                    }
                })
            }
        })
    }

    /// Refuses root, Cordon's own roles (and their sessions) and protected principals.
    pub fn check_containable(
        &self,
        principal: &Principal,
        own_role_arns: &[String],
    ) -> Result<(), TaskError> {
        let who = principal
            .arn
            .clone()
            .unwrap_or_else(|| principal.display_name());
        let protected = |reason: &str| TaskError::ProtectedPrincipal {
            principal: who.clone(),
            reason: reason.to_string(),
        };
        if principal.kind == PrincipalKind::Root
            || principal
                .arn
                .as_deref()
                .is_some_and(|a| a.ends_with(":root"))
        {
            return Err(protected("the root user is never contained"));
        }
        if is_own_role(principal, own_role_arns) {
            return Err(protected(
                "it is one of Cordon's own roles; containing it would disable incident response",
            ));
        }
        if self.is_protected(principal) {
            return Err(protected(
                "it is on the response policy's protected_principals list (break-glass)",
            ));
        }
        if principal.name.is_none() && principal.arn.is_none() {
            return Err(TaskError::PrincipalNotFound(
                "(unknown: the event does not identify the principal)".to_string(),
            ));
        }
        Ok(())
    }

    /// Severity and disposition for a detection. Never drops an incident: the lowest
    /// outcome is `ignore` (recorded, no notification), only for allowlisted actors or
    /// when configured.
    pub fn assess(
        &self,
        detection: &Detection,
        facts: Option<&UserFacts>,
        own_role_arns: &[String],
    ) -> Assessment {
        let d = detection;
        let mut reasons = Vec::new();
        let base = self.rule_response(&d.rule);
        let mut severity = base.severity;
        let mut disposition = base.disposition;
        let source = if self.rules.contains_key(&d.rule) {
            "rule"
        } else {
            "unknown rule, default_rule"
        };
        reasons.push(format!(
            "{source} {}: severity {}, disposition {}",
            d.rule,
            severity.as_str(),
            disposition.as_str()
        ));

        let ev_bool = |k: &str| d.evidence.get(k).and_then(Value::as_bool);

        // Severity adjustments.
        if d.rule == rules::CONSOLE_LOGIN_FAILED
            && d.principal.is_none()
            && severity > Severity::Low
        {
            severity = Severity::Low;
            reasons.push("failed sign-in for an unknown user name: low".to_string());
        }
        if d.root_activity {
            let root_login_with_mfa =
                d.rule == rules::ROOT_CONSOLE_LOGIN && ev_bool("mfaUsed") == Some(true);
            if d.rule != rules::ROOT_CONSOLE_LOGIN_FAILED && !root_login_with_mfa {
                if severity < Severity::Critical {
                    reasons.push("root activity: escalated to critical".to_string());
                }
                severity = Severity::Critical;
            }
        }
        if let Some(marker) = d
            .evidence
            .get("suspiciousUserAgent")
            .and_then(Value::as_str)
        {
            severity = severity.escalated();
            reasons.push(format!(
                "user agent indicates an offensive-security distribution ({marker}): escalated to {}",
                severity.as_str()
            ));
        }
        if let Some(f) = facts
            && holds_admin_rights(f)
        {
            severity = severity.escalated();
            reasons.push(format!(
                "{} already holds administrator rights: escalated to {}",
                f.user_name,
                severity.as_str()
            ));
        }
        if let Some(n) = d.evidence.get("failureCount").and_then(Value::as_u64) {
            reasons.push(format!("{n} failed sign-ins in the failure window"));
            if ev_bool("failureThresholdReached") == Some(true) {
                let counts = crate::failure::FailureCounts {
                    user: u32::try_from(n).unwrap_or(u32::MAX),
                    ip: 0,
                    threshold_reached: true,
                };
                let escalated =
                    crate::failure::escalate_severity(severity, &counts, self.failure_threshold);
                if escalated > severity {
                    severity = escalated;
                    reasons.push(format!(
                        "failure threshold ({}) reached: escalated to {}",
                        self.failure_threshold,
                        severity.as_str()
                    ));
                }
                if rank(disposition) < rank(Disposition::Approve) {
                    disposition = Disposition::Approve;
                    reasons.push("repeated failures: ask a human (approve)".to_string());
                }
            }
        }

        // Uncertain detections go to a human.
        let uncertain = ev_bool("adminPolicyConfirmed") == Some(false)
            || ev_bool("trustPolicyParsed") == Some(false);
        if uncertain && disposition == Disposition::Auto {
            disposition = Disposition::Approve;
            reasons.push(
                "detection is uncertain (document not parseable): approve, not auto".to_string(),
            );
        }

        // Allowlisted actors.
        let own_actor = d
            .actor
            .allowlist_identity()
            .is_some_and(|id| own_role_arns.iter().any(|r| r == id))
            || is_own_role(&d.actor.as_principal(), own_role_arns);
        let allowlisted = d.actor.kind != PrincipalKind::Root
            && (own_actor || self.is_actor_allowlisted(&d.actor));
        if allowlisted {
            if rank(self.allowlisted_disposition) < rank(disposition) {
                disposition = self.allowlisted_disposition;
            }
            reasons.push(format!(
                "actor {} is {}: {}",
                d.actor.allowlist_identity().unwrap_or("(unknown)"),
                if own_actor {
                    "one of Cordon's own roles"
                } else {
                    "allowlisted"
                },
                disposition.as_str()
            ));
        }

        // Containability.
        let (containable, protected_reason) = match &d.principal {
            None => (
                false,
                Some("the event does not identify a principal to contain".to_string()),
            ),
            Some(p) => {
                let mut p = p.clone();
                if let Some(f) = facts
                    && p.arn.is_none()
                    && !f.arn.is_empty()
                {
                    p.arn = Some(f.arn.clone());
                }
                match self.check_containable(&p, own_role_arns) {
                    Err(TaskError::ProtectedPrincipal { reason, .. }) => (false, Some(reason)),
                    Err(e) => (false, Some(e.to_string())),
                    Ok(()) if p.kind != PrincipalKind::IamUser => (
                        false,
                        Some(format!(
                            "{} is a {}, not an IAM user; Cordon only contains IAM users",
                            p.display_name(),
                            p.kind.as_str()
                        )),
                    ),
                    Ok(()) => (true, None),
                }
            }
        };
        if !containable && matches!(disposition, Disposition::Auto | Disposition::Approve) {
            reasons.push(format!(
                "principal cannot be contained ({}): {} downgraded to notify",
                protected_reason.as_deref().unwrap_or("unknown reason"),
                disposition.as_str()
            ));
            disposition = Disposition::Notify;
        }
        if d.root_activity && disposition == Disposition::Ignore {
            disposition = Disposition::Notify;
            reasons.push("root activity is never ignored: notify".to_string());
        }

        Assessment {
            severity,
            disposition,
            reasons,
            actor_allowlisted: allowlisted,
            containable,
            protected_reason,
        }
    }
}

fn rank(d: Disposition) -> u8 {
    match d {
        Disposition::Ignore => 0,
        Disposition::Notify => 1,
        Disposition::Approve => 2,
        Disposition::Auto => 3,
    }
}

/// Exact match, or prefix match when `pattern` ends with `*`.
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => value == pattern,
    }
}

fn holds_admin_rights(f: &UserFacts) -> bool {
    f.attached_policies
        .iter()
        .any(|p| is_admin_managed_policy(&p.arn))
        || f.groups.iter().any(|g| is_admin_group_name(g))
}

/// `(account, role name)` of a role ARN (`arn:aws:iam::ACC:role/path/NAME`) or an
/// assumed-role session ARN (`arn:aws:sts::ACC:assumed-role/NAME/SESSION`).
fn role_of_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    match service {
        "iam" => resource
            .strip_prefix("role/")
            .and_then(|r| r.rsplit('/').next())
            .map(|n| (account, n)),
        "sts" => resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split('/').next())
            .map(|n| (account, n)),
        _ => None,
    }
    .filter(|(_, n)| !n.is_empty())
}

/// The principal is one of Cordon's own roles, or a session of one.
fn is_own_role(principal: &Principal, own_role_arns: &[String]) -> bool {
    own_role_arns.iter().any(|own| {
        if principal.arn.as_deref() == Some(own.as_str()) {
            return true;
        }
        let Some((own_acc, own_name)) = role_of_arn(own) else {
            return false;
        };
        // `own_name` may end in `*` (the template protects every `<stack>-*` role).
        if let Some((acc, name)) = principal.arn.as_deref().and_then(role_of_arn) {
            return acc == own_acc && pattern_matches(own_name, name);
        }
        matches!(
            principal.kind,
            PrincipalKind::Role | PrincipalKind::AssumedRole
        ) && principal
            .name
            .as_deref()
            .is_some_and(|name| pattern_matches(own_name, name))
            && principal.account_id.as_deref().is_none_or(|a| a == own_acc)
    })
}
