//! The notify Lambda: `main` only wires configuration, clients and the runtime.
use cordon_aws::{Aws, system_clock};
use cordon_notify::{Config, Deps, Input, handle};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cordon_aws::telemetry::init_tracing();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let aws = Aws::from_env().await;
    let deps = Deps::build(config, &aws, system_clock());
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Input>| async move {
        handle(event.payload, deps).await
    }))
    .await
}
