//! Administrator access granted to an IAM user: an admin-equivalent managed policy, an
//! inline policy allowing `*` on `*`, membership of an administrator group.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::rules;
use crate::event::{excerpt, value_at};
use crate::policy_document::{PolicyDocument, is_admin_group_name, is_admin_managed_policy};

/// `AttachUserPolicy` of an AWS-managed admin-equivalent policy.
pub(super) const ATTACH_USER_POLICY: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["AttachUserPolicy"],
    rules: &[rules::ADMIN_POLICY_ATTACHED],
    examines_failed_calls: false,
    detect: attach_user_policy,
};

/// `PutUserPolicy` of an inline policy that grants administrator access. A document
/// that cannot be read is kept as an (uncertain) incident.
pub(super) const PUT_USER_POLICY: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["PutUserPolicy"],
    rules: &[rules::INLINE_ADMIN_POLICY],
    examines_failed_calls: false,
    detect: put_user_policy,
};

/// `AddUserToGroup` of a group named like an administrator group.
pub(super) const ADD_USER_TO_GROUP: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["AddUserToGroup"],
    rules: &[rules::ADDED_TO_ADMIN_GROUP],
    examines_failed_calls: false,
    detect: add_user_to_group,
};

fn attach_user_policy(call: &Call<'_>) -> Verdict {
    let policy_arn = call.rec.request_str("policyArn").unwrap_or("");
    if !is_admin_managed_policy(policy_arn) {
        return call.none(format!(
            "AttachUserPolicy of {} is not an administrator policy",
            excerpt(policy_arn)
        ));
    }
    let target = call.target_user()?;
    let mut ev = BTreeMap::new();
    ev.insert("policyArn".to_string(), json!(policy_arn));
    ev.insert("targetUserName".to_string(), json!(target));
    let title = format!(
        "{} attached to IAM user {} by {}",
        policy_arn.rsplit('/').next().unwrap_or(policy_arn),
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident(rules::ADMIN_POLICY_ATTACHED, title, principal, ev)
}

fn put_user_policy(call: &Call<'_>) -> Verdict {
    let doc = value_at(&call.rec.request_parameters, &["policyDocument"]);
    let parsed = doc.and_then(PolicyDocument::parse);
    let policy_name = call.rec.request_str("policyName");
    let mut ev = BTreeMap::new();
    ev.insert("policyName".to_string(), json!(policy_name));
    match &parsed {
        Some(p) => {
            let admin = p.admin_statements();
            if admin.is_empty() {
                return call.none(format!(
                    "inline policy {} does not grant administrator access",
                    excerpt(policy_name.unwrap_or("(unnamed)"))
                ));
            }
            ev.insert("adminPolicyConfirmed".into(), json!(true));
            ev.insert("adminStatements".into(), Value::Array(admin));
        }
        None => {
            // Uncertain: keep it as an incident; the policy routes it to a human.
            ev.insert("adminPolicyConfirmed".into(), json!(false));
            ev.insert(
                "policyDocumentProblem".into(),
                json!("policyDocument is missing or not a parseable IAM policy"),
            );
        }
    }
    let target = call.target_user()?;
    ev.insert("targetUserName".into(), json!(target));
    let title = format!(
        "Inline administrator policy {} put on IAM user {} by {}",
        policy_name.unwrap_or("(unnamed)"),
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident(rules::INLINE_ADMIN_POLICY, title, principal, ev)
}

fn add_user_to_group(call: &Call<'_>) -> Verdict {
    let group = call.rec.request_str("groupName").unwrap_or("");
    if !is_admin_group_name(group) {
        return call.none(format!(
            "AddUserToGroup to {} (not an administrator group)",
            excerpt(group)
        ));
    }
    let target = call.target_user()?;
    let mut ev = BTreeMap::new();
    ev.insert("groupName".to_string(), json!(group));
    ev.insert("targetUserName".to_string(), json!(target));
    let title = format!(
        "IAM user {} added to group {group} by {}",
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident(rules::ADDED_TO_ADMIN_GROUP, title, principal, ev)
}
