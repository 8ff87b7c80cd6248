//! The stack-outputs fake: stacks and their outputs in memory.
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::calls::lock;
use crate::stack::{Outputs, StackError, StackOutputs};

/// [`StackOutputs`] in memory: a stack not added is [`StackError::NotFound`], as
/// CloudFormation answers a name it does not know.
#[derive(Debug, Default)]
pub struct FakeStackOutputs {
    stacks: Mutex<BTreeMap<String, Outputs>>,
    asked: Mutex<Vec<String>>,
}

impl FakeStackOutputs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a stack with `outputs` (output key → value).
    pub fn with_stack(self, name: &str, outputs: &[(&str, &str)]) -> Self {
        lock(&self.stacks).insert(
            name.to_string(),
            Outputs {
                stack_name: name.to_string(),
                status: Some("CREATE_COMPLETE".into()),
                values: outputs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
        self
    }

    /// The stack names asked for, in order.
    pub fn asked(&self) -> Vec<String> {
        lock(&self.asked).clone()
    }
}

#[async_trait]
impl StackOutputs for FakeStackOutputs {
    async fn outputs(&self, stack_name: &str) -> Result<Outputs, StackError> {
        lock(&self.asked).push(stack_name.to_string());
        lock(&self.stacks)
            .get(stack_name)
            .cloned()
            .ok_or_else(|| StackError::NotFound {
                stack: stack_name.to_string(),
            })
    }
}
