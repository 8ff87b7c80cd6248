//! What the approval Lambda needs: its configuration, and the dependencies built once per
//! cold start (links, Step Functions callbacks, the release action).
use std::sync::Arc;

use async_trait::async_trait;
use cordon_aws::env::{self, Lookup};
use cordon_aws::links::{DecidedBy, LinkStore};
use cordon_aws::{Aws, Clock, TaskCallbacks};
use cordon_core::TaskError;

/// Environment of the approval Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table (approval and release links live in it).
    pub table_name: String,
    /// What the release action needs (`CORDON_TABLE_NAME`, `CORDON_QUARANTINE_POLICY_ARN`).
    pub release: cordon_release::Config,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            release: cordon_release::Config::from_lookup(env)?,
        })
    }
}

/// Releases a contained principal (the `POST /r/{id}` action).
#[async_trait]
pub trait ReleaseAction: Send + Sync {
    /// Restore the incident's principal; returns a one-line summary for the page.
    async fn release(
        &self,
        incident_id: &str,
        released_by: &DecidedBy,
    ) -> Result<String, TaskError>;
}

/// [`ReleaseAction`] through `cordon_release::release`, in process.
#[derive(Clone)]
pub struct CordonRelease(pub cordon_release::Deps);

#[async_trait]
impl ReleaseAction for CordonRelease {
    async fn release(
        &self,
        incident_id: &str,
        released_by: &DecidedBy,
    ) -> Result<String, TaskError> {
        let input = cordon_release::ReleaseInput {
            incident_id: incident_id.to_string(),
            released_by: cordon_release::ReleasedBy {
                name: released_by.name.clone(),
                ip: released_by.ip.clone(),
                user_agent: released_by.user_agent.clone(),
                via: cordon_release::ReleaseVia::ApprovalLink,
                verified: released_by.verified.clone(),
            },
            reason: None,
        };
        let out = cordon_release::release(input, &self.0).await?;
        Ok(out.summary())
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    /// Approval and release links.
    pub links: Arc<dyn LinkStore>,
    pub callbacks: Arc<dyn TaskCallbacks>,
    pub release: Arc<dyn ReleaseAction>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            links: Arc::new(aws.link_store(config.table_name)),
            callbacks: Arc::new(aws.task_callbacks()),
            release: Arc::new(CordonRelease(cordon_release::Deps::build(
                config.release,
                aws,
                clock.clone(),
            ))),
            clock,
        }
    }
}
