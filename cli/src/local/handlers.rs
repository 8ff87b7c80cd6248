//! Cordon's task handlers, in-process: each configured from exactly the environment the
//! template gives its function, and run the way its `main` runs it (`cordon_aws::Running`).
use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use cordon_aws::{Function, Running};
use cordon_sfn_local::{InProcessLambda, LambdaError};
use serde_json::Value;

use super::template::Environments;

/// The workflow's task functions, by local function name (= cargo binary name).
pub const TASK_FUNCTIONS: &[&str] = &[
    "cordon-record",
    "cordon-enrich",
    "cordon-quarantine",
    "cordon-tag",
    "cordon-notify",
];

/// Registers the five task handlers under their binary names (the local function names),
/// each configured from its own environment in `environments`, exactly as its `main` is
/// configured from the process environment.
pub fn register_handlers(
    lambdas: &InProcessLambda,
    sdk: &SdkConfig,
    environments: &Environments,
) -> anyhow::Result<()> {
    for function in TASK_FUNCTIONS {
        let env = environments
            .get(*function)
            .with_context(|| format!("the template has no function built from {function}"))?;
        register_handler(lambdas, function, sdk, env)?;
    }
    Ok(())
}

/// Registers (or replaces) one task handler, configured from `env` as its `main` is
/// configured from the process environment (`cordon_aws::Running`): a handler whose
/// configuration is invalid is registered all the same and answers every invocation with
/// its `Cordon.Config` error, as the deployed function does.
pub fn register_handler(
    lambdas: &InProcessLambda,
    function: &str,
    sdk: &SdkConfig,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let lookup = |name: &str| env.get(name).cloned();
    let aws = cordon_aws::Aws::new(sdk.clone());
    match function {
        "cordon-record" => register::<cordon_record::Deps>(lambdas, function, &lookup, aws),
        "cordon-enrich" => register::<cordon_enrich::Deps>(lambdas, function, &lookup, aws),
        "cordon-quarantine" => register::<cordon_quarantine::Deps>(lambdas, function, &lookup, aws),
        "cordon-tag" => register::<cordon_tag::Deps>(lambdas, function, &lookup, aws),
        "cordon-notify" => register::<cordon_notify::Deps>(lambdas, function, &lookup, aws),
        other => anyhow::bail!("{other} is not one of the workflow's task functions"),
    }
    Ok(())
}

/// The approval pages' dependencies, configured from `env` (the approval function's
/// environment), resuming workflows through `sfn` (the local Step Functions API).
pub fn approval_deps(
    sdk: &SdkConfig,
    env: &BTreeMap<String, String>,
    sfn: aws_sdk_sfn::Client,
) -> anyhow::Result<cordon_approval::Deps> {
    let lookup = |name: &str| env.get(name).cloned();
    let config =
        cordon_approval::Config::from_lookup(&lookup).context("configuring cordon-approval")?;
    let mut deps = cordon_approval::Deps::build(
        config,
        &cordon_aws::Aws::new(sdk.clone()),
        cordon_aws::system_clock(),
    );
    deps.callbacks = Arc::new(cordon_aws::SfnTaskCallbacks::new(sfn));
    Ok(deps)
}

/// Runs a task function in process: the payload goes to `cordon_aws::Running` as the
/// Lambda runtime would hand it over, and a `TaskError` becomes a function error whose
/// `errorType` is its `Cordon.*` name.
fn register<F: Function>(
    lambdas: &InProcessLambda,
    name: &str,
    env: cordon_aws::env::Lookup<'_>,
    aws: cordon_aws::Aws,
) {
    let running = Arc::new(Running::<F>::start(env, aws, cordon_aws::system_clock()));
    lambdas.register(name, move |payload: Value| {
        let running = running.clone();
        async move {
            running
                .invoke_json(payload)
                .await
                .map_err(|e| LambdaError::new(e.error_name(), e.to_string()))
        }
    });
}
