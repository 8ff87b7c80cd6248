//! Containing a role: its sessions issued before now are revoked the way the IAM console's
//! "Revoke active sessions" does it, with an inline policy that denies everything to
//! sessions whose `aws:TokenIssueTime` is older (`cordon_core::quarantine`). Whoever
//! legitimately uses the role assumes it again and carries on; the attacker's session is
//! dead. Cordon's own roles and protected roles are refused before anything is touched
//! (`Cordon.ProtectedPrincipal`), and so are roles IAM does not let anyone change
//! (service-linked, Identity Center's).
//!
//! Idempotent: a revocation already in place is kept (its time is the first
//! containment's), so a retry does not move the cut-off.
use chrono::{DateTime, Utc};
use cordon_aws::incidents::TimelineEntry;
use cordon_core::TaskError;
use cordon_core::model::{Principal, PrincipalKind, Snapshot};
use cordon_core::quarantine::{
    REVOKE_SESSIONS_POLICY_NAME, revoke_sessions_policy_document, revoked_before,
};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::deps::Deps;
use crate::output::{Output, Remediation};

/// What revoking a role's sessions did: recorded on the Quarantine timeline entry (as
/// `details.roleSessions`), which is how release finds what to take off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSessions {
    pub role_name: String,
    pub policy_name: String,
    /// Sessions issued before this are denied.
    pub issued_before: DateTime<Utc>,
    /// This run put the policy (not a retry finding it in place).
    pub revoked_now: bool,
}

/// Revokes `role`'s older sessions, unless that is done already.
pub(crate) async fn revoke(
    role: &str,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<RevokedSessions, TaskError> {
    if let Some(existing) = deps
        .roles
        .get_role_inline_policy(role, REVOKE_SESSIONS_POLICY_NAME)
        .await?
        .as_ref()
        .and_then(revoked_before)
    {
        return Ok(RevokedSessions {
            role_name: role.to_string(),
            policy_name: REVOKE_SESSIONS_POLICY_NAME.to_string(),
            issued_before: existing,
            revoked_now: false,
        });
    }
    // The policy holds whole seconds: round up, so a session issued in the second
    // containment began is revoked too (a legitimate user simply assumes the role again).
    let cutoff = whole_second_at_or_after(now);
    deps.roles
        .put_role_inline_policy(
            role,
            REVOKE_SESSIONS_POLICY_NAME,
            &revoke_sessions_policy_document(cutoff),
        )
        .await?;
    Ok(RevokedSessions {
        role_name: role.to_string(),
        policy_name: REVOKE_SESSIONS_POLICY_NAME.to_string(),
        issued_before: cutoff,
        revoked_now: true,
    })
}

/// `t` rounded up to a whole second.
fn whole_second_at_or_after(t: DateTime<Utc>) -> DateTime<Utc> {
    match DateTime::from_timestamp(t.timestamp(), 0) {
        Some(floor) if floor < t => floor + chrono::Duration::seconds(1),
        Some(floor) => floor,
        None => t,
    }
}

/// The role a principal names (a role, or a session of one), refused when it may not be
/// touched.
fn role_of(principal: &Principal, deps: &Deps) -> Result<String, TaskError> {
    deps.policy
        .check_containable(principal, &deps.identities.resolved)?;
    principal
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            TaskError::PrincipalNotFound("(unknown: the detection names no role)".into())
        })
}

/// Contains a role principal: see the module docs.
pub(crate) async fn contain(
    incident_id: &str,
    principal: &Principal,
    deps: &Deps,
) -> Result<Output, TaskError> {
    let role = role_of(principal, deps)?;
    let facts = deps
        .roles
        .get_role_facts(&role)
        .await?
        .ok_or_else(|| TaskError::PrincipalNotFound(role.clone()))?;
    // A session's principal carries the session's ARN: the role's own is checked too.
    deps.policy.check_containable(
        &Principal {
            kind: PrincipalKind::Role,
            name: Some(facts.role_name.clone()),
            arn: Some(facts.arn.clone()),
            account_id: principal.account_id.clone(),
            principal_id: Some(facts.role_id.clone()),
        },
        &deps.identities.resolved,
    )?;
    if let Some(why) = facts.unmodifiable() {
        return Err(TaskError::ProtectedPrincipal {
            principal: facts.arn.clone(),
            reason: why,
        });
    }
    let now = (deps.clock)();
    let revoked = revoke(&role, now, deps).await?;
    let action = if revoked.revoked_now {
        format!(
            "revoked every session of role {role} issued before {} (inline policy {})",
            revoked.issued_before.to_rfc3339(),
            REVOKE_SESSIONS_POLICY_NAME
        )
    } else {
        format!("the sessions of role {role} were already revoked; nothing to change")
    };
    deps.store
        .append(
            incident_id,
            &TimelineEntry {
                at: now,
                step: "Quarantine".into(),
                message: action.clone(),
                details: Some(serde_json::json!({ "roleSessions": revoked })),
            },
        )
        .await?;
    info!(
        incident_id = %incident_id,
        step = "quarantine",
        outcome = if revoked.revoked_now { "sessions_revoked" } else { "already_revoked" },
        role = %role,
    );
    Ok(Output {
        incident_id: incident_id.to_string(),
        user_name: role.clone(),
        principal_kind: PrincipalKind::Role,
        snapshot: Snapshot {
            user_name: role,
            user_arn: facts.arn,
            user_id: Some(facts.role_id).filter(|id| !id.is_empty()),
            taken_at: revoked.issued_before,
            attached_policy_arns: vec![],
            active_access_key_ids: vec![],
            inactive_access_key_ids: vec![],
            login_profile: false,
            mfa_devices: vec![],
            groups: vec![],
            inline_policies: vec![],
            cordon_tags: Default::default(),
        },
        snapshot_saved: false,
        quarantined_at: revoked.issued_before,
        policy_arn: String::new(),
        policy_arns: vec![],
        already_attached: !revoked.revoked_now,
        remediation: Remediation::default(),
        actions_taken: if revoked.revoked_now {
            vec![action]
        } else {
            vec![]
        },
    })
}
