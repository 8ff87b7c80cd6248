//! The enrich Lambda: `main` only wires configuration, clients and the runtime.
use cordon_aws::{Aws, caller, system_clock};
use cordon_enrich::{Config, Deps, Input, handle};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cordon_aws::telemetry::init_tracing();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let aws = Aws::from_env().await;
    let own = caller::own_principal_arn(&aws).await.inspect_err(
        |e| tracing::error!(error = %e, "cold start failed: cannot determine own role"),
    )?;

    let mut deps = Deps::build(config, &aws, system_clock());
    // This function's own role is always protected, whatever CORDON_OWN_ROLE_ARNS says.
    deps.own_role_arns.push(own);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Input>| async move {
        handle(event.payload, deps).await
    }))
    .await
}
