//! What release needs: its configuration and the dependencies built once per cold start
//! (or per `cordon release`).
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::{Aws, Clock, IdentityStore, IncidentStore, Notifier, RoleStore};
use cordon_core::TaskError;
use cordon_core::quarantine::{aws_deny_all_policy_arn, partition_of};

/// Environment of the release Lambda (and of `cordon release`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table.
    pub table_name: String,
    /// `CORDON_TOPIC_ARN`: where the `released` notification goes (every release sends
    /// one, naming who released and why).
    pub topic_arn: String,
    /// `CORDON_QUARANTINE_POLICY_ARN`: the deny-all policy, used when the incident's
    /// timeline does not name the policy quarantine attached.
    pub quarantine_policy_arn: Option<String>,
    /// `CORDON_DENY_ALL_POLICY_ARN`: the AWS-managed `AWSDenyAll` quarantine attaches too
    /// (default: derived from the quarantine policy's partition).
    pub deny_all_policy_arn: String,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let quarantine_policy_arn = env::optional(env, "CORDON_QUARANTINE_POLICY_ARN");
        Ok(Self {
            table_name: env::table_name(env)?,
            topic_arn: env::required(
                env,
                "CORDON_TOPIC_ARN",
                "the ARN of the incident topic (every release is announced there)",
            )?,
            deny_all_policy_arn: env::optional(env, "CORDON_DENY_ALL_POLICY_ARN").unwrap_or_else(
                || {
                    aws_deny_all_policy_arn(partition_of(
                        quarantine_policy_arn.as_deref().unwrap_or_default(),
                    ))
                },
            ),
            quarantine_policy_arn,
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
    pub notifier: Arc<dyn Notifier>,
    pub topic_arn: String,
    pub quarantine_policy_arn: Option<String>,
    pub deny_all_policy_arn: String,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main`, the CLI and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            roles: Arc::new(aws.role_store()),
            store: Arc::new(aws.incident_store(config.table_name)),
            notifier: Arc::new(aws.notifier()),
            topic_arn: config.topic_arn,
            quarantine_policy_arn: config.quarantine_policy_arn,
            deny_all_policy_arn: config.deny_all_policy_arn,
            clock,
        }
    }
}
