//! What the notify Lambda needs: its configuration and the dependencies built once per
//! cold start.
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::links::LinkStore;
use cordon_aws::{Aws, Clock, IncidentStore, Notifier};
use cordon_core::TaskError;
use cordon_core::notify::{NotificationContext, NotificationKind, render};
use tracing::warn;

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
    /// carries no `timeoutSeconds` (the state machine always passes it, from enrich's
    /// response policy). Only a fallback, so an unreadable value is logged and the default
    /// used: it must not stop notify, which also sends the failure notification that
    /// reports enrich's `Cordon.Config` error about the same variable.
    pub approval_timeout_seconds: u64,
    /// `CORDON_QUARANTINE_POLICY_ARN`: the stack's deny-all policy, named in a failure
    /// notification's command for containing by hand.
    pub quarantine_policy_arn: Option<String>,
    /// `CORDON_RELEASE_LINK_HOURS` (default 24): how long a release link is valid. Only a
    /// fallback, like the approval timeout: an unreadable value is logged and the default
    /// used.
    pub release_link_hours: u32,
}

/// How long a release link is valid when the stack says nothing.
pub const DEFAULT_RELEASE_LINK_HOURS: u32 = 24;

/// The approval timeout when neither the input nor the environment sets one.
pub const DEFAULT_APPROVAL_TIMEOUT_SECONDS: u64 = 3600;

/// `url` without trailing slashes (a Function URL ends in `/`).
pub fn base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

impl Config {
    /// Fails only on what every notification needs: the table (its markers) and the topic.
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
                Some(raw) => raw.parse().unwrap_or_else(|_| {
                    warn!(
                        value = %raw,
                        default = DEFAULT_APPROVAL_TIMEOUT_SECONDS,
                        "CORDON_APPROVAL_TIMEOUT_SECONDS is not a whole number of seconds; \
                         approval requests without timeoutSeconds use the default"
                    );
                    DEFAULT_APPROVAL_TIMEOUT_SECONDS
                }),
            },
            quarantine_policy_arn: env::optional(env, "CORDON_QUARANTINE_POLICY_ARN"),
            release_link_hours: match env::optional(env, "CORDON_RELEASE_LINK_HOURS") {
                None => DEFAULT_RELEASE_LINK_HOURS,
                Some(raw) => match raw.parse::<u32>() {
                    Ok(h) if (1..=168).contains(&h) => h,
                    _ => {
                        warn!(
                            value = %raw,
                            default = DEFAULT_RELEASE_LINK_HOURS,
                            "CORDON_RELEASE_LINK_HOURS is not a whole number of hours from 1 \
                             to 168; release links are valid for the default"
                        );
                        DEFAULT_RELEASE_LINK_HOURS
                    }
                },
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
    /// See [`Config::quarantine_policy_arn`].
    pub quarantine_policy_arn: Option<String>,
    /// How long a release link is valid (`CORDON_RELEASE_LINK_HOURS`).
    pub release_link_valid_for: chrono::Duration,
    pub clock: Clock,
}

impl Deps {
    /// Renders notification `kind` and publishes it to the topic; returns the message id.
    pub(crate) async fn publish(
        &self,
        kind: NotificationKind,
        ctx: &NotificationContext,
    ) -> Result<String, TaskError> {
        let n = render(kind, ctx);
        self.notifier
            .publish(&self.topic_arn, &n.subject, &n.body, &n.attributes)
            .await
    }

    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            notifier: Arc::new(aws.notifier()),
            store: Arc::new(aws.incident_store(&config.table_name)),
            links: Arc::new(aws.link_store(config.table_name)),
            topic_arn: config.topic_arn,
            approval_url: config.approval_url,
            approval_timeout_seconds: config.approval_timeout_seconds,
            quarantine_policy_arn: config.quarantine_policy_arn,
            release_link_valid_for: chrono::Duration::hours(i64::from(config.release_link_hours)),
            clock,
        }
    }
}
