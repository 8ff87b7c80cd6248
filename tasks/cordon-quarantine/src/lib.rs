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
//! 4. Attach the deny-all policies (once): the customer-managed one and the AWS-managed
//!    `AWSDenyAll`, which nobody in the account can edit, so one `CreatePolicyVersion` on
//!    the customer-managed policy frees no one.
//! 5. Optional remediation: deactivate active access keys, delete the console password.
//! 6. Record what this run changed (`cordon_core::quarantine::QuarantineRecord`), which is
//!    all that release undoes.
//!
//! Every step is safe to run twice.
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::identities::Identities;
use cordon_aws::incidents::{IncidentStore, TimelineEntry};
use cordon_aws::{Aws, Clock, IdentityStore};
/// The snapshot type lives in `cordon_core::model` (release reads it too).
pub use cordon_core::model::Snapshot;
use cordon_core::model::{Detection, KeyStatus, PrincipalKind, UserFacts};
/// What remediation did; domain data (release reads it from the timeline).
pub use cordon_core::quarantine::Remediation;
use cordon_core::quarantine::{
    QUARANTINE_POLICY_NAME, QuarantineRecord, aws_deny_all_policy_arn, deny_all_policy_document,
    partition_of,
};
use cordon_core::{ResponsePolicy, TaskError};
use serde::{Deserialize, Serialize};
use tracing::info;

mod identity_check;

/// Environment of the quarantine Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_RESPONSE_POLICY` (inline JSON), else the default policy.
    pub policy: ResponsePolicy,
    /// Cordon's own roles (`CORDON_OWN_ROLE_ARNS`) and the policy's protected principals,
    /// resolved to unique ids at cold start (the function's own role among them).
    pub identities: Identities,
    /// `CORDON_QUARANTINE_POLICY_ARN`: a pre-created deny-all policy. Without it the
    /// task creates (or finds) `AutomatedSecurityQuarantine`.
    pub quarantine_policy_arn: Option<String>,
    /// `CORDON_DENY_ALL_POLICY_ARN`: the AWS-managed `AWSDenyAll` of the stack's
    /// partition, attached as well. Default: `arn:<partition>:iam::aws:policy/AWSDenyAll`,
    /// the partition taken from the quarantine policy's ARN.
    pub deny_all_policy_arn: String,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let policy = env::response_policy(env)?;
        let quarantine_policy_arn = env::optional(env, "CORDON_QUARANTINE_POLICY_ARN");
        let deny_all_policy_arn =
            env::optional(env, "CORDON_DENY_ALL_POLICY_ARN").unwrap_or_else(|| {
                aws_deny_all_policy_arn(partition_of(
                    quarantine_policy_arn.as_deref().unwrap_or_default(),
                ))
            });
        Ok(Self {
            table_name: env::table_name(env)?,
            identities: Identities::from_config(&cordon_aws::caller::own_role_arns(env)?, &policy)?,
            policy,
            quarantine_policy_arn,
            deny_all_policy_arn,
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    pub store: Arc<dyn IncidentStore>,
    pub policy: Arc<ResponsePolicy>,
    /// Resolved at cold start (`prepare`).
    pub identities: Identities,
    pub quarantine_policy_arn: Option<String>,
    /// See [`Config::deny_all_policy_arn`].
    pub deny_all_policy_arn: String,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use); the identities
    /// are resolved when the function is prepared.
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            policy: Arc::new(config.policy),
            identities: config.identities,
            quarantine_policy_arn: config.quarantine_policy_arn,
            deny_all_policy_arn: config.deny_all_policy_arn,
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
    /// The user as enrich found it (the workflow passes `$.enrichment.facts`): its unique
    /// id is the identity this incident is about, when the event itself carries none.
    #[serde(default)]
    pub facts: Option<UserFacts>,
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
    /// Every deny-all policy attached (the customer-managed one and `AWSDenyAll`).
    pub policy_arns: Vec<String>,
    /// Every deny-all policy was already attached before this run.
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
    let ids = &deps.identities.resolved;

    // 1. Never act on root, Cordon's own roles or protected principals.
    if let Err(e) = deps.policy.check_containable(principal, ids) {
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
    let policy_arns = vec![policy_arn.clone(), deps.deny_all_policy_arn.clone()];
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

    // 6. What this run changed: all that release may undo.
    let record = QuarantineRecord {
        policy_arn: policy_arn.clone(),
        attached_policy_arns: attached,
        already_attached,
        remediation: remediation.clone(),
        snapshot_saved: stored.saved,
        user_id: Some(facts.user_id.clone()).filter(|u| !u.is_empty()),
    };
    let output = Output {
        incident_id: id.to_string(),
        user_name: user_name.clone(),
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
