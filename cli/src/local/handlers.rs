//! Cordon's task handlers, in-process: each configured from exactly the environment the
//! template gives its function, run the way its `main` runs it (`cordon_aws::Running`),
//! and calling AWS with exactly the policies the template gives its role (the access guard
//! refuses what they do not allow, as AWS would: every workflow test is also a
//! least-privilege test).
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use cordon_aws::{Function, Running};
use cordon_sfn_local::{InProcessLambda, LambdaError};
use serde_json::Value;

use super::template::{LocalFunction, LocalFunctions};

/// The workflows' task functions, by local function name (= cargo binary name): the
/// incident workflow's five, and the release function the release workflow invokes (a
/// release link starts that workflow; the internet-facing approval function holds no IAM
/// rights).
pub const TASK_FUNCTIONS: &[&str] = &[
    "cordon-record",
    "cordon-enrich",
    "cordon-quarantine",
    "cordon-tag",
    "cordon-notify",
    "cordon-release",
];

/// Registers the task handlers under their binary names (the local function names),
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

/// Registers (or replaces) one task handler, configured from `function.environment` as its
/// `main` is configured from the process environment (`cordon_aws::Running`) and calling
/// AWS with `function.access`: a handler whose configuration is invalid is registered all
/// the same and answers every invocation with its `Cordon.Config` error, as the deployed
/// function does.
pub fn register_handler(
    lambdas: &InProcessLambda,
    function: &LocalFunction,
    sdk: &SdkConfig,
) -> anyhow::Result<()> {
    let env = &function.environment;
    let lookup = |name: &str| env.get(name).cloned();
    let aws = cordon_aws::Aws::new(sdk.clone())
        .with_access(function.access.clone())
        .with_unlimited_retry_quota();
    let limits = Limits {
        timeout: function.timeout,
        concurrency: function.reserved_concurrency,
    };
    let function = function.binary.as_str();
    match function {
        "cordon-record" => register::<cordon_record::Deps>(lambdas, function, &lookup, aws, limits),
        "cordon-enrich" => register::<cordon_enrich::Deps>(lambdas, function, &lookup, aws, limits),
        "cordon-quarantine" => {
            register::<cordon_quarantine::Deps>(lambdas, function, &lookup, aws, limits)
        }
        "cordon-tag" => register::<cordon_tag::Deps>(lambdas, function, &lookup, aws, limits),
        "cordon-notify" => register::<cordon_notify::Deps>(lambdas, function, &lookup, aws, limits),
        "cordon-release" => {
            register::<cordon_release::Deps>(lambdas, function, &lookup, aws, limits)
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
        .with_unlimited_retry_quota()
        .with_sfn_endpoint(sfn_endpoint);
    cordon_approval::Deps::build(config, &aws, cordon_aws::system_clock())
        .context("building cordon-approval")
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
    let aws = cordon_aws::Aws::new(sdk.clone())
        .with_access(release.access.clone())
        .with_unlimited_retry_quota();
    Ok(cordon_release::Deps::build(
        config,
        &aws,
        cordon_aws::system_clock(),
    ))
}

/// What Lambda bounds a function by: how long one invocation may run (`Timeout`), and
/// how many may run at once (`ReservedConcurrentExecutions`; `None`: unlimited).
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    concurrency: Option<u32>,
}

/// Runs a task function in process: the payload goes to `cordon_aws::Running` as the
/// Lambda runtime would hand it over, and a `TaskError` becomes a function error whose
/// `errorType` is its `Cordon.*` name.
///
/// Each invocation has the function's template `Timeout` from the moment it starts. One
/// that runs longer ends as Lambda ends it, with `Sandbox.Timedout` (the runner's own
/// deadline normally stops the handler first, with `Cordon.Transient`). Beyond its reserved
/// concurrency an invocation is throttled (`Lambda.TooManyRequestsException`).
fn register<F: Function>(
    lambdas: &InProcessLambda,
    name: &str,
    env: cordon_aws::env::Lookup<'_>,
    aws: cordon_aws::Aws,
    limits: Limits,
) {
    let Limits {
        timeout,
        concurrency,
    } = limits;
    let running = Arc::new(Running::<F>::start(env, aws, cordon_aws::system_clock()));
    lambdas.register_limited(name, concurrency, move |payload: Value| {
        let running = running.clone();
        async move {
            let deadline = tokio::time::Instant::now() + timeout;
            match tokio::time::timeout_at(deadline, running.invoke_json_before(payload, deadline))
                .await
            {
                Ok(answer) => answer.map_err(|e| LambdaError::new(e.error_name(), e.to_string())),
                Err(_) => Err(LambdaError::new(
                    "Sandbox.Timedout",
                    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                )),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_aws::{Aws, Clock, Configure};
    use cordon_core::TaskError;
    use cordon_sfn_local::{InvokeError, InvokeRequest, LambdaBackend};
    use serde_json::json;

    /// Works for `ms` milliseconds (a handler waiting on a slow call).
    #[derive(Clone)]
    struct Sleeper;

    impl Configure for Sleeper {
        fn configure(_: cordon_aws::env::Lookup<'_>, _: &Aws, _: Clock) -> Result<Self, TaskError> {
            Ok(Sleeper)
        }
    }

    impl Function for Sleeper {
        type Input = Value;
        type Output = Value;
        async fn handle(&self, input: Value) -> Result<Value, TaskError> {
            let ms = input["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({"slept": ms}))
        }
    }

    async fn invoke(lambdas: &InProcessLambda, ms: u64) -> Result<Value, InvokeError> {
        lambdas
            .invoke(InvokeRequest {
                function_name: "sleeper".into(),
                function_ref: "sleeper".into(),
                qualifier: None,
                payload: json!({ "ms": ms }),
            })
            .await
            .map(|out| out.payload)
    }

    #[tokio::test]
    async fn an_invocation_is_stopped_before_its_timeout_and_throttled_beyond_its_concurrency() {
        let lambdas = InProcessLambda::new();
        let aws = Aws::new(aws_config::SdkConfig::builder().build());
        let timeout = cordon_aws::deadline::MARGIN + Duration::from_millis(400);
        let limits = Limits {
            timeout,
            concurrency: Some(1),
        };
        register::<Sleeper>(&lambdas, "sleeper", &|_| None, aws, limits);

        assert_eq!(
            invoke(&lambdas, 10).await.expect("in time"),
            json!({"slept": 10})
        );
        // Past the runner's cut (400 ms) but within the timeout: the runner answers
        // Cordon.Transient, which the workflow retries, before Lambda would end it.
        match invoke(&lambdas, 60_000).await {
            Err(InvokeError::Function(e)) => {
                assert_eq!(e.error_type, "Cordon.Transient", "{e:?}");
            }
            other => panic!("expected a function error, got {other:?}"),
        }
        // One at a time (reserved concurrency 1): a second invocation while one runs is
        // throttled, as Lambda throttles it; once it is done, the next one runs.
        let running = tokio::spawn({
            let lambdas = lambdas.clone();
            async move { invoke(&lambdas, 200).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        match invoke(&lambdas, 10).await {
            Err(InvokeError::TooManyRequests(_)) => {}
            other => panic!("expected a throttle, got {other:?}"),
        }
        running.await.expect("joined").expect("the first one ran");
        invoke(&lambdas, 10).await.expect("a slot is free again");
    }
}
