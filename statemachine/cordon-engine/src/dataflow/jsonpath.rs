//! The JSONPath query language's field forms: `OptPath` for InputPath/OutputPath/ResultPath/
//! ItemsPath, `FixedOrPath` for the number fields that take a fixed value, a `...Path`
//! reference path or (in JSONata states) an expression, and how they evaluate over `paths`.
use std::borrow::Cow;

use serde_json::{Map, Value};

use super::env::Env;
use super::error::FlowError;
use super::jsonata::JsonataExpr;
use crate::error::{self, StatesError};
use crate::json_text::compact;
use crate::paths::{Path, PathError, Roots};

/// `InputPath`, `OutputPath`, `ResultPath` and `ItemsPath` distinguish "absent" (`$`) from `null`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum OptPath {
    #[default]
    Default,
    Null,
    Path(Path),
}

/// A number given in the definition (`MaxConcurrency`), through a reference path
/// (`MaxConcurrencyPath`), or as a JSONata expression (`"MaxConcurrency": "{% ... %}"`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FixedOrPath<T> {
    Fixed(T),
    Path(Path),
    Jsonata(JsonataExpr),
}

/// What a number field accepts, and how AWS words its refusal of another value.
pub(crate) struct NumberRule<T> {
    /// The field (`TimeoutSeconds`, `MaxConcurrency`).
    pub field: &'static str,
    /// Reads an acceptable number.
    pub read: fn(&Value) -> Option<T>,
    /// The cause when the value a `...Path` selects is refused, given the field, the value and
    /// the path.
    pub reject: fn(&str, &Value, &str) -> String,
    /// Whether AWS's cause names the state (`An error occurred while executing the state...`).
    pub prefixed: bool,
}

impl<T: Copy> FixedOrPath<T> {
    /// The number: the fixed one, the value at the path (in `document`), or the expression's
    /// value.
    pub(crate) fn resolve(
        &self,
        rule: &NumberRule<T>,
        document: &Value,
        env: &Env<'_>,
    ) -> Result<T, FlowError> {
        match self {
            FixedOrPath::Fixed(n) => Ok(*n),
            FixedOrPath::Path(p) => {
                let v = select_required(p, &env.roots(document))?;
                (rule.read)(&v).ok_or_else(|| {
                    let cause = (rule.reject)(rule.field, &v, p.as_str());
                    if rule.prefixed {
                        FlowError::Runtime(cause)
                    } else {
                        FlowError::Unprefixed(cause)
                    }
                })
            }
            FixedOrPath::Jsonata(j) => {
                let v = j
                    .eval(&env.states())
                    .map_err(|f| FlowError::Query(f.cause(j.text(), rule.field)))?;
                (rule.read)(&v).ok_or_else(|| {
                    FlowError::Query(format!(
                        "The JSONata expression '{}' specified for the field '{}' returned an unexpected result type. Expected 'integer', but got '{}'.",
                        j.text(),
                        rule.field,
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
    rule: &NumberRule<T>,
    document: &Value,
    env: &Env<'_>,
) -> Result<Option<T>, FlowError> {
    field_value
        .as_ref()
        .map(|f| f.resolve(rule, document, env))
        .transpose()
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

/// Selects a path that must match (InputPath, OutputPath, ItemsPath, `...Path` fields).
pub(crate) fn select_required(path: &Path, roots: &Roots<'_>) -> Result<Value, FlowError> {
    match path.select(roots) {
        Some(v) => Ok(v),
        None => Err(FlowError::Runtime(format!(
            "Invalid path '{}' : No results for path: {}",
            path.as_str(),
            normalized(path.as_str())
        ))),
    }
}

/// InputPath and OutputPath: absent means `$`, null means `{}`.
pub(crate) fn apply_path(p: &OptPath, value: &Value, env: &Env<'_>) -> Result<Value, FlowError> {
    apply_path_ref(p, value, env).map(Cow::into_owned)
}

/// [`apply_path`] without copying `value` when the path is absent (`$`).
pub(crate) fn apply_path_ref<'v>(
    p: &OptPath,
    value: &'v Value,
    env: &Env<'_>,
) -> Result<Cow<'v, Value>, FlowError> {
    match p {
        OptPath::Default => Ok(Cow::Borrowed(value)),
        OptPath::Null => Ok(Cow::Owned(Value::Object(Map::new()))),
        OptPath::Path(path) => select_required(path, &env.roots(value)).map(Cow::Owned),
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
        OptPath::Path(path) => path
            .put(raw_input.clone(), result)
            .map_err(|e| result_path_error(path, e, raw_input)),
    }
}

/// A ResultPath's refusal to place a result into `raw_input`, as AWS reports it.
pub(crate) fn result_path_error(path: &Path, e: PathError, raw_input: &Value) -> FlowError {
    match e {
        PathError::Unappliable(m) => {
            FlowError::Named(StatesError::new(error::RESULT_PATH_MATCH_FAILURE, m))
        }
        PathError::Invalid { .. } => FlowError::Named(StatesError::new(
            error::RESULT_PATH_MATCH_FAILURE,
            format!(
                "Unable to apply ReferencePath {} to input {}",
                path.as_str(),
                compact(raw_input)
            ),
        )),
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
