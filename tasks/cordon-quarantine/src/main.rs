//! The quarantine Lambda: `main` only wires configuration, clients and the runtime.
use cordon_aws::{caller, load_sdk_config, system_clock};
use cordon_quarantine::{Config, Deps, Input, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let sdk = load_sdk_config().await;
    let own = caller::own_principal_arn(&sdk).await.inspect_err(
        |e| tracing::error!(error = %e, "cold start failed: cannot determine own role"),
    )?;

    let mut deps = Deps::build(config, &sdk, system_clock());
    // This function's own role is always protected, whatever CORDON_OWN_ROLE_ARNS says.
    deps.own_role_arns.push(own);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Input>| async move {
        handle(event.payload, deps).await
    }))
    .await
}
