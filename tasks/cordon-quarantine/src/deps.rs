//! The quarantine Lambda's configuration and dependencies.
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::{Aws, Clock, IdentityStore, IncidentStore, RoleStore};
use cordon_core::{ResponsePolicy, TaskError};

/// Environment of the quarantine Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_RESPONSE_POLICY` (inline JSON), else the default policy.
    pub policy: ResponsePolicy,
    /// `CORDON_OWN_ROLE_ARNS` (comma-separated). `main` adds the function's own role.
    pub own_role_arns: Vec<String>,
    /// `CORDON_QUARANTINE_POLICY_ARN`: a pre-created deny-all policy. Without it the
    /// task creates (or finds) `AutomatedSecurityQuarantine`.
    pub quarantine_policy_arn: Option<String>,
    /// `CORDON_FORCE_MFA_POLICY_ARN`: the force-MFA policy. Without it the task creates
    /// (or finds) `CordonForceMFA`.
    pub force_mfa_policy_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            policy: env::response_policy(env)?,
            own_role_arns: env::list(env, "CORDON_OWN_ROLE_ARNS"),
            quarantine_policy_arn: env::optional(env, "CORDON_QUARANTINE_POLICY_ARN"),
            force_mfa_policy_arn: env::optional(env, "CORDON_FORCE_MFA_POLICY_ARN"),
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    /// Roles: their sessions are revoked.
    pub roles: Arc<dyn RoleStore>,
    pub store: Arc<dyn IncidentStore>,
    pub policy: Arc<ResponsePolicy>,
    /// Cordon's own role ARNs, including this function's role.
    pub own_role_arns: Vec<String>,
    pub quarantine_policy_arn: Option<String>,
    pub force_mfa_policy_arn: Option<String>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use). `main` also adds
    /// the function's own role to `own_role_arns`.
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            roles: Arc::new(aws.role_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            policy: Arc::new(config.policy),
            own_role_arns: config.own_role_arns,
            quarantine_policy_arn: config.quarantine_policy_arn,
            force_mfa_policy_arn: config.force_mfa_policy_arn,
            clock,
        }
    }
}
