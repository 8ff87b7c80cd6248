//! How a data-flow step fails.
use crate::error::{self, StatesError};

/// Where a failure happened, so the caller can phrase AWS's cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FlowError {
    /// A `States.Runtime` failure with this message (prefixed later with the state).
    Runtime(String),
    /// Any other error name (from intrinsics, ResultPath, ...), cause used as is.
    Named(StatesError),
}

impl FlowError {
    pub(crate) fn into_states_error(self, state: &str, entered_event_id: u64) -> StatesError {
        match self {
            FlowError::Runtime(m) => StatesError::runtime(state, entered_event_id, m),
            FlowError::Named(e) if e.error == error::RUNTIME => {
                StatesError::runtime(state, entered_event_id, e.cause.unwrap_or_default())
            }
            FlowError::Named(e) => e,
        }
    }
}
