//! A Cordon Lambda function as its `main` and the local stack both run it: configured once
//! from its environment, prepared once, then asked to handle each invocation.
//!
//! A function whose configuration is invalid still starts. It answers every invocation
//! with the `Cordon.Config` error that names the variable and how to fix it, so the state
//! machine catches it and the failure notification carries the message. (Crashing at
//! init instead ends every invocation in `Runtime.ExitError`/`Lambda.Unknown`, with the
//! reason only in the function's log.) The same holds in process: the local stack and the
//! workflow tests register handlers through [`Running`], so a bad variable behaves there
//! as it does on AWS.
//!
//! `lambda::run` (feature `lambda`) puts a [`Function`] on the Lambda runtime; it is the
//! whole `main` of every task crate. [`task_function!`](crate::task_function) implements
//! both traits for a task crate's `Deps` from the three things each has.
use std::future::Future;

/// The error every function answers with (re-exported for [`task_function!`](crate::task_function)).
pub use cordon_core::TaskError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::error;

use crate::aws::Aws;
use crate::clock::Clock;
use crate::env::Lookup;

/// What a function is built from: its configuration (the environment) and the adapters
/// it needs. Implemented by each task crate's `Deps`.
pub trait Configure: Clone + Send + Sync + Sized + 'static {
    /// Reads the configuration and builds the dependencies. Fails only with
    /// `Cordon.Config`: a message naming the variable and how to fix it, never its secret.
    fn configure(env: Lookup<'_>, aws: &Aws, clock: Clock) -> Result<Self, TaskError>;

    /// What must be learnt from AWS before the function can answer (the unique ids of
    /// its own roles, protected principals and allowlisted actors). Runs once, at the
    /// first invocation, never at start-up, so no function makes a network call before its
    /// first event (`cargo xtask bench`'s cold-start section checks it); if it fails it
    /// runs again at the next one. What a function needs to know about itself (its own
    /// role) comes from its environment.
    fn prepare(&mut self, _aws: &Aws) -> impl Future<Output = Result<(), TaskError>> + Send {
        async { Ok(()) }
    }
}

/// A function invoked with a JSON payload (every workflow task and release).
pub trait Function: Configure {
    type Input: DeserializeOwned + Send + 'static;
    type Output: Serialize + Send + 'static;

