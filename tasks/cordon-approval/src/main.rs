//! The approval Lambda (behind a Function URL): `main` only wires configuration, clients
//! and the runtime.
use cordon_approval::{Config, Deps, handle};
use cordon_aws::{Aws, system_clock};
use lambda_http::{Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    cordon_aws::telemetry::init_tracing();

    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let aws = Aws::from_env().await;
    let deps = Deps::build(config, &aws, system_clock());
    let deps = &deps;
    lambda_http::run(service_fn(move |req: Request| async move {
        handle(req, deps).await
    }))
    .await
}
