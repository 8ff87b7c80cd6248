//! The quarantine Lambda's configuration and dependencies.
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::identities::Identities;
use cordon_aws::{Aws, Clock, IdentityStore, IncidentStore, RoleStore};
use cordon_core::quarantine::{aws_deny_all_policy_arn, partition_of};
use cordon_core::{ResponsePolicy, TaskError};

/// Environment of the quarantine Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_RESPONSE_POLICY` (inline JSON), else the default policy.
    pub policy: ResponsePolicy,
    /// Cordon's own roles (`CORDON_OWN_ROLE_ARNS`, and this function's own,
    /// `CORDON_FUNCTION_ROLE_ARN`) and the policy's protected principals, resolved to
    /// unique ids when the function prepares for its first event.
    pub identities: Identities,
    /// `CORDON_QUARANTINE_POLICY_ARN`: the stack's deny-all policy (`QuarantinePolicy`).
    /// Required: the task never creates or looks up a policy by name, because a policy an
    /// attacker created first under that name would be attached in its place.
    pub quarantine_policy_arn: String,
    /// `CORDON_DENY_ALL_POLICY_ARN`: the AWS-managed `AWSDenyAll` of the stack's
    /// partition, attached as well. Default: `arn:<partition>:iam::aws:policy/AWSDenyAll`,
    /// the partition taken from the quarantine policy's ARN.
    pub deny_all_policy_arn: String,
    /// `CORDON_FORCE_MFA_POLICY_ARN`: the stack's force-MFA policy. Without it a plan that
    /// attaches it fails with `Cordon.Config` (the task never creates one by name).
    pub force_mfa_policy_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let table_name = env::table_name(env)?;
        let policy = env::response_policy(env)?;
        let quarantine_policy_arn = env::required(
            env,
            "CORDON_QUARANTINE_POLICY_ARN",
            "the ARN of the stack's deny-all policy (the template's QuarantinePolicy)",
        )?;
        let deny_all_policy_arn = env::optional(env, "CORDON_DENY_ALL_POLICY_ARN")
            .unwrap_or_else(|| aws_deny_all_policy_arn(partition_of(&quarantine_policy_arn)));
        Ok(Self {
            table_name,
            identities: Identities::from_config(&cordon_aws::caller::own_role_arns(env)?, &policy)?,
            policy,
            quarantine_policy_arn,
            deny_all_policy_arn,
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
    /// Resolved when the function prepares (`task_function!`'s `identities:`).
    pub identities: Identities,
    /// See [`Config::quarantine_policy_arn`].
    pub quarantine_policy_arn: String,
    /// See [`Config::deny_all_policy_arn`].
    pub deny_all_policy_arn: String,
    pub force_mfa_policy_arn: Option<String>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use); the identities
    /// are resolved when the function is prepared.
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            roles: Arc::new(aws.role_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            policy: Arc::new(config.policy),
            identities: config.identities,
            quarantine_policy_arn: config.quarantine_policy_arn,
            deny_all_policy_arn: config.deny_all_policy_arn,
            force_mfa_policy_arn: config.force_mfa_policy_arn,
            clock,
        }
    }
}
