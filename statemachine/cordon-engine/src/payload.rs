//! Input and output processing: InputPath, payload templates (Parameters, ResultSelector,
//! ItemSelector), ResultPath and OutputPath, over the `paths` and `intrinsics` modules.
use serde_json::{Map, Value};

use crate::definition::OptPath;
use crate::error::{self, StatesError};
use crate::intrinsics::{self, IntrinsicError};
pub(crate) use crate::json_text::compact;
use crate::paths::{self, PathError};

/// AWS's maximum payload size for state input, output and results.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The size AWS counts: the UTF-8 bytes of the compact JSON text.
pub(crate) fn payload_size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// Where a failure happened, so the caller can phrase AWS's cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FlowError {
    /// A `States.Runtime` failure with this message (prefixed later with the state).
    Runtime(String),
    /// Any other error name (from intrinsics, ResultPath, ...), cause used as is.
    Named(StatesError),
}

impl FlowError {
    pub(crate) fn into_states_error(self, state: &str, entered_event_id: u64) -> StatesError {
        match self {
            FlowError::Runtime(m) => StatesError::runtime(state, entered_event_id, m),
            FlowError::Named(e) if e.error == error::RUNTIME => {
                StatesError::runtime(state, entered_event_id, e.cause.unwrap_or_default())
            }
            FlowError::Named(e) => e,
        }
    }
}

fn path_err(e: PathError) -> FlowError {
    FlowError::Runtime(e.to_string())
}

/// `$['a']['b'][0]`, the normalised form AWS prints in "No results for path" messages.
pub(crate) fn normalized(path: &str) -> String {
    let Some(rest) = path.strip_prefix('$') else {
        return path.to_owned();
    };
    let (root, rest) = match rest.strip_prefix('$') {
        Some(r) => ("$$", r),
        None => ("$", rest),
    };
    let mut out = String::from(root);
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                out.push_str(&format!("['{name}']"));
            }
            '[' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                out.push_str(&format!("[{inner}]"));
            }
            _ => return path.to_owned(),
        }
    }
    out
}

/// Selects a path that must match (InputPath, OutputPath, ItemsPath).
pub(crate) fn select_required(path: &str, input: &Value, ctx: &Value) -> Result<Value, FlowError> {
    match paths::select(path, input, ctx).map_err(path_err)? {
        Some(v) => Ok(v),
        None => Err(FlowError::Runtime(format!(
            "Invalid path '{path}' : No results for path: {}",
            normalized(path)
        ))),
    }
}

/// InputPath and OutputPath: absent means `$`, null means `{}`.
pub(crate) fn apply_path(p: &OptPath, value: &Value, ctx: &Value) -> Result<Value, FlowError> {
    match p {
        OptPath::Default => Ok(value.clone()),
        OptPath::Null => Ok(Value::Object(Map::new())),
        OptPath::Path(path) => select_required(path, value, ctx),
    }
}

/// ResultPath: absent means `$` (the result replaces the input), null discards the result.
pub(crate) fn apply_result_path(
    p: Option<&OptPath>,
    raw_input: &Value,
    result: Value,
) -> Result<Value, FlowError> {
    match p {
        None | Some(OptPath::Default) => Ok(result),
        Some(OptPath::Null) => Ok(raw_input.clone()),
        Some(OptPath::Path(path)) => {
            paths::put(raw_input.clone(), path, result).map_err(|e| match e {
                PathError::Unappliable(m) => {
                    FlowError::Named(StatesError::new(error::RESULT_PATH_MATCH_FAILURE, m))
                }
                PathError::Invalid { .. } => FlowError::Named(StatesError::new(
                    error::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "Unable to apply ReferencePath {path} to input {}",
                        compact(raw_input)
                    ),
                )),
            })
        }
    }
}

/// Evaluates a `.$` expression: an intrinsic call or a path.
pub(crate) fn eval_expression(
    expr: &str,
    field: &str,
    input: &Value,
    ctx: &Value,
) -> Result<Value, FlowError> {
    if intrinsics::is_intrinsic(expr) {
        return intrinsics::evaluate(expr, input, ctx).map_err(|e| match e {
            IntrinsicError::Invalid(m) => FlowError::Runtime(m),
            IntrinsicError::Failed { error, cause } => {
                FlowError::Named(StatesError::new(error, cause))
            }
        });
    }
    match paths::select(expr, input, ctx).map_err(path_err)? {
        Some(v) => Ok(v),
        None => {
            let doc = if expr.starts_with("$$") { ctx } else { input };
            Err(FlowError::Runtime(format!(
                "The JSONPath '{expr}' specified for the field '{field}' could not be found in the input '{}'",
                compact(doc)
            )))
        }
    }
}

/// Applies a payload template: fields ending in `.$` are evaluated, objects and arrays recurse.
pub(crate) fn apply_template(tpl: &Value, input: &Value, ctx: &Value) -> Result<Value, FlowError> {
    match tpl {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                match (k.strip_suffix(".$"), v) {
                    (Some(name), Value::String(expr)) => {
                        out.insert(name.to_owned(), eval_expression(expr, k, input, ctx)?);
                    }
                    _ => {
                        out.insert(k.clone(), apply_template(v, input, ctx)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => Ok(Value::Array(
            items
                .iter()
                .map(|i| apply_template(i, input, ctx))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_paths_like_aws() {
        assert_eq!(normalized("$.a.b"), "$['a']['b']");
        assert_eq!(normalized("$.items[0].x"), "$['items'][0]['x']");
        assert_eq!(normalized("$$.Execution.Id"), "$$['Execution']['Id']");
    }

    #[test]
    fn payload_size_is_compact_json() {
        assert_eq!(payload_size(&serde_json::json!({"a": [1, 2]})), 11);
    }
}
