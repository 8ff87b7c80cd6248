//! The record Lambda's configuration and dependencies.
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::{Aws, Clock, FailureCounter};
use cordon_core::classify::Home;
use cordon_core::failures::FailureWindow;
use cordon_core::model::AccountId;
use cordon_core::{ResponsePolicy, TaskError};
use tracing::warn;

/// Environment of the record Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table.
    pub table_name: String,
    /// `CORDON_ACCOUNT_ID`: the account this stack protects (`!Ref AWS::AccountId`).
    /// Required: without it Cordon could not tell another account's events from its own,
    /// and it never accepts every account by default.
    pub home_account: AccountId,
    /// `CORDON_STACK_NAME`: the stack whose resources are Cordon's own (attacks on them are
    /// recognised by it). Optional.
    pub stack_name: Option<String>,
    /// The failed sign-in window and threshold, from `CORDON_RESPONSE_POLICY`. Read
    /// leniently: record is on the failure path, so an invalid policy (which fails enrich
    /// with `Cordon.Config`) must not silence the failure record; the defaults apply.
    pub window: FailureWindow,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let home_account = env::home_account(env)?;
        let window = env::response_policy(env)
            .unwrap_or_else(|e| {
                warn!(error = %e, "the response policy is invalid; counting sign-in failures with the defaults");
                ResponsePolicy::default()
            })
            .failure_window();
        Ok(Self {
            table_name: env::table_name(env)?,
            home_account,
            stack_name: env::optional(env, "CORDON_STACK_NAME"),
            window,
        })
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn IncidentStore>,
    pub clock: Clock,
    /// Events of any other account are rejected.
    pub home_account: AccountId,
    /// The stack's name, when known (attacks on Cordon's own resources).
    pub stack_name: Option<String>,
    /// Failed sign-ins: the counters, and their window and threshold.
    pub failures: Arc<dyn FailureCounter>,
    pub window: FailureWindow,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            store: Arc::new(aws.incident_store(config.table_name.clone())),
            clock,
            home_account: config.home_account,
            stack_name: config.stack_name,
            failures: Arc::new(aws.failure_counter(config.table_name)),
            window: config.window,
        }
    }

    /// Dependencies from their parts (tests): the default failure window, no stack name.
    pub fn new(
        store: Arc<dyn IncidentStore>,
        failures: Arc<dyn FailureCounter>,
        clock: Clock,
        home_account: AccountId,
    ) -> Self {
        Self {
            store,
            clock,
            home_account,
            stack_name: None,
            failures,
            window: ResponsePolicy::default().failure_window(),
        }
    }

    pub(crate) fn home(&self) -> Home {
        let home = Home::new(self.home_account.clone());
        match &self.stack_name {
            Some(name) => home.with_stack(name),
            None => home,
        }
    }
}
