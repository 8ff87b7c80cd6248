//! The quarantine task: contain an IAM user.
//!
//! 1. Refuse protected principals (root, Cordon's own roles, the policy's protected list,
//!    all by unique id) with `Cordon.ProtectedPrincipal`, before touching anything.
//! 2. Re-check that the user bearing the name is still the one of the event
//!    (`identity_check`): a user deleted and re-created under the same name during the
//!    approval wait is a different identity. A mismatch is recorded on the timeline and
//!    refused (`Cordon.PrincipalNotFound`); nothing is changed.
//! 3. Snapshot the user's prior state and store it; the **first** snapshot ever stored wins,
//!    so a re-run after keys were already deactivated still releases to the true prior state.
//! 3. Ensure the deny-all managed policy exists and attach it (once), with the
//!    AWS-managed `AWSDenyAll`, which nobody in the account can edit, so one
//!    `CreatePolicyVersion` on the customer-managed policy frees no one.
//! 4. Optional remediation: deactivate active access keys, delete the console password,
//!    attach the force-MFA policy for MFA findings (`force_mfa.rs`; for an MFA audit
//!    finding it replaces the deny-all: see `cordon_core::quarantine::Plan`).
//!
//! A role (or a session of one) is contained differently: its sessions issued before now
//! are revoked (`role_sessions.rs`).
//!
//! What a run changed is recorded (`cordon_core::quarantine::QuarantineRecord`), and that
//! is all release undoes. Every step is safe to run twice.
use cordon_aws::incidents::TimelineEntry;
use cordon_core::TaskError;
/// The snapshot type lives in `cordon_core::model` (release reads it too).
pub use cordon_core::model::Snapshot;
use cordon_core::model::{KeyStatus, PrincipalKind};
use cordon_core::quarantine::{Plan, QuarantineRecord};
use tracing::info;

mod deps;
mod force_mfa;
mod identity_check;
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
    let ids = &deps.identities.resolved;

    // 1. Never act on root, Cordon's own roles or protected principals.
    if let Err(e) = deps.policy.check_containable(principal, ids) {
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

    // 2. The user bearing the name now must be the one of the event, and not protected.
    let now = (deps.clock)();
    identity_check::same_user(
        id,
        principal,
        input.facts.as_ref(),
        &facts,
        now,
        &*deps.store,
    )
    .await?;
    let mut current = principal.clone();
    current.principal_id = Some(facts.user_id.clone());
    if let Err(e) = deps.policy.check_containable(&current, ids) {
        info!(incident_id = %id, step = "quarantine", outcome = "refused", error = %e);
        return Err(e);
    }

    // 3. Snapshot before any change; the first stored snapshot wins.
    let stored = deps
        .store
        .save_snapshot(id, &Snapshot::of(&facts, now), now)
        .await?;
    let snapshot = stored.snapshot;

    // 4. The deny-all policies, each attached once.
    let policy_arn = deps.quarantine_policy_arn.clone();
    let policy_arns = if plan.deny_all {
        vec![policy_arn.clone(), deps.deny_all_policy_arn.clone()]
    } else {
        Vec::new()
    };
    let mut actions = Vec::new();
    let mut attached = Vec::new();
    for arn in &policy_arns {
        if !facts.attached_policies.iter().any(|p| p.arn == *arn) {
            deps.identity.attach_user_policy(&user_name, arn).await?;
            actions.push(format!("attached the deny-all policy {arn}"));
            attached.push(arn.clone());
        }
    }
    let already_attached = attached.is_empty();

    // 5. Optional remediation, from the current facts (so a re-run does nothing twice).
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

    // 6. What this run changed: all that release may undo.
    let record = QuarantineRecord {
        policy_arn: if plan.deny_all {
            policy_arn.clone()
        } else {
            String::new()
        },
        attached_policy_arns: attached,
        already_attached,
        remediation: remediation.clone(),
        snapshot_saved: stored.saved,
        user_id: Some(facts.user_id.clone()).filter(|u| !u.is_empty()),
        force_mfa_policy_arn: force_mfa_policy,
    };
    let output = Output {
        incident_id: id.to_string(),
        user_name: user_name.clone(),
        principal_kind: PrincipalKind::IamUser,
        quarantined_at: snapshot.taken_at,
        snapshot,
        snapshot_saved: stored.saved,
        policy_arn,
        policy_arns,
        already_attached,
        remediation,
        actions_taken: actions,
    };
    deps.store
        .append(
            id,
            &TimelineEntry {
                at: now,
                step: QUARANTINE_STEP.into(),
                message: if output.actions_taken.is_empty() {
                    format!("{user_name} was already quarantined; nothing to change")
                } else {
                    format!(
                        "quarantined {user_name}: {}",
                        output.actions_taken.join("; ")
                    )
                },
                details: Some(serde_json::to_value(&record).map_err(|e| {
                    TaskError::invalid(
                        "quarantine",
                        format!("the record could not be serialized: {e}"),
                    )
                })?),
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

/// The timeline step quarantine writes; its details are a [`QuarantineRecord`].
pub const QUARANTINE_STEP: &str = "Quarantine";

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
    identities: identities,
}
