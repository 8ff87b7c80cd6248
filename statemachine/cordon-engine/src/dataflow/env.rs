//! [`Env`]: everything an expression of a state can read.
use serde_json::Value;

use super::jsonata::States;
use crate::paths::{Roots, VariableLookup};

/// What a state's fields evaluate against: its raw input, the context object, the variables
/// in its scope and, once they exist, its result and the error a Catch handles.
///
/// JSONPath fields read `$` from a document that depends on the field (InputPath the raw
/// input, ResultSelector the result, ...), which the caller names; JSONata fields read
/// `$states`, which holds all of these at once.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub variables: &'a dyn VariableLookup,
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(
        input: &'a Value,
        context: &'a Value,
        variables: &'a dyn VariableLookup,
    ) -> Env<'a> {
        Env {
            input,
            context,
            variables,
            result: None,
            error_output: None,
        }
    }

    /// The same environment once the state has a result.
    pub(crate) fn with_result(self, result: &'a Value) -> Env<'a> {
        Env {
            result: Some(result),
            ..self
        }
    }

    /// The same environment in a Catch, which handles `error_output`.
    pub(crate) fn with_error_output(self, error_output: &'a Value) -> Env<'a> {
        Env {
            error_output: Some(error_output),
            ..self
        }
    }

    /// JSONPath roots with `document` as `$`.
    pub(crate) fn roots(&self, document: &'a Value) -> Roots<'a> {
        Roots {
            document,
            context: self.context,
            variables: self.variables,
        }
    }

    /// JSONata's `$states` and variables.
    pub(crate) fn states(&self) -> States<'a> {
        States {
            input: self.input,
            context: self.context,
            result: self.result,
            error_output: self.error_output,
            variables: self.variables,
        }
    }
}