    fn handle(
        &self,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, TaskError>> + Send;

    /// The domain metrics of one invocation's result (incidents opened, containments…),
    /// written with the invocation's own ([`crate::metrics`]). Most functions have none.
    fn measure(
        &self,
        _output: &Self::Output,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Vec<cordon_core::metrics::MetricsLine> {
        Vec::new()
    }
}

/// A function as it runs: configured or not, and prepared once.
pub struct Running<C: Configure> {
    aws: Aws,
    /// `AWS_LAMBDA_FUNCTION_NAME`, for the metrics.
    function_name: Option<String>,
    configured: Result<C, TaskError>,
    prepared: OnceCell<C>,
}

impl<C: Configure> Running<C> {
    /// Configures the function from `env`. A configuration error is kept (and logged), to
    /// be the answer to every invocation.
    pub fn start(env: Lookup<'_>, aws: Aws, clock: Clock) -> Self {
        let configured = C::configure(env, &aws, clock).map_err(|e| {
            error!(
                error = %e,
                error_type = e.error_name(),
                "the function's configuration is invalid: every invocation fails with this \
                 error until the environment is fixed"
            );
            e
        });
        Self {
            function_name: env("AWS_LAMBDA_FUNCTION_NAME"),
            aws,
            configured,
            prepared: OnceCell::new(),
        }
    }

    /// The configuration error every invocation gets, if there is one.
    pub fn config_error(&self) -> Option<&TaskError> {
        self.configured.as_ref().err()
    }

    /// The configured and prepared function, or the error that keeps it from running.
    pub async fn ready(&self) -> Result<&C, TaskError> {
        let configured = self.configured.as_ref().map_err(Clone::clone)?;
        self.prepared
            .get_or_try_init(|| async {
                let mut function = configured.clone();
                function.prepare(&self.aws).await.inspect_err(|e| {
                    error!(error = %e, error_type = e.error_name(), "preparing the function failed");
                })?;
                Ok(function)
            })
            .await
    }
}

impl<F: Function> Running<F> {
    /// One invocation with a typed payload.
    pub async fn invoke(&self, input: F::Input) -> Result<F::Output, TaskError> {
        self.ready().await?.handle(input).await
    }

    /// One invocation with a JSON payload, as the Lambda runtime delivers it. The
    /// configuration error comes first, whatever the payload; a payload that does not fit
    /// the function is `Cordon.InvalidEvent`.
    pub async fn invoke_json(&self, payload: Value) -> Result<Value, TaskError> {
        self.invoke_json_until(payload, None).await
    }

    /// [`Running::invoke_json`] for an invocation that Lambda ends at `deadline`: the
    /// handler is stopped shortly before, with `Cordon.Transient` (see [`crate::deadline`]).
    pub async fn invoke_json_before(
        &self,
        payload: Value,
        deadline: tokio::time::Instant,
    ) -> Result<Value, TaskError> {
        self.invoke_json_until(payload, Some(deadline)).await
    }

    async fn invoke_json_until(
        &self,
        payload: Value,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Value, TaskError> {
        // One metrics line per invocation, whatever the outcome (crate::metrics).
        let (started, at) = (std::time::Instant::now(), chrono::Utc::now());
        let mut domain = Vec::new();
        let work = async {
            let function = self.ready().await?;
            let input: F::Input = serde_json::from_value(payload).map_err(|e| {
                TaskError::invalid("$", format!("does not fit this function's input: {e}"))
            })?;
            let output = function.handle(input).await?;
            domain = function.measure(&output, at);
            serde_json::to_value(output).map_err(|e| {
                TaskError::invalid("(output)", format!("could not be serialized: {e}"))
            })
        };
        let result = match deadline {
            Some(deadline) => crate::deadline::within(deadline, work).await,
            None => work.await,
        };
        let name = crate::metrics::function_name::<F>(self.function_name.clone());
        let lines =
            crate::metrics::invocation(&name, at, started.elapsed(), result.as_ref().err(), domain);
        crate::metrics::emit(&lines);
        result
    }
}

/// Implements [`Configure`] and [`Function`] for a task crate's `Deps` from what every task
/// crate has: `Config::from_lookup(env)`, `Deps::build(config, aws, clock)` and
/// `handle(input, &deps)`. With `identities: field` (an
/// [`Identities`](crate::identities::Identities)), the identities it trusts or protects are
/// resolved to unique ids at cold start, the function's own role among them.
/// With `measure: f`, `f(&output, at)` gives the invocation's domain metrics.
///
/// ```text
/// cordon_aws::task_function! {
///     deps: Deps, config: Config, input: Input, output: Output, handle: handle,
///     identities: identities,
/// }
/// ```
#[macro_export]
macro_rules! task_function {
    (
        deps: $deps:ty,
        config: $config:ty,
        input: $input:ty,
        output: $output:ty,
        handle: $handle:path
        $(, identities: $field:ident)?
        $(, measure: $measure:path)?
        $(,)?
    ) => {
        impl $crate::function::Configure for $deps {
            fn configure(
                env: $crate::env::Lookup<'_>,
                aws: &$crate::aws::Aws,
                clock: $crate::clock::Clock,
            ) -> ::std::result::Result<Self, $crate::function::TaskError> {
                ::std::result::Result::Ok(<$deps>::build(<$config>::from_lookup(env)?, aws, clock))
            }
            $(
                async fn prepare(
                    &mut self,
                    aws: &$crate::aws::Aws,
                ) -> ::std::result::Result<(), $crate::function::TaskError> {
                    self.$field.resolve(aws).await
                }
            )?
        }

        impl $crate::function::Function for $deps {
            type Input = $input;
            type Output = $output;

            async fn handle(
                &self,
                input: $input,
            ) -> ::std::result::Result<$output, $crate::function::TaskError> {
                $handle(input, self).await
            }
            $(
                fn measure(
                    &self,
                    output: &$output,
                    at: ::chrono::DateTime<::chrono::Utc>,
                ) -> ::std::vec::Vec<::cordon_core::metrics::MetricsLine> {
                    $measure(output, at)
                }
            )?
        }
    };
}
