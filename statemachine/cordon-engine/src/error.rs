//! The `States.*` error names and the error value a failing state carries.
use serde::{Deserialize, Serialize};

/// A wildcard that matches any error name except the terminal ones ([`RUNTIME`], [`DATA_LIMIT_EXCEEDED`]).
pub const ALL: &str = "States.ALL";
/// A Task state failed. In Retry/Catch it matches any error name except [`TIMEOUT`].
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A Task ran longer than TimeoutSeconds, or the execution ran longer than its TimeoutSeconds.
pub const TIMEOUT: &str = "States.Timeout";
/// A Task failed to heartbeat within HeartbeatSeconds.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// An evaluation error (bad path, bad value). Never retried or caught: it fails the execution.
pub const RUNTIME: &str = "States.Runtime";
/// A payload exceeded 256 KiB. Terminal: `States.ALL` does not match it.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// ResultPath could not be applied to the state input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// A `.$` field in Parameters could not be resolved.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A branch of a Parallel state failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// A Choice state matched no rule and has no Default.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state's failed items exceeded its tolerated failure threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A Map state's ItemReader failed.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A Task had insufficient privileges.
pub const PERMISSIONS: &str = "States.Permissions";
/// A JSONata expression failed, or evaluated to nothing, or to a value of the wrong type.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Every `States.*` error name the ASL specification defines.
pub const KNOWN_STATES_ERRORS: &[&str] = &[
    ALL,
    TASK_FAILED,
    TIMEOUT,
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    DATA_LIMIT_EXCEEDED,
    RESULT_PATH_MATCH_FAILURE,
    PARAMETER_PATH_FAILURE,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    PERMISSIONS,
    QUERY_EVALUATION_ERROR,
    "States.Http.Socket",
];

/// An error raised by a state: the `Error` and `Cause` that Retry/Catch see and that an
/// uncaught failure reports on the execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesError {
    pub error: String,
    pub cause: Option<String>,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }

    /// A `States.Runtime` error, with AWS's cause prefix naming the state and the event that entered it.
    pub fn runtime(state: &str, entered_event_id: u64, message: impl AsRef<str>) -> Self {
        Self::new(
            RUNTIME,
            state_cause(state, entered_event_id, message.as_ref()),
        )
    }

    pub fn data_limit(state: &str) -> Self {
        Self::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
        )
    }

    /// The `{"Error": ..., "Cause": ...}` object a Catcher passes on.
    pub fn to_catch_output(&self) -> serde_json::Value {
        serde_json::json!({
            "Error": self.error,
            "Cause": self.cause.clone().unwrap_or_default(),
        })
    }
}

/// AWS's cause for an error the interpreter raises in a state: the state and the event that
/// entered it, then what went wrong.
pub(crate) fn state_cause(state: &str, entered_event_id: u64, message: &str) -> String {
    format!(
        "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {message}"
    )
}

/// Whether an error can never be handled by Retry or Catch and always fails the execution.
pub(crate) fn is_uncatchable(error: &str) -> bool {
    error == RUNTIME
}

/// Whether an `ErrorEquals` entry matches `error`, following AWS's wildcard rules.
pub(crate) fn error_matches(pattern: &str, error: &str) -> bool {
    if is_uncatchable(error) {
        return false;
    }
    if pattern == error {
        return true;
    }
    match pattern {
        ALL => error != DATA_LIMIT_EXCEEDED,
        TASK_FAILED => error != TIMEOUT && error != DATA_LIMIT_EXCEEDED,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_aws_rules() {
        assert!(error_matches(ALL, "Custom.Error"));
        assert!(error_matches(ALL, TIMEOUT));
        assert!(!error_matches(ALL, RUNTIME));
        assert!(!error_matches(RUNTIME, RUNTIME));
        assert!(!error_matches(ALL, DATA_LIMIT_EXCEEDED));
        assert!(error_matches(DATA_LIMIT_EXCEEDED, DATA_LIMIT_EXCEEDED));
        assert!(error_matches(TASK_FAILED, "Lambda.ServiceException"));
        assert!(!error_matches(TASK_FAILED, TIMEOUT));
        assert!(!error_matches("A", "B"));
    }
}
