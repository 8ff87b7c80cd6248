//! Reading a response policy from JSON: defaults for missing fields, per-field overrides
//! of the rule table, and errors that name the bad field.
use serde_json::Value;

use super::identities::IdentityEntry;
use super::settings::{ResponsePolicy, RuleOverride, RuleResponse};
use crate::classify::rules;
use crate::error::TaskError;
use crate::model::Disposition;

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
    "audit_key_max_age_days",
    "audit_key_max_unused_days",
];

fn cfg_err(field: &str, msg: impl std::fmt::Display) -> TaskError {
    TaskError::Config(format!("response policy field `{field}`: {msg}"))
}

fn field<T: serde::de::DeserializeOwned>(v: &Value, name: &str) -> Result<T, TaskError> {
    serde_json::from_value(v.clone()).map_err(|e| cfg_err(name, e))
}

/// A list of identities: each entry one user or role (ARN, user name or unique id), never
/// a wildcard (see `identities.rs`).
fn identity_list(v: &Value, name: &str) -> Result<Vec<String>, TaskError> {
    let list: Vec<String> = field(v, name)?;
    for (i, entry) in list.iter().enumerate() {
        IdentityEntry::parse(entry).map_err(|why| cfg_err(&format!("{name}[{i}]"), why))?;
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
        let mut audit_disposition_set = false;
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
                        if rule == rules::AUDIT_MFA_MISSING && ov.disposition.is_some() {
                            audit_disposition_set = true;
                        }
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
                "allowlisted_actors" => p.allowlisted_actors = identity_list(v, key)?,
                "protected_principals" => p.protected_principals = identity_list(v, key)?,
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
                "audit_key_max_age_days" | "audit_key_max_unused_days" => {
                    let days: Option<u32> = field(v, key)?;
                    if days == Some(0) {
                        return Err(cfg_err(key, "must be at least 1 (or null: not checked)"));
                    }
                    if key == "audit_key_max_age_days" {
                        p.audit_key_max_age_days = days;
                    } else {
                        p.audit_key_max_unused_days = days;
                    }
                }
                other => {
                    return Err(cfg_err(
                        other,
                        format!("unknown field; known fields: {}", KNOWN_FIELDS.join(", ")),
                    ));
                }
            }
        }
        // The force-MFA remediation runs on audit findings only if they are contained.
        if p.attach_force_mfa_policy && !audit_disposition_set {
            let base = p.rule_response(rules::AUDIT_MFA_MISSING);
            p.rules.insert(
                rules::AUDIT_MFA_MISSING.to_string(),
                RuleResponse {
                    disposition: Disposition::Auto,
                    ..base
                },
            );
        }
        Ok(p)
    }
}
