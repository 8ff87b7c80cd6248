//! One module per command; `main.rs` only parses and dispatches.
//!
//! - [`Global`]: the options every command takes (`--stack`, `--profile`, `--region`,
//!   `--output`), as the AWS CLI spells them;
//! - [`Context`]: what a command reads them into, once: the AWS configuration, the stack's
//!   settings ([`crate::stack`]) and the caller's verified identity;
//! - `incidents/` (`list`, `show`, `export`), `decide` (`approve`, `reject`), `release`,
//!   `replay` (`replay`, `redrive`), `graph/`, `watch`, `completions`; `local`, `demo`
//!   and `simulate` wire the local stack's commands; `classify` and `rules` inspect the
//!   classifier and the template's EventBridge rules.
use clap::{Args as ClapArgs, ValueEnum};
use cordon_aws::Aws;
use cordon_aws::caller_identity::CallerIdentity;
use tokio::sync::OnceCell;

use crate::errors::{self, Problem};
use crate::stack::StackSettings;

pub mod classify;
pub mod completions;
pub mod decide;
pub mod demo;
pub mod graph;
pub mod incidents;
pub mod local;
pub mod release;
pub mod replay;
pub mod rules;
pub mod simulate;
pub mod watch;

/// The stack every command reads when none is named.
pub const DEFAULT_STACK: &str = "cordon";

/// How read commands print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns that fit the terminal.
    Table,
    /// Stable JSON (documented in the README, "JSON output").
    Json,
}

/// Options every command takes.
#[derive(Debug, Clone, ClapArgs)]
pub struct Global {
    /// The CloudFormation stack whose outputs name the table, topic, state machine and
    /// approval URL.
    #[arg(long, global = true, env = "CORDON_STACK", default_value = DEFAULT_STACK)]
    pub stack: String,
    /// The AWS profile (as `aws --profile`; AWS_PROFILE otherwise).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The AWS Region (as `aws --region`; AWS_REGION or the profile's otherwise).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// How read commands print.
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub output: Format,
}

/// What a command works with, each part resolved once and only when asked for.
pub struct Context {
    pub global: Global,
    aws: OnceCell<Aws>,
    settings: OnceCell<StackSettings>,
}

impl Context {
    pub fn new(global: Global) -> Self {
        Self {
            global,
            aws: OnceCell::new(),
            settings: OnceCell::new(),
        }
    }

    pub fn format(&self) -> Format {
        self.global.output
    }

    /// The AWS configuration (profile, Region, credentials, endpoints), checked: a
    /// missing Region or missing credentials is said before any call is made.
    pub async fn aws(&self) -> anyhow::Result<&Aws> {
        self.aws
            .get_or_try_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(profile) = &self.global.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(region) = &self.global.region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                let config = loader.load().await;
                errors::check_config(&config, self.global.profile.as_deref()).await?;
                Ok::<_, anyhow::Error>(Aws::new(config))
            })
            .await
    }

    /// The Region the commands call.
    pub async fn region(&self) -> anyhow::Result<String> {
        Ok(self
            .aws()
            .await?
            .sdk_config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default())
    }

    /// The stack's settings: from `CORDON_STACK_*` when `CORDON_STACK` names this stack,
    /// else from its CloudFormation outputs.
    pub async fn settings(&self) -> anyhow::Result<&StackSettings> {
        self.settings
            .get_or_try_init(|| async {
                let env = |name: &str| std::env::var(name).ok();
                if let Some(settings) = StackSettings::from_env(&self.global.stack, &env)? {
                    return Ok(settings);
                }
                let aws = self.aws().await?;
                let region = self.region().await?;
                StackSettings::from_stack(&aws.stack_outputs(), &self.global.stack, &region).await
            })
            .await
    }

    /// Who is calling, as STS verified it: the approver or releaser recorded.
    pub async fn caller(&self) -> anyhow::Result<CallerIdentity> {
        let aws = self.aws().await?;
        cordon_aws::caller_identity::caller_identity(aws)
            .await
            .map_err(|e| errors::aws(e, "finding out who you are (sts:GetCallerIdentity)"))
    }

    /// A problem with what to do about it (see [`crate::errors`]).
    pub fn problem(what: impl Into<String>, todo: impl Into<String>) -> anyhow::Error {
        Problem::new(what, todo).into()
    }
}
