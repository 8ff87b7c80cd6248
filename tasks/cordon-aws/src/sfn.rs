//! Step Functions: task-token callbacks ([`TaskCallbacks`], the approval decision) and
//! starting an execution ([`WorkflowStarter`], a release).
//!
//! Task tokens are secrets: they are never logged and never put in error messages.
use async_trait::async_trait;
use aws_sdk_sfn::Client;
use cordon_core::TaskError;

use crate::error::SdkResultExt;

#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    /// Resume the waiting task with `output` (a JSON document).
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), TaskError>;

    /// Fail the waiting task with an error name and a cause.
    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TaskError>;

    async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), TaskError>;
}

/// What starting an execution found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// This call started it (or it is running with the same input: Step Functions answers
    /// a repeated StartExecution of a running execution with it).
    Execution(String),
    /// An execution with this name already exists (it was started earlier and has ended,
    /// or was started with another input): nothing was started.
    AlreadyExists,
}

#[async_trait]
pub trait WorkflowStarter: Send + Sync {
    /// Start an execution of `state_machine_arn` named `name` (idempotent by name, as
    /// Step Functions Standard is) with `input`.
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<Started, TaskError>;
}

/// [`TaskCallbacks`] and [`WorkflowStarter`] over `aws-sdk-sfn`.
#[derive(Debug, Clone)]
pub struct SfnTaskCallbacks {
    client: Client,
}

impl SfnTaskCallbacks {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TaskCallbacks for SfnTaskCallbacks {
    async fn send_task_success(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<(), TaskError> {
        self.client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
            .aws("states:SendTaskSuccess")?;
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TaskError> {
        self.client
            .send_task_failure()
            .task_token(task_token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .aws("states:SendTaskFailure")?;
        Ok(())
    }

    async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), TaskError> {
        self.client
            .send_task_heartbeat()
            .task_token(task_token)
            .send()
            .await
            .aws("states:SendTaskHeartbeat")?;
        Ok(())
    }
}

#[async_trait]
impl WorkflowStarter for SfnTaskCallbacks {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<Started, TaskError> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .or_none_on("states:StartExecution", "ExecutionAlreadyExists")?;
        Ok(match started {
            Some(out) => Started::Execution(out.execution_arn),
            None => Started::AlreadyExists,
        })
    }
}
