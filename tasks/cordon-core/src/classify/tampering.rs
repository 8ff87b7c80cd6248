//! Attacks on Cordon itself (`cordon.*` rules, all critical): containment undone outside
//! Cordon, its quarantine policy edited or deleted, its EventBridge rules disabled or
//! redirected, its workflow stopped or changed. Cordon's resources are recognised by the
//! stack's name (`own.rs`); a change a CloudFormation deployment makes is not an attack.
//!
//! Containment undone (the quarantine, force-MFA or `AWSDenyAll` policy detached from a
//! user, the session-revocation policy deleted from a role) names the principal that was
//! freed, so that the workflow contains it again; the other attacks name the actor.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::own::{is_own_rule, is_own_workflow, is_revocation_policy, own_policy};
use super::rules;
use crate::event::excerpt;

/// `DetachUserPolicy` of Cordon's containment policies, `DeleteRolePolicy` of its
/// session-revocation policy.
pub(super) const CONTAINMENT_REMOVED: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["DetachUserPolicy", "DeleteRolePolicy"],
    rules: &[rules::QUARANTINE_TAMPERED],
    examines_failed_calls: false,
    detect: containment_removed,
};

/// Cordon's EventBridge rules disabled, deleted, changed or retargeted.
pub(super) const RULES: Detector = Detector {
    event_source: sources::EVENTS,
    event_names: &[
        "DisableRule",
        "DeleteRule",
        "PutRule",
        "RemoveTargets",
        "PutTargets",
    ],
    rules: &[rules::RULES_TAMPERED],
    examines_failed_calls: false,
    detect: rules_changed,
};

/// Cordon's executions stopped, its state machine deleted or updated.
pub(super) const WORKFLOW: Detector = Detector {
    event_source: sources::STATES,
    event_names: &["StopExecution", "DeleteStateMachine", "UpdateStateMachine"],
    rules: &[rules::WORKFLOW_TAMPERED],
    examines_failed_calls: false,
    detect: workflow_changed,
};

fn containment_removed(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let mut ev = BTreeMap::new();
    if rec.event_name == "DeleteRolePolicy" {
        let policy = rec.request_str("policyName").unwrap_or("");
        let role = rec.request_str("roleName").unwrap_or("");
        if !is_revocation_policy(policy) || role.is_empty() {
            return call.none(format!(
                "inline policy {} deleted from role {}: not Cordon's",
                excerpt(policy),
                excerpt(role)
            ));
        }
        ev.insert("policyName".to_string(), json!(policy));
        ev.insert("targetRoleName".to_string(), json!(role));
        let title = format!(
            "Cordon's session revocation removed from role {role} by {}",
            call.actor_name()
        );
        let principal = call.role_principal(role.to_string(), None);
        return call.incident(rules::QUARANTINE_TAMPERED, title, Some(principal), ev);
    }
    let policy_arn = rec.request_str("policyArn").unwrap_or("");
    let Some(own) = own_policy(policy_arn, call.home) else {
        return call.none(format!(
            "{} detached: not one of Cordon's containment policies",
            excerpt(policy_arn)
        ));
    };
    let Some(user) = call.target_user()? else {
        return call.none("DetachUserPolicy names no user".to_string());
    };
    ev.insert("policyArn".to_string(), json!(policy_arn));
    ev.insert("targetUserName".to_string(), json!(user));
    let title = format!(
        "{} detached from IAM user {user} by {}",
        own.describe(),
        call.actor_name()
    );
    let principal = call.user_principal(user, None, None);
    call.incident(rules::QUARANTINE_TAMPERED, title, Some(principal), ev)
}

/// `DeletePolicy` or `DeletePolicyVersion` on Cordon's quarantine or force-MFA policy
/// (claimed with the other policy-version calls, `admin_grants::POLICY_VERSION`).
pub(super) fn quarantine_policy_deleted(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let policy_arn = rec.request_str("policyArn").unwrap_or("");
    let Some(own) = own_policy(policy_arn, call.home) else {
        return call.none(format!(
            "{} on {}: not one of Cordon's policies",
            rec.event_name,
            excerpt(policy_arn)
        ));
    };
    if call.by_cloudformation() {
        return call.none(format!(
            "{} on {} by a CloudFormation stack deployment",
            rec.event_name,
            own.describe()
        ));
    }
    let mut ev = BTreeMap::new();
    ev.insert("policyArn".to_string(), json!(policy_arn));
    ev.insert("versionId".to_string(), json!(rec.request_str("versionId")));
    let title = format!(
        "{} {} by {}",
        own.describe(),
        if rec.event_name == "DeletePolicy" {
            "deleted"
        } else {
            "had a version deleted"
        },
        call.actor_name()
    );
    call.incident(
        rules::QUARANTINE_POLICY_CHANGED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}

fn rules_changed(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let key = if rec.event_name.ends_with("Targets") {
        "rule"
    } else {
        "name"
    };
    let rule = rec.request_str(key).unwrap_or("");
    if !is_own_rule(rule, call.home) {
        return call.none(format!(
            "{} on rule {}: not one of Cordon's rules",
            rec.event_name,
            excerpt(rule)
        ));
    }
    if call.by_cloudformation() {
        return call.none(format!(
            "{} on Cordon's rule {} by a CloudFormation stack deployment",
            rec.event_name,
            excerpt(rule)
        ));
    }
    let mut ev = BTreeMap::new();
    ev.insert("ruleName".to_string(), json!(rule));
    ev.insert("ruleAction".to_string(), json!(rec.event_name));
    if let Some(state) = rec.request_str("state") {
        ev.insert("state".to_string(), json!(state));
    }
    let what = match rec.event_name.as_str() {
        "DisableRule" => "disabled",
        "DeleteRule" => "deleted",
        "PutRule" => "changed",
        "RemoveTargets" => "stripped of targets",
        _ => "retargeted",
    };
    let title = format!(
        "Cordon's EventBridge rule {} {what} by {}",
        excerpt(rule),
        call.actor_name()
    );
    call.incident(
        rules::RULES_TAMPERED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}

fn workflow_changed(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let key = if rec.event_name == "StopExecution" {
        "executionArn"
    } else {
        "stateMachineArn"
    };
    let arn = rec.request_str(key).unwrap_or("");
    if !is_own_workflow(arn, call.home) {
        return call.none(format!(
            "{} on {}: not Cordon's workflow",
            rec.event_name,
            excerpt(arn)
        ));
    }
    if call.by_cloudformation() {
        return call.none(format!(
            "{} on Cordon's state machine by a CloudFormation stack deployment",
            rec.event_name
        ));
    }
    let mut ev = BTreeMap::new();
    ev.insert(key.to_string(), json!(arn));
    ev.insert("workflowAction".to_string(), json!(rec.event_name));
    let title = match rec.event_name.as_str() {
        "StopExecution" => format!(
            "Cordon's incident execution {} stopped by {}",
            excerpt(arn.rsplit(':').next().unwrap_or(arn)),
            call.actor_name()
        ),
        "DeleteStateMachine" => format!(
            "Cordon's incident state machine deleted by {}",
            call.actor_name()
        ),
        _ => format!(
            "Cordon's incident state machine changed by {}",
            call.actor_name()
        ),
    };
    call.incident(
        rules::WORKFLOW_TAMPERED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}
