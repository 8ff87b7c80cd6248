//! Cordon's embedded Step Functions engine: an Amazon States Language
//! (JSONPath query language) interpreter that agrees with AWS.
//!
//! The engine knows the Amazon States Language, including the forms a Task's `Resource` ARN
//! takes, because they decide how the Task waits and how history records it (all read in
//! [`resource`]). It never carries a task out: every Task goes to a [`TaskDispatcher`], and
//! the crate has no Lambda, HTTP or AWS client. Time comes from a [`Clock`] that tests
//! replace with a virtual one.
//!
//! - [`Definition::parse`] validates a definition, naming the state and field of each problem.
//! - [`Execution`] runs one execution: [`Execution::start`], then
//!   [`Execution::run_until_parked`] (for a service that persists parked executions) or
//!   [`Execution::run_until_finished`]; [`Execution::stop`], [`Execution::redrive`].
//! - Callbacks are one type, [`Callback`] (SendTaskSuccess/Failure/Heartbeat, StopExecution):
//!   applied directly with [`Execution::apply`], or sent from elsewhere through an
//!   [`ExecutionHandle`] as a [`Command`] that carries its reply channel. A service that drives
//!   parked executions itself takes them with [`Execution::next_command`].
//! - [`run_to_completion`] and [`local_exec`] are the one-call forms `cordon local exec` uses.
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

pub mod intrinsics;
pub mod paths;

mod choice;
pub mod clock;
pub mod dataflow;
pub mod definition;
pub mod dispatch;
pub mod error;
pub mod execution;
pub mod history;
pub mod json_text;
pub mod resource;

use std::sync::Arc;

use serde_json::Value;

pub use clock::{Clock, Randomness, SystemClock, VirtualClock};
pub use definition::{Definition, Diagnostic, ValidationError};
pub use dispatch::{FnDispatcher, TaskDispatcher, TaskFailure, TaskRequest, UnresolvedDispatcher};
pub use error::StatesError;
pub use execution::{
    Callback, CallbackError, Command, Execution, ExecutionDescription, ExecutionHandle,
    ExecutionState, ExecutionStatus, Reply, RunOutcome, Runtime, StartError, StartOptions,
};
pub use history::{EventType, HistoryEvent};
pub use resource::{IntegrationPattern, Resource};

/// What a finished (or stuck) execution looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionResult {
    pub description: ExecutionDescription,
    pub history: Vec<HistoryEvent>,
}

impl ExecutionResult {
    pub fn status(&self) -> ExecutionStatus {
        self.description.status
    }
}

/// Parses `definition_json`, starts an execution with `input` (and optional context-object
/// overrides, in the shape of `$$`), and runs it until it finishes. With a [`VirtualClock`],
/// waits and timeouts take no real time.
pub async fn run_to_completion(
    definition_json: &str,
    input: Value,
    context_overrides: Option<&Value>,
    dispatcher: Arc<dyn TaskDispatcher>,
    clock: Arc<dyn Clock>,
) -> Result<ExecutionResult, StartError> {
    let def = Arc::new(Definition::parse(definition_json)?);
    let opts = match context_overrides {
        Some(v) => StartOptions::from_context(v).map_err(StartError::InvalidInput)?,
        None => StartOptions::default(),
    };
    let rt = Runtime::new(dispatcher, clock);
    let mut ex = Execution::start(def, input, opts, &rt)?;
    ex.run_until_finished(&rt).await;
    Ok(ExecutionResult {
        description: ex.describe(),
        history: ex.history().to_vec(),
    })
}

/// `cordon local exec`: runs a definition on the wall clock and returns one JSON object in the
/// shape of `DescribeExecution` (`status`, plus `output` or `error`/`cause`; `input` and
/// `output` are JSON text, as AWS returns them). Task states fail as unresolved unless
/// `dispatcher` handles them.
pub async fn local_exec(
    definition_json: &str,
    input_json: &str,
    context_json: Option<&str>,
    dispatcher: Option<Arc<dyn TaskDispatcher>>,
) -> Result<Value, StartError> {
    local_exec_with_clock(
        definition_json,
        input_json,
        context_json,
        dispatcher,
        Arc::new(SystemClock),
    )
    .await
}

/// [`local_exec`] with a chosen clock: pass a [`VirtualClock`] to skip over waits and timeouts.
pub async fn local_exec_with_clock(
    definition_json: &str,
    input_json: &str,
    context_json: Option<&str>,
    dispatcher: Option<Arc<dyn TaskDispatcher>>,
    clock: Arc<dyn Clock>,
) -> Result<Value, StartError> {
    let input: Value = serde_json::from_str(input_json)
        .map_err(|e| StartError::InvalidInput(format!("the input is not valid JSON: {e}")))?;
    let context = match context_json {
        Some(c) => Some(serde_json::from_str::<Value>(c).map_err(|e| {
            StartError::InvalidInput(format!("the context is not valid JSON: {e}"))
        })?),
        None => None,
    };
    let dispatcher = dispatcher.unwrap_or_else(|| Arc::new(UnresolvedDispatcher));
    let result =
        run_to_completion(definition_json, input, context.as_ref(), dispatcher, clock).await?;
    Ok(result.description.to_aws_json())
}
