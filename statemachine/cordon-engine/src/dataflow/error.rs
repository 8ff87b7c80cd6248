//! How a data-flow step fails.
use crate::error::{self, StatesError};

/// Where a failure happened, so the caller can phrase AWS's cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FlowError {
    /// A `States.Runtime` failure with this message (prefixed later with the state).
    Runtime(String),
    /// A JSONata expression failed (`States.QueryEvaluationError`, prefixed later with the
    /// state).
    Query(String),
    /// A `States.Runtime` failure whose cause AWS reports without naming the state (the
    /// Map state's `...Path` number fields).
    Unprefixed(String),
    /// Any other error name (from intrinsics, ResultPath, ...), cause used as is.
    Named(StatesError),
}

impl FlowError {
    pub(crate) fn into_states_error(self, state: &str, entered_event_id: u64) -> StatesError {
        match self {
            FlowError::Runtime(m) => StatesError::runtime(state, entered_event_id, m),
            FlowError::Query(m) => StatesError::new(
                error::QUERY_EVALUATION_ERROR,
                error::state_cause(state, entered_event_id, &m),
            ),
            FlowError::Unprefixed(m) => StatesError::new(error::RUNTIME, m),
            FlowError::Named(e) if e.error == error::RUNTIME => {
                StatesError::runtime(state, entered_event_id, e.cause.unwrap_or_default())
            }
            FlowError::Named(e) => e,
        }
    }
}
