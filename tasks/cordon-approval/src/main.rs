//! The approval Lambda (behind a Function URL): `main` only wires configuration, clients
//! and the runtime.
use cordon_approval::{Config, Deps, handle};
use cordon_aws::{load_sdk_config, system_clock};
use lambda_http::{Request, service_fn};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
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
    let deps = Deps::build(config, &sdk, system_clock());
    let deps = &deps;
    lambda_http::run(service_fn(move |req: Request| async move {
        handle(req, deps).await
    }))
    .await
}
