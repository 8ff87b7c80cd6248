//! The Step Functions fake: remembers the task-token callbacks sent.
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;
use serde_json::Value;

use super::calls::{Calls, call_log_api, lock};
use crate::sfn::{Started, TaskCallbacks, WorkflowStarter};

/// One callback [`FakeTaskCallbacks`] received.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Success {
        token: String,
        output: Value,
    },
    Failure {
        token: String,
        error: String,
        cause: String,
    },
    Heartbeat {
        token: String,
    },
    /// `StartExecution`.
    Start {
        state_machine_arn: String,
        name: String,
        input: Value,
    },
}

/// [`TaskCallbacks`] that only remembers what it was sent.
#[derive(Debug, Default)]
pub struct FakeTaskCallbacks {
    sent: Mutex<Vec<Callback>>,
    calls: Mutex<Calls>,
}

impl FakeTaskCallbacks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Callback> {
        lock(&self.sent).clone()
    }

    call_log_api!();
}

#[async_trait]
impl TaskCallbacks for FakeTaskCallbacks {
    async fn send_task_success(&self, task_token: &str, output: &Value) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskSuccess")?;
        lock(&self.sent).push(Callback::Success {
            token: task_token.to_string(),
            output: output.clone(),
        });
        Ok(())
    }

    async fn send_task_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskFailure")?;
        lock(&self.sent).push(Callback::Failure {
            token: task_token.to_string(),
            error: error.to_string(),
            cause: cause.to_string(),
        });
        Ok(())
    }

    async fn send_task_heartbeat(&self, task_token: &str) -> Result<(), TaskError> {
        lock(&self.calls).enter("states:SendTaskHeartbeat")?;
        lock(&self.sent).push(Callback::Heartbeat {
            token: task_token.to_string(),
        });
        Ok(())
    }
}

#[async_trait]
impl WorkflowStarter for FakeTaskCallbacks {
    async fn start_execution(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Started, TaskError> {
        lock(&self.calls).enter("states:StartExecution")?;
        let mut sent = lock(&self.sent);
        let exists = sent.iter().any(
            |c| matches!(c, Callback::Start { state_machine_arn: a, name: n, .. } if a == state_machine_arn && n == name),
        );
        if exists {
            return Ok(Started::AlreadyExists);
        }
        sent.push(Callback::Start {
            state_machine_arn: state_machine_arn.to_string(),
            name: name.to_string(),
            input: input.clone(),
        });
        Ok(Started::Execution(format!(
            "{}:{name}",
            state_machine_arn.replace(":stateMachine:", ":execution:")
        )))
    }
}
