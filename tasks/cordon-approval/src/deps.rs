//! What the approval Lambda needs: its configuration, and the dependencies built once per
//! cold start (links, sign-in sessions, Step Functions, the issuer).
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::links::LinkStore;
use cordon_aws::{Aws, Clock, SignInStore, TaskCallbacks, WorkflowStarter};
use cordon_core::TaskError;

use crate::oidc::{OidcConfig, Provider};

/// Environment of the approval Lambda (and what `cordon approve` configures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table (links and sessions live in it).
    pub table_name: String,
    /// `CORDON_RELEASE_STATE_MACHINE_ARN`: the release workflow a release link starts.
    pub release_state_machine_arn: String,
    /// The OIDC sign-in (`CORDON_OIDC_*`); `None`: link-only mode.
    pub oidc: Option<OidcConfig>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::table_name(env)?,
            release_state_machine_arn: env::required(
                env,
                "CORDON_RELEASE_STATE_MACHINE_ARN",
                "the ARN of the release state machine (the ReleaseStateMachineArn output)",
            )?,
            oidc: OidcConfig::from_lookup(env)?,
        })
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    /// Approval and release links.
    pub links: Arc<dyn LinkStore>,
    /// Approvers' sessions and used nonces.
    pub signin: Arc<dyn SignInStore>,
    /// Resumes a waiting approval.
    pub callbacks: Arc<dyn TaskCallbacks>,
    /// Starts the release workflow.
    pub workflows: Arc<dyn WorkflowStarter>,
    pub release_state_machine_arn: String,
    /// The sign-in issuer; `None`: link-only mode (decisions are not authenticated).
    pub oidc: Option<Arc<Provider>>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main`, the local stack and `cordon approve`
    /// use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Result<Self, TaskError> {
        let sfn = Arc::new(aws.task_callbacks());
        let oidc = match config.oidc {
            Some(c) => Some(Arc::new(Provider::new(c).map_err(|e| {
                TaskError::Config(format!("the OIDC sign-in cannot be set up: {e}"))
            })?)),
            None => None,
        };
        Ok(Self {
            links: Arc::new(aws.link_store(config.table_name.clone())),
            signin: Arc::new(aws.signin_store(config.table_name)),
            callbacks: sfn.clone(),
            workflows: sfn,
            release_state_machine_arn: config.release_state_machine_arn,
            oidc,
            clock,
        })
    }

    /// Whether decisions from the pages are authenticated (an issuer is configured).
    pub fn authenticated(&self) -> bool {
        self.oidc.is_some()
    }
}
