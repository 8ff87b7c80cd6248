//! What release needs: its configuration and the dependencies built once per cold start
//! (or per `cordon release`).
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::{Aws, Clock, IdentityStore, IncidentStore, RoleStore};
use cordon_core::TaskError;

/// Environment of the release Lambda (and of `cordon release`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table.
    pub table_name: String,
    /// `CORDON_QUARANTINE_POLICY_ARN`: the deny-all policy, used when the incident's
    /// timeline does not name the policy quarantine attached.
    pub quarantine_policy_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            quarantine_policy_arn: env::optional(env, "CORDON_QUARANTINE_POLICY_ARN"),
        })
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    /// Roles whose sessions quarantine revoked.
    pub roles: Arc<dyn RoleStore>,
    pub store: Arc<dyn IncidentStore>,
    pub quarantine_policy_arn: Option<String>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main`, the CLI and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            roles: Arc::new(aws.role_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            quarantine_policy_arn: config.quarantine_policy_arn,
            clock,
        }
    }
}
