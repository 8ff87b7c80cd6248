//! How Task states reach the outside world: the interpreter hands a [`TaskRequest`] to a
//! [`TaskDispatcher`] and never carries a task out itself. (What the `Resource` ARN means
//! for the execution, its integration pattern and history form, is [`crate::resource`].)
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error;
use crate::resource::IntegrationPattern;

/// One invocation of a Task state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub execution_arn: String,
    pub state_name: String,
    /// The `Resource` field exactly as written in the definition.
    pub resource: String,
    pub pattern: IntegrationPattern,
    /// The effective input: the state input after InputPath and Parameters.
    pub input: Value,
    /// Set for `.waitForTaskToken` tasks (also available as `$$.Task.Token`).
    pub task_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// 0 for the first attempt, then 1, 2, ... for each retry.
    pub attempt: u32,
    /// The context object (`$$`) as the state saw it (shared with the state's own fields);
    /// `null` when no field of the state mentions it (the engine then does not build it),
    /// and without `Execution.Input` when no field could read that.
    pub context: Arc<Value>,
}

/// A failed task: the error name Retry/Catch match on, and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Runs Task states. For `.waitForTaskToken` resources, a successful return only means the
/// work was submitted (its value is recorded as `TaskSubmitted`); the result arrives later
/// through the execution's callback API.
#[async_trait]
pub trait TaskDispatcher: Send + Sync {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure>;
}

/// Fails every Task, as `cordon local exec` does when no handler is registered.
#[derive(Debug, Default, Clone, Copy)]
pub struct UnresolvedDispatcher;

#[async_trait]
impl TaskDispatcher for UnresolvedDispatcher {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        Err(unresolved(&req.resource))
    }
}

fn unresolved(resource: &str) -> TaskFailure {
    TaskFailure::new(
        error::TASK_FAILED,
        format!("no handler registered for resource {resource}"),
    )
}

/// Adapts an async closure into a dispatcher.
pub struct FnDispatcher<F>(pub F);

#[async_trait]
impl<F, Fut> TaskDispatcher for FnDispatcher<F>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send,
{
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        (self.0)(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(resource: &str, input: Value) -> TaskRequest {
        TaskRequest {
            execution_arn: "arn".into(),
            state_name: "S".into(),
            resource: resource.into(),
            pattern: IntegrationPattern::of(resource),
            input,
            task_token: None,
            timeout_seconds: None,
            heartbeat_seconds: None,
            attempt: 0,
            context: Arc::new(Value::Null),
        }
    }

    #[tokio::test]
    async fn unresolved_fails_with_task_failed() {
        let err = UnresolvedDispatcher
            .invoke(req("arn:aws:states:::lambda:invoke", Value::Null))
            .await
            .unwrap_err();
        assert_eq!(err.error, "States.TaskFailed");
        assert_eq!(
            err.cause,
            "no handler registered for resource arn:aws:states:::lambda:invoke"
        );
    }
}
