//! Cordon's task handlers, in-process: each configured from exactly the environment the
//! template gives its function, built the way its `main` builds it, and calling AWS with
//! exactly the policies the template gives its role (the access guard refuses what they
//! do not allow, as AWS would: every workflow test is also a least-privilege test).
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use cordon_core::TaskError;
use cordon_sfn_local::{InProcessLambda, LambdaError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::template::{LocalFunction, LocalFunctions};

/// The workflow's task functions, by local function name (= cargo binary name).
pub const TASK_FUNCTIONS: &[&str] = &[
    "cordon-record",
    "cordon-enrich",
    "cordon-quarantine",
    "cordon-tag",
    "cordon-notify",
];

/// Registers the five task handlers under their binary names (the local function names),
/// each configured from its own environment in `functions`, exactly as its `main` is
/// configured from the process environment, and with its own access.
pub fn register_handlers(
    lambdas: &InProcessLambda,
    sdk: &SdkConfig,
    functions: &LocalFunctions,
) -> anyhow::Result<()> {
    for binary in TASK_FUNCTIONS {
        let function = functions
            .get(*binary)
            .with_context(|| format!("the template has no function built from {binary}"))?;
        register_handler(lambdas, function, sdk)?;
    }
    Ok(())
}

/// Registers (or replaces) one task handler, configured from `function.environment` and
/// calling AWS with `function.access`.
pub fn register_handler(
    lambdas: &InProcessLambda,
    function: &LocalFunction,
    sdk: &SdkConfig,
) -> anyhow::Result<()> {
    let env = &function.environment;
    let lookup = |name: &str| env.get(name).cloned();
    let aws = &cordon_aws::Aws::new(sdk.clone()).with_access(function.access.clone());
    let clock = cordon_aws::system_clock();
    let context = || format!("configuring {}", function.binary);
    let function = function.binary.as_str();
    match function {
        "cordon-record" => {
            let config = cordon_record::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_record::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_record::handle(i, &d).await
            });
        }
        "cordon-enrich" => {
            let config = cordon_enrich::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_enrich::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_enrich::handle(i, &d).await
            });
        }
        "cordon-quarantine" => {
            let config = cordon_quarantine::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_quarantine::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_quarantine::handle(i, &d).await
            });
        }
        "cordon-tag" => {
            let config = cordon_tag::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_tag::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_tag::handle(i, &d).await
            });
        }
        "cordon-notify" => {
            let config = cordon_notify::Config::from_lookup(&lookup).with_context(context)?;
            let deps = Arc::new(cordon_notify::Deps::build(config, aws, clock));
            register(lambdas, function, deps, |i, d| async move {
                cordon_notify::handle(i, &d).await
            });
        }
        other => anyhow::bail!("{other} is not one of the workflow's task functions"),
    }
    Ok(())
}

/// The approval pages' dependencies, configured from `approval` (the approval function),
/// resuming workflows through the Step Functions API at `sfn_endpoint` (the local one).
pub fn approval_deps(
    sdk: &SdkConfig,
    approval: &LocalFunction,
    sfn_endpoint: &str,
) -> anyhow::Result<cordon_approval::Deps> {
    let env = &approval.environment;
    let lookup = |name: &str| env.get(name).cloned();
    let config =
        cordon_approval::Config::from_lookup(&lookup).context("configuring cordon-approval")?;
    let aws = cordon_aws::Aws::new(sdk.clone())
        .with_access(approval.access.clone())
        .with_sfn_endpoint(sfn_endpoint);
    Ok(cordon_approval::Deps::build(
        config,
        &aws,
        cordon_aws::system_clock(),
    ))
}

/// The release function's dependencies (what the release Lambda builds at cold start),
/// configured from `release` and calling AWS with its access.
pub fn release_deps(
    sdk: &SdkConfig,
    release: &LocalFunction,
) -> anyhow::Result<cordon_release::Deps> {
    let env = &release.environment;
    let lookup = |name: &str| env.get(name).cloned();
    let config =
        cordon_release::Config::from_lookup(&lookup).context("configuring cordon-release")?;
    let aws = cordon_aws::Aws::new(sdk.clone()).with_access(release.access.clone());
    Ok(cordon_release::Deps::build(
        config,
        &aws,
        cordon_aws::system_clock(),
    ))
}

/// Adapts a typed task handler to an in-process Lambda function: the payload is
/// deserialised as the Lambda runtime would, and a `TaskError` becomes a function error
/// whose `errorType` is its `Cordon.*` name.
fn register<I, O, D, F, Fut>(lambdas: &InProcessLambda, name: &str, deps: Arc<D>, f: F)
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    D: Send + Sync + 'static,
    F: Fn(I, Arc<D>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
{
    lambdas.register(name, move |payload: Value| {
        let deps = deps.clone();
        let f = f.clone();
        async move {
            let input: I = serde_json::from_value(payload).map_err(|e| {
                // What lambda_runtime reports when the payload does not fit the handler.
                LambdaError::new(
                    "lambda_runtime::deserializer::DeserializeError",
                    format!("failed to deserialize the incoming data into the function's payload type: {e}"),
                )
            })?;
            let output = f(input, deps)
                .await
                .map_err(|e| LambdaError::new(e.error_name(), e.to_string()))?;
            serde_json::to_value(output)
                .map_err(|e| LambdaError::new("Runtime.SerializationError", e.to_string()))
        }
    });
}
