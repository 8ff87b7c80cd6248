//! The tag task: mark a quarantined user `SecurityStatus=Quarantined`,
//! `CordonIncident=<id>`, `QuarantinedAt=<time>`.
//!
//! Idempotent: `quarantinedAt` comes from the input (the quarantine task's
//! `quarantinedAt`, which is the first snapshot's time), so a re-run writes the same values.
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_aws::env::Lookup;
use cordon_aws::{Aws, Clock, IdentityStore};
use cordon_core::model::PrincipalKind;
use cordon_core::{TaskError, tags};
use serde::{Deserialize, Serialize};
use tracing::info;

/// Environment of the tag Lambda: nothing beyond the AWS SDK's own variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&cordon_aws::env::process_env)
    }

    pub fn from_lookup(_env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {})
    }
}

#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use). The clock is
    /// unused: the tag time comes from the input.
    pub fn build(_config: Config, aws: &Aws, _clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub incident_id: String,
    pub user_name: String,
    pub quarantined_at: DateTime<Utc>,
    /// What quarantine contained: a role is marked by its session-revocation policy and
    /// not tagged (absent: a user).
    #[serde(default)]
    pub principal_kind: Option<PrincipalKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub incident_id: String,
    pub user_name: String,
    /// The tags now on the user.
    pub tags: BTreeMap<String, String>,
}

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    if input.user_name.trim().is_empty() {
        return Err(TaskError::invalid("userName", "is empty"));
    }
    if matches!(
        input.principal_kind,
        Some(PrincipalKind::Role | PrincipalKind::AssumedRole)
    ) {
        info!(incident_id = %input.incident_id, step = "tag", outcome = "role_not_tagged");
        return Ok(Output {
            incident_id: input.incident_id,
            user_name: input.user_name,
            tags: BTreeMap::new(),
        });
    }
    let tags: BTreeMap<String, String> =
        tags::quarantine_tags(&input.incident_id, input.quarantined_at)
            .into_iter()
            .collect();
    deps.identity.tag_user(&input.user_name, &tags).await?;
    info!(
        incident_id = %input.incident_id,
        step = "tag",
        outcome = "tagged",
        user = %input.user_name,
    );
    Ok(Output {
        incident_id: input.incident_id,
        user_name: input.user_name,
        tags,
    })
}

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
}
