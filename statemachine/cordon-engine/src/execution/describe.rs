//! `DescribeExecution`: the summary of an execution callers see.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::state::ExecutionStatus;
use crate::json_text::compact;

/// `DescribeExecution`, with parsed JSON for input and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: u32,
}

impl ExecutionDescription {
    /// The AWS `DescribeExecution` response shape: `input`/`output` are JSON text, dates are
    /// epoch seconds, and `output` is present only for SUCCEEDED, `error`/`cause` only when set.
    pub fn to_aws_json(&self) -> Value {
        let epoch = |t: &DateTime<Utc>| {
            json!(t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0)
        };
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(self.execution_arn));
        m.insert("stateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("name".into(), json!(self.name));
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("startDate".into(), epoch(&self.start_date));
        if let Some(t) = &self.stop_date {
            m.insert("stopDate".into(), epoch(t));
        }
        m.insert("input".into(), json!(compact(&self.input)));
        m.insert("inputDetails".into(), json!({"included": true}));
        if let Some(o) = &self.output {
            m.insert("output".into(), json!(compact(o)));
            m.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        m.insert("redriveCount".into(), json!(self.redrive_count));
        Value::Object(m)
    }
}
