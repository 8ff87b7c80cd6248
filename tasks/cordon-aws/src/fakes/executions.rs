//! The execution fake: names are unique, as Step Functions keeps them.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use cordon_core::TaskError;
use serde_json::Value;

use super::calls::{Calls, call_log_api, lock};
use crate::executions::{IncidentExecutions, Start};

#[derive(Debug, Default)]
pub struct FakeIncidentExecutions {
    started: Mutex<BTreeMap<String, Value>>,
    calls: Mutex<Calls>,
}

impl FakeIncidentExecutions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every execution started: name → input.
    pub fn started(&self) -> BTreeMap<String, Value> {
        lock(&self.started).clone()
    }

    call_log_api!();
}

#[async_trait]
impl IncidentExecutions for FakeIncidentExecutions {
    async fn start(&self, name: &str, input: &Value) -> Result<Start, TaskError> {
        lock(&self.calls).enter("states:StartExecution")?;
        let mut started = lock(&self.started);
        if started.contains_key(name) {
            return Ok(Start::AlreadyExists);
        }
        started.insert(name.to_string(), input.clone());
        Ok(Start::Started {
            execution_arn: format!(
                "arn:aws:states:us-east-1:123456789012:execution:cordon-incidents:{name}"
            ),
        })
    }
}
