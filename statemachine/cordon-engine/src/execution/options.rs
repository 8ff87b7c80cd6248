//! How an execution is started, and why a start or redrive is refused.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::ValidationError;

/// Options for starting an execution. Everything defaults to a local identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartOptions {
    pub name: Option<String>,
    pub execution_arn: Option<String>,
    pub state_machine_name: Option<String>,
    pub state_machine_arn: Option<String>,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    /// An execution of an `EXPRESS` state machine: at most five minutes, no history event
    /// limit, and no redrive.
    #[serde(default)]
    pub express: bool,
}

impl StartOptions {
    /// Reads context-object overrides in the shape of `$$`:
    /// `{"Execution": {"Id", "Name", "RoleArn", "StartTime"}, "StateMachine": {"Id", "Name"}}`.
    pub fn from_context(v: &Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("the context overrides must be a JSON object")?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Execution" | "StateMachine") {
                return Err(format!(
                    "unsupported context field '{k}' (expected Execution or StateMachine)"
                ));
            }
        }
        let text = |section: &str, key: &str| -> Result<Option<String>, String> {
            match v.get(section).and_then(|s| s.get(key)) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("context field '{section}.{key}' must be a string")),
            }
        };
        let start_time = match text("Execution", "StartTime")? {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| format!("context field 'Execution.StartTime': {e}"))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Self {
            name: text("Execution", "Name")?,
            execution_arn: text("Execution", "Id")?,
            role_arn: text("Execution", "RoleArn")?,
            state_machine_arn: text("StateMachine", "Id")?,
            state_machine_name: text("StateMachine", "Name")?,
            start_time,
            ..Self::default()
        })
    }
}

/// Why an execution could not be started or redriven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("InvalidDefinition: {0}")]
    InvalidDefinition(#[from] ValidationError),
    #[error("InvalidExecutionInput: {0}")]
    InvalidInput(String),
    #[error("ExecutionNotRedrivable: {0}")]
    NotRedrivable(String),
}
