//! The quarantine task: contain an IAM user.
//!
//! 1. Refuse protected principals (root, Cordon's own roles, the policy's protected list)
//!    with `Cordon.ProtectedPrincipal`, before touching anything.
//! 2. Snapshot the user's prior state and store it; the **first** snapshot ever stored wins,
//!    so a re-run after keys were already deactivated still releases to the true prior state.
//! 3. Ensure the deny-all managed policy exists and attach it (once).
//! 4. Optional remediation: deactivate active access keys, delete the console password,
//!    attach the force-MFA policy for MFA findings (`force_mfa.rs`; for an MFA audit
//!    finding it replaces the deny-all: see `cordon_core::quarantine::Plan`).
//!
//! A role (or a session of one) is contained differently: its sessions issued before now
//! are revoked (`role_sessions.rs`).
//!
//! Every step is safe to run twice.
use cordon_aws::incidents::TimelineEntry;
use cordon_core::TaskError;
/// The snapshot type lives in `cordon_core::model` (release reads it too).
pub use cordon_core::model::Snapshot;
use cordon_core::model::{KeyStatus, PrincipalKind};
use cordon_core::quarantine::{Plan, QUARANTINE_POLICY_NAME, deny_all_policy_document};
use tracing::info;

mod deps;
mod force_mfa;
mod output;
mod role_sessions;

pub use deps::{Config, Deps};
pub use output::{Input, Output, Remediation};

pub use role_sessions::RevokedSessions;

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    let id = input.incident_id.as_str();
    let principal = input.detection.principal.as_ref().ok_or_else(|| {
        TaskError::PrincipalNotFound(
            "(unknown: the detection names no principal to contain)".to_string(),
        )
    })?;

    // 1. Never act on root, Cordon's own roles or protected principals.
    if let Err(e) = deps
        .policy
        .check_containable(principal, &deps.own_role_arns)
    {
        info!(incident_id = %id, step = "quarantine", outcome = "refused", error = %e);
        return Err(e);
    }
    let plan = Plan::for_rule(&input.detection.rule, principal.kind, &deps.policy);
    if plan.revoke_role_sessions {
        return role_sessions::contain(id, principal, deps).await;
    }
    let user_name = match (&principal.kind, principal.name.as_deref()) {
        (PrincipalKind::IamUser, Some(name)) if !name.is_empty() => name.to_string(),
        (kind, _) => {
            // Not containable, like a protected principal: the workflow notifies instead.
            return Err(TaskError::ProtectedPrincipal {
                principal: principal.display_name(),
                reason: format!(
                    "it is a {} principal, and Cordon contains IAM users only",
                    kind.as_str()
                ),
            });
        }
    };

    let facts = deps
        .identity
        .get_user_facts(&user_name)
        .await?
        .ok_or_else(|| TaskError::PrincipalNotFound(user_name.clone()))?;

    // 2. Snapshot before any change; the first stored snapshot wins.
    let now = (deps.clock)();
    let stored = deps
        .store
        .save_snapshot(id, &Snapshot::of(&facts, now), now)
        .await?;
    let snapshot = stored.snapshot;

    // 3. The deny-all policy, attached once.
    let policy_arn = match &deps.quarantine_policy_arn {
        Some(arn) => arn.clone(),
        None => {
            deps.identity
                .ensure_managed_policy(
                    QUARANTINE_POLICY_NAME,
                    &deny_all_policy_document().to_string(),
                )
                .await?
        }
    };
    let mut actions = Vec::new();
    let already_attached = facts.attached_policies.iter().any(|p| p.arn == policy_arn);
    if plan.deny_all && !already_attached {
        deps.identity
            .attach_user_policy(&user_name, &policy_arn)
            .await?;
        actions.push(format!("attached the deny-all policy {policy_arn}"));
    }

    // 4. Optional remediation, from the current facts (so a re-run does nothing twice).
    let mut remediation = Remediation::default();
    if input
        .remediate
        .unwrap_or(deps.policy.deactivate_access_keys)
    {
        for key in facts
            .access_keys
            .iter()
            .filter(|k| k.status == KeyStatus::Active)
        {
            deps.identity
                .set_access_key_status(&user_name, &key.id, KeyStatus::Inactive)
                .await?;
            actions.push(format!("deactivated access key {}", key.id));
            remediation.deactivated_keys.push(key.id.clone());
        }
    }
    if input.remediate.unwrap_or(deps.policy.delete_login_profile) && facts.login_profile {
        remediation.login_profile_deleted = deps.identity.delete_login_profile(&user_name).await?;
        if remediation.login_profile_deleted {
            actions.push("deleted the console password (login profile)".to_string());
        }
    }

    let mut force_mfa_policy = None;
    if plan.force_mfa {
        let (arn, attached) = force_mfa::attach(&facts, deps).await?;
        if attached {
            actions.push(format!("attached the force-MFA policy {arn}"));
        }
        force_mfa_policy = Some(arn);
    }

    let output = Output {
        incident_id: id.to_string(),
        user_name: user_name.clone(),
        principal_kind: PrincipalKind::IamUser,
        quarantined_at: snapshot.taken_at,
        snapshot,
        snapshot_saved: stored.saved,
        policy_arn,
        already_attached,
        remediation,
        actions_taken: actions,
    };
    deps.store
        .append(
            id,
            &TimelineEntry {
                at: now,
                step: "Quarantine".into(),
                message: if output.actions_taken.is_empty() {
                    format!("{user_name} was already quarantined; nothing to change")
                } else {
                    format!(
                        "quarantined {user_name}: {}",
                        output.actions_taken.join("; ")
                    )
                },
                details: Some(serde_json::json!({
                    "policyArn": plan.deny_all.then_some(&output.policy_arn),
                    "forceMfaPolicyArn": force_mfa_policy,
                    "alreadyAttached": output.already_attached,
                    "remediation": output.remediation,
                    "snapshotSaved": output.snapshot_saved,
                })),
            },
        )
        .await?;
    info!(
        incident_id = %id,
        step = "quarantine",
        outcome = if already_attached { "already_quarantined" } else { "quarantined" },
        user = %user_name,
        deactivated_keys = output.remediation.deactivated_keys.len(),
        login_profile_deleted = output.remediation.login_profile_deleted,
    );
    Ok(output)
}

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
    own_role: own_role_arns,
}
