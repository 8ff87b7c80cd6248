//! The one `main` of every Cordon Lambda (feature `lambda`): logging, the AWS
//! configuration, the function configured from the process environment, then the Lambda
//! runtime. A bad configuration does not stop the runtime from starting: every invocation
//! is answered with its `Cordon.Config` error (see [`crate::function`]).
//!
//! A sandbox runs one invocation at a time, so every `main` runs on tokio's current-thread
//! runtime: no worker threads to start, or to keep resident.
//!
//! ```text
//! #[tokio::main(flavor = "current_thread")]
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

/// Logging, AWS and the function configured from the process environment. Nothing goes
/// to the network here: what the function must learn from AWS (`Configure::prepare`) is
/// learnt at its first invocation, so the runtime asks for its first event as soon as the
/// process is up. For a function on another runtime (the approval pages on `lambda_http`)
/// too; it calls `Running::ready` per request.
pub async fn start<C: Configure>() -> Running<C> {
    telemetry::init_tracing();
    // The log stream is where CloudWatch extracts the metrics from.
    crate::metrics::set_sink(crate::metrics::Sink::Stdout);
    let aws = Aws::for_function();
    Running::<C>::start(&env::process_env, aws, system_clock())
}

/// Runs `F` on the Lambda runtime until the sandbox shuts down.
pub async fn run<F: Function>() -> Result<(), Error> {
    let running = start::<F>().await;
    let running = &running;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = crate::deadline::from_epoch_millis(event.context.deadline);
        running.invoke_json_before(event.payload, deadline).await
    }))
    .await
}
