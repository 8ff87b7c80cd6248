//! Starting incident executions of the state machine (the MFA audit opens its incidents
//! through the same workflow as any event).
use async_trait::async_trait;
use aws_sdk_sfn::Client;
use cordon_core::TaskError;
use serde_json::Value;

use crate::error::{error_code, map_sdk_error};

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Started {
        execution_arn: String,
    },
    /// An execution of that name exists already (Step Functions keeps names unique for 90
    /// days): the incident was opened before.
    AlreadyExists,
}

#[async_trait]
pub trait IncidentExecutions: Send + Sync {
    /// Starts an execution named `name` with `input`.
    async fn start(&self, name: &str, input: &Value) -> Result<Start, TaskError>;
}

/// [`IncidentExecutions`] of one state machine over `aws-sdk-sfn`.
#[derive(Debug, Clone)]
pub struct SfnIncidentExecutions {
    client: Client,
    state_machine_arn: String,
}

impl SfnIncidentExecutions {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl IncidentExecutions for SfnIncidentExecutions {
    async fn start(&self, name: &str, input: &Value) -> Result<Start, TaskError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(out) => Ok(Start::Started {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(e) if error_code(&e) == Some("ExecutionAlreadyExists") => Ok(Start::AlreadyExists),
            Err(e) => Err(map_sdk_error("states:StartExecution", e)),
        }
    }
}
