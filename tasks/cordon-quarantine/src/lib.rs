//! The quarantine task: contain an IAM user.
//!
//! 1. Refuse protected principals (root, Cordon's own roles, the policy's protected list)
//!    with `Cordon.ProtectedPrincipal`, before touching anything.
//! 2. Snapshot the user's prior state and store it; the **first** snapshot ever stored wins,
//!    so a re-run after keys were already deactivated still releases to the true prior state.
//! 3. Ensure the deny-all managed policy exists and attach it (once).
//! 4. Optional remediation: deactivate active access keys, delete the console password.
//!
//! Every step is safe to run twice.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::incidents::{IncidentStore, TimelineEntry};
use cordon_aws::{Aws, Clock, IdentityStore};
/// The snapshot type lives in `cordon_core::model` (release reads it too).
pub use cordon_core::model::Snapshot;
use cordon_core::model::{Detection, KeyStatus, PrincipalKind};
use cordon_core::quarantine::{QUARANTINE_POLICY_NAME, deny_all_policy_document};
use cordon_core::{ResponsePolicy, TaskError};
use serde::{Deserialize, Serialize};
use tracing::info;

/// Environment of the quarantine Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_RESPONSE_POLICY` (inline JSON), else the default policy.
    pub policy: ResponsePolicy,
    /// `CORDON_OWN_ROLE_ARNS` (comma-separated) and the function's own role,
    /// `CORDON_FUNCTION_ROLE_ARN` (required; see [`cordon_aws::caller`]).
    pub own_role_arns: Vec<String>,
    /// `CORDON_QUARANTINE_POLICY_ARN`: a pre-created deny-all policy. Without it the
    /// task creates (or finds) `AutomatedSecurityQuarantine`.
    pub quarantine_policy_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            policy: env::response_policy(env)?,
            own_role_arns: cordon_aws::caller::own_role_arns(env)?,
            quarantine_policy_arn: env::optional(env, "CORDON_QUARANTINE_POLICY_ARN"),
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    pub store: Arc<dyn IncidentStore>,
    pub policy: Arc<ResponsePolicy>,
    /// Cordon's own role ARNs, including this function's role.
    pub own_role_arns: Vec<String>,
    pub quarantine_policy_arn: Option<String>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            policy: Arc::new(config.policy),
            own_role_arns: config.own_role_arns,
            quarantine_policy_arn: config.quarantine_policy_arn,
            clock,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub incident_id: String,
    pub detection: Detection,
    /// `true`: deactivate keys and delete the console password; `false`: only attach the
    /// deny-all policy; absent: as the response policy says.
    #[serde(default)]
    pub remediate: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    /// Keys this run deactivated (empty on a re-run: they were already inactive).
    pub deactivated_keys: Vec<String>,
    pub login_profile_deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub incident_id: String,
    pub user_name: String,
    /// The stored snapshot (the first run's, on a re-run).
    pub snapshot: Snapshot,
    /// `true` if this run stored the snapshot.
    pub snapshot_saved: bool,
    /// When containment first happened (the snapshot time): pass it to the tag task.
    pub quarantined_at: DateTime<Utc>,
    pub policy_arn: String,
    /// The deny-all policy was already attached before this run.
    pub already_attached: bool,
    pub remediation: Remediation,
    /// Human-readable list of what this run did (for the notification).
    pub actions_taken: Vec<String>,
}

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
    if !already_attached {
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

    let output = Output {
        incident_id: id.to_string(),
        user_name: user_name.clone(),
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
                    "policyArn": output.policy_arn,
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
}
