//! The per-state data flow and the payload limit.
use serde_json::Value;

use super::error::FlowError;
use super::jsonpath::{OptPath, apply_path, apply_result_path, apply_template};
use crate::error::StatesError;

/// AWS's maximum payload size for state input, output and results.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The size AWS counts: the UTF-8 bytes of the compact JSON text.
pub(crate) fn payload_size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// `States.DataLimitExceeded` when `v` is larger than [`MAX_PAYLOAD_BYTES`].
pub(crate) fn within_limit(v: &Value, state: &str) -> Result<(), FlowError> {
    if payload_size(v) > MAX_PAYLOAD_BYTES {
        return Err(FlowError::Named(StatesError::data_limit(state)));
    }
    Ok(())
}

/// A state's input and output processing fields (JSONPath query language). A field a state
/// type does not have is absent: `Default` paths and `None` templates change nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DataFlow {
    pub input_path: OptPath,
    /// `Parameters` of Pass, Task and Parallel. (Map's `Parameters` is its `ItemSelector`,
    /// applied per item.)
    pub parameters: Option<Value>,
    /// `ResultSelector` of Task, Parallel and Map.
    pub result_selector: Option<Value>,
    pub result_path: OptPath,
    pub output_path: OptPath,
}

impl DataFlow {
    /// InputPath, then Parameters: the value the state works on (AWS's "effective input").
    pub(crate) fn effective_input(&self, input: &Value, ctx: &Value) -> Result<Value, FlowError> {
        let selected = apply_path(&self.input_path, input, ctx)?;
        match &self.parameters {
            Some(p) => apply_template(p, &selected, ctx),
            None => Ok(selected),
        }
    }

    /// The state's output from its result: ResultSelector, ResultPath into the raw state
    /// input, the payload limit, then OutputPath.
    pub(crate) fn output(
        &self,
        state: &str,
        raw_input: &Value,
        result: Value,
        ctx: &Value,
    ) -> Result<Value, FlowError> {
        let result = match &self.result_selector {
            Some(sel) => apply_template(sel, &result, ctx)?,
            None => result,
        };
        let out = apply_result_path(&self.result_path, raw_input, result)?;
        within_limit(&out, state)?;
        apply_path(&self.output_path, &out, ctx)
    }

    /// OutputPath alone, for states without a result (Choice, Wait, Succeed).
    pub(crate) fn output_path(&self, value: &Value, ctx: &Value) -> Result<Value, FlowError> {
        apply_path(&self.output_path, value, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_size_is_compact_json() {
        assert_eq!(payload_size(&serde_json::json!({"a": [1, 2]})), 11);
    }
}
