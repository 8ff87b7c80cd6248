//! AWS-shaped API errors (`{"__type": code, "message": ...}`, HTTP 400) and the crate's
//! internal errors.
use cordon_engine::{CallbackError, StartError};

/// An error returned to an API client, in the awsJson1_0 shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The AWS error code (`__type`), e.g. `ExecutionAlreadyExists`.
    pub code: &'static str,
    pub message: String,
    /// The HTTP status (400 for client errors, 500 for the service's own failures).
    pub status: u16,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: 400,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "InternalServerError",
            message: message.into(),
            status: 500,
        }
    }

    /// The response body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"__type": self.code, "message": self.message})
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::TaskDoesNotExist => Self::new("TaskDoesNotExist", "Task does not exist"),
            CallbackError::InvalidToken => Self::new("InvalidToken", "Invalid Token"),
            CallbackError::TaskTimedOut => Self::new(
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'",
            ),
            CallbackError::InvalidOutput(m) => Self::new("InvalidOutput", m),
            CallbackError::ExecutionGone => Self::new(
                "TaskTimedOut",
                "Task Timed Out: 'Provided task does not exist anymore'",
            ),
        }
    }
}

impl From<StartError> for ApiError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::InvalidDefinition(v) => Self::new("InvalidDefinition", v.to_string()),
            StartError::InvalidInput(m) => Self::new("InvalidExecutionInput", m),
            StartError::NotRedrivable(m) => Self::new("ExecutionNotRedrivable", m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e.to_string())
    }
}

/// A persistence failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt stored record: {0}")]
    Corrupt(String),
    /// The transaction holding the write did not commit (or the writer has stopped), so
    /// nothing of it was stored.
    #[error("SQLite commit: {0}")]
    Commit(String),
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the state database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot resume stored executions: {0}")]
    Resume(#[from] StoreError),
}
