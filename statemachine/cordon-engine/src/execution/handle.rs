//! How the outside world reaches an execution: a [`Callback`] (the task-token callbacks and
//! `StopExecution`), wrapped with its reply channel in a [`Command`], delivered through an
//! [`ExecutionHandle`]. This is the one definition of those requests; the local service
//! queues and forwards these very types.
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// A request from outside an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// `SendTaskSuccess`.
    Success { token: String, output: Value },
    /// `SendTaskFailure`.
    Failure {
        token: String,
        error: Option<String>,
        cause: Option<String>,
    },
    /// `SendTaskHeartbeat`.
    Heartbeat { token: String },
    /// `StopExecution`.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// Why a task-token callback or a stop was refused, with AWS's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("TaskDoesNotExist: no running task has this token")]
    TaskDoesNotExist,
    #[error("InvalidToken: the task token is malformed")]
    InvalidToken,
    #[error("TaskTimedOut: the task for this token has already timed out")]
    TaskTimedOut,
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
    #[error("ExecutionDoesNotExist: the execution is gone")]
    ExecutionGone,
}

impl CallbackError {
    /// The AWS API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TaskDoesNotExist => "TaskDoesNotExist",
            Self::InvalidToken => "InvalidToken",
            Self::TaskTimedOut => "TaskTimedOut",
            Self::InvalidOutput(_) => "InvalidOutput",
            Self::ExecutionGone => "ExecutionDoesNotExist",
        }
    }
}

/// A [`Callback`] on its way to an execution, with the channel its answer goes back on.
#[derive(Debug)]
pub struct Command {
    pub callback: Callback,
    pub reply: Reply,
}

impl Command {
    /// A command, and the receiver its answer arrives on (an error when the execution is
    /// dropped before it answers).
    pub fn new(callback: Callback) -> (Command, oneshot::Receiver<Result<(), CallbackError>>) {
        let (tx, rx) = oneshot::channel();
        let cmd = Command {
            callback,
            reply: Reply(tx),
        };
        (cmd, rx)
    }
}

/// Where the answer to a [`Command`] goes.
#[derive(Debug)]
pub struct Reply(oneshot::Sender<Result<(), CallbackError>>);

impl Reply {
    /// Sends the answer; the sender may have stopped listening.
    pub fn send(self, result: Result<(), CallbackError>) {
        let _ = self.0.send(result);
    }
}

/// A cloneable handle for delivering callbacks to a running execution from elsewhere
/// (another task, an HTTP handler, a dispatcher).
#[derive(Clone)]
pub struct ExecutionHandle {
    tx: Arc<mpsc::UnboundedSender<Command>>,
}

impl ExecutionHandle {
    pub(super) fn new(tx: Arc<mpsc::UnboundedSender<Command>>) -> Self {
        Self { tx }
    }

    /// Queues `cmd` for the execution, which answers it when its driver takes it up (within
    /// `run_until_parked`, or through [`Execution::next_command`](super::Execution::next_command)
    /// while parked). Gives the command back if the execution is gone.
    pub fn submit(&self, cmd: Command) -> Result<(), Command> {
        self.tx.send(cmd).map_err(|e| e.0)
    }

    /// Delivers `callback` and waits for the answer.
    pub async fn send(&self, callback: Callback) -> Result<(), CallbackError> {
        let (cmd, rx) = Command::new(callback);
        self.submit(cmd).map_err(|_| CallbackError::ExecutionGone)?;
        rx.await.map_err(|_| CallbackError::ExecutionGone)?
    }

    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.send(Callback::Success { token, output }).await
    }

    pub async fn send_task_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.send(Callback::Failure {
            token,
            error,
            cause,
        })
        .await
    }

    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.send(Callback::Heartbeat { token }).await
    }

    pub async fn stop(
        &self,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        self.send(Callback::Stop { error, cause }).await
    }
}
