//! The one `main` of every Cordon Lambda (feature `lambda`): logging, the AWS
//! configuration, the function configured from the process environment, then the Lambda
//! runtime. A bad configuration does not stop the runtime from starting: every invocation
//! is answered with its `Cordon.Config` error (see [`crate::function`]).
//!
//! ```text
//! #[tokio::main]
//! async fn main() -> Result<(), cordon_aws::lambda::Error> {
//!     cordon_aws::lambda::run::<cordon_record::Deps>().await
//! }
//! ```
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::aws::Aws;
use crate::clock::system_clock;
use crate::function::{Configure, Function, Running};
use crate::{env, telemetry};

/// What a `main` returns.
pub use lambda_runtime::Error;

/// Logging, AWS and the function configured from the process environment, prepared once
/// (a failure to prepare is logged and tried again at the first invocation). For a
/// function on another runtime (the approval pages on `lambda_http`).
pub async fn start<C: Configure>() -> Running<C> {
    telemetry::init_tracing();
    // The log stream is where CloudWatch extracts the metrics from.
    crate::metrics::set_sink(crate::metrics::Sink::Stdout);
    let aws = Aws::from_env().await;
    let running = Running::<C>::start(&env::process_env, aws, system_clock());
    // The outcome is kept (or retried) by `Running`; the first invocation asks again.
    let _ = running.ready().await;
    running
}

/// Runs `F` on the Lambda runtime until the sandbox shuts down.
pub async fn run<F: Function>() -> Result<(), Error> {
    let running = start::<F>().await;
    let running = &running;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        running.invoke_json(event.payload).await
    }))
    .await
}
