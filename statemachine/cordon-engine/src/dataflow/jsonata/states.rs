//! [`States`]: what a JSONata expression sees, `$states` and the workflow variables.
use serde_json::Value;

use crate::paths::VariableLookup;

/// What a JSONata expression sees: `$states` and the workflow variables.
#[derive(Clone, Copy)]
pub(crate) struct States<'a> {
    /// `$states.input`: the state's raw input.
    pub input: &'a Value,
    /// `$states.context`: the context object.
    pub context: &'a Value,
    /// `$states.result`: the Task, Parallel or Map result, once there is one.
    pub result: Option<&'a Value>,
    /// `$states.errorOutput`: the `{Error, Cause}` a Catch handles.
    pub error_output: Option<&'a Value>,
    pub variables: &'a dyn VariableLookup,
}
