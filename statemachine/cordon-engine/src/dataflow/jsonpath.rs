//! The JSONPath query language's data flow: the forms its fields take (`OptPath` for
//! InputPath/OutputPath/ResultPath/ItemsPath, `FixedOrPath` for `X`/`XPath` pairs such as
//! `TimeoutSeconds`/`TimeoutSecondsPath`, payload templates with `.$` fields) and how they
//! evaluate over `paths` and `intrinsics`.
use serde_json::{Map, Value};

use super::error::FlowError;
use crate::error::{self, StatesError};
use crate::intrinsics::{self, IntrinsicError};
use crate::json_text::compact;
use crate::paths::{self, PathError};

/// `InputPath`, `OutputPath`, `ResultPath` and `ItemsPath` distinguish "absent" (`$`) from `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum OptPath {
    #[default]
    Default,
    Null,
    Path(String),
}

/// A number given either in the definition (`MaxConcurrency`) or through a reference path
/// into the state input (`MaxConcurrencyPath`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FixedOrPath<T> {
    Fixed(T),
    Path(String),
}

impl<T: Copy> FixedOrPath<T> {
    /// The number: the fixed one, or the value at the path in `input` that `read` accepts.
    /// `field` names the fixed field (`TimeoutSeconds`) and `requirement` words what `read`
    /// accepts (`a positive integer`), for AWS's message when it rejects the value.
    pub(crate) fn resolve(
        &self,
        field: &str,
        requirement: &str,
        input: &Value,
        ctx: &Value,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Result<T, FlowError> {
        match self {
            FixedOrPath::Fixed(n) => Ok(*n),
            FixedOrPath::Path(p) => {
                let v = select_required(p, input, ctx)?;
                read(&v).ok_or_else(|| {
                    FlowError::Runtime(format!(
                        "The {field}Path parameter must reference {requirement}: {p} == {}",
                        compact(&v)
                    ))
                })
            }
        }
    }
}

/// [`FixedOrPath::resolve`] for an optional field: `None` when the field is absent.
pub(crate) fn resolve_optional<T: Copy>(
    field_value: &Option<FixedOrPath<T>>,
    field: &str,
    requirement: &str,
    input: &Value,
    ctx: &Value,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, FlowError> {
    field_value
        .as_ref()
        .map(|f| f.resolve(field, requirement, input, ctx, read))
        .transpose()
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
    p: &OptPath,
    raw_input: &Value,
    result: Value,
) -> Result<Value, FlowError> {
    match p {
        OptPath::Default => Ok(result),
        OptPath::Null => Ok(raw_input.clone()),
        OptPath::Path(path) => paths::put(raw_input.clone(), path, result).map_err(|e| match e {
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
        }),
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
}
