//! A deployed stack's outputs (CloudFormation `DescribeStacks`): how the operator CLI finds
//! the table, topic, state machine and approval URL of `--stack NAME`.
//!
//! The [`StackOutputs`] capability is here with its SDK implementation
//! ([`CloudFormationStacks`]); `crate::fakes::stacks` holds its fake.
use std::collections::BTreeMap;

use async_trait::async_trait;
use cordon_core::TaskError;

use crate::error::{error_code, map_sdk_error};

/// The outputs of one stack, by output key (`IncidentTableName`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    pub stack_name: String,
    /// `CREATE_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, …
    pub status: Option<String>,
    pub values: BTreeMap<String, String>,
}

impl Outputs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// Why a stack's outputs could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StackError {
    /// CloudFormation knows no stack of that name in this account and Region.
    #[error("stack {stack} does not exist")]
    NotFound { stack: String },
    #[error(transparent)]
    Aws(#[from] TaskError),
}

/// Reads a stack's outputs.
#[async_trait]
pub trait StackOutputs: Send + Sync {
    async fn outputs(&self, stack_name: &str) -> Result<Outputs, StackError>;
}

/// [`StackOutputs`] over `aws-sdk-cloudformation`.
#[derive(Debug, Clone)]
pub struct CloudFormationStacks {
    client: aws_sdk_cloudformation::Client,
}

impl CloudFormationStacks {
    pub fn new(client: aws_sdk_cloudformation::Client) -> Self {
        Self { client }
    }
}

/// CloudFormation answers a missing stack with a plain `ValidationError` whose message is
/// "Stack with id NAME does not exist".
fn is_missing_stack(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

#[async_trait]
impl StackOutputs for CloudFormationStacks {
    async fn outputs(&self, stack_name: &str) -> Result<Outputs, StackError> {
        let out = match self
            .client
            .describe_stacks()
            .stack_name(stack_name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                use aws_smithy_types::error::metadata::ProvideErrorMetadata;
                if is_missing_stack(error_code(&e), e.message()) {
                    return Err(StackError::NotFound {
                        stack: stack_name.to_string(),
                    });
                }
                return Err(map_sdk_error("cloudformation:DescribeStacks", e).into());
            }
        };
        let stack = out
            .stacks
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| StackError::NotFound {
                stack: stack_name.to_string(),
            })?;
        let values = stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect();
        Ok(Outputs {
            stack_name: stack.stack_name.unwrap_or_else(|| stack_name.to_string()),
            status: stack.stack_status.map(|s| s.as_str().to_string()),
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_stack_is_not_found() {
        assert!(is_missing_stack(
            Some("ValidationError"),
            Some("Stack with id cordon does not exist")
        ));
        assert!(!is_missing_stack(
            Some("ValidationError"),
            Some("1 validation error detected")
        ));
        assert!(!is_missing_stack(
            Some("AccessDenied"),
            Some("does not exist")
        ));
    }
}
