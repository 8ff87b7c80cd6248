//! Step Functions task-token callbacks (used by the approval Lambda).
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

/// [`TaskCallbacks`] over `aws-sdk-sfn`.
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
