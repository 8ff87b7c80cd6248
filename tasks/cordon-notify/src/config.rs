//! What the notify Lambda needs: its configuration and the dependencies built once per
//! cold start.
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::links::LinkStore;
use cordon_aws::{Aws, Clock, IncidentStore, Notifier};
use cordon_core::TaskError;

/// Environment of the notify Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_TOPIC_ARN`: the SNS topic for every notification.
    pub topic_arn: String,
    /// `CORDON_APPROVAL_URL`: the approval function's URL (trailing `/` removed). Required
    /// to send approval requests; without it `contained` mails carry no release link.
    pub approval_url: Option<String>,
    /// `CORDON_APPROVAL_TIMEOUT_SECONDS` (default 3600): the approval expiry when the input
    /// carries no `timeoutSeconds`.
    pub approval_timeout_seconds: u64,
}

/// The approval timeout when neither the input nor the environment sets one.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

/// `url` without trailing slashes (a Function URL ends in `/`).
pub fn base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            topic_arn: env::required(env, "CORDON_TOPIC_ARN", "the ARN of the alerts SNS topic")?,
            approval_url: env::optional(env, "CORDON_APPROVAL_URL")
                .map(|u| base_url(&u))
                .filter(|u| !u.is_empty()),
            approval_timeout_seconds: match env::optional(env, "CORDON_APPROVAL_TIMEOUT_SECONDS") {
                None => DEFAULT_APPROVAL_TIMEOUT_SECONDS,
                Some(raw) => raw.parse().map_err(|_| {
                    TaskError::Config(format!(
                        "CORDON_APPROVAL_TIMEOUT_SECONDS is {raw:?}; set it to a whole number of seconds"
                    ))
                })?,
            },
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub notifier: Arc<dyn Notifier>,
    pub store: Arc<dyn IncidentStore>,
    /// Approval and release links.
    pub links: Arc<dyn LinkStore>,
    pub topic_arn: String,
    /// See [`Config::approval_url`].
    pub approval_url: Option<String>,
    pub approval_timeout_seconds: u64,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            notifier: Arc::new(aws.notifier()),
            store: Arc::new(aws.incident_store(&config.table_name)),
            links: Arc::new(aws.link_store(config.table_name)),
            topic_arn: config.topic_arn,
            approval_url: config.approval_url,
            approval_timeout_seconds: config.approval_timeout_seconds,
            clock,
        }
    }
}
