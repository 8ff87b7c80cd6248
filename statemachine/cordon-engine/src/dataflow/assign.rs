//! `Assign`: the variables a state stores, in either query language.
//!
//! AWS Step Functions developer guide, "Passing data between states with variables": `Assign`
//! is a JSON object of variable names and values. In JSONPath states a name ending in `.$`
//! takes the value of a path or intrinsic function; in JSONATA states a `{% %}` string is an
//! expression. Every value is evaluated against the variables as they were when the state was
//! entered, and the new values take effect together, once the state's output is known.
use serde_json::Value;

use super::env::Env;
use super::error::FlowError;
use super::flow::{MAX_PAYLOAD_BYTES, payload_size};
use super::query::QueryLanguage;
use super::template::{JsonataScope, Template};
use crate::error::{self, StatesError};
use crate::paths::{MAX_VARIABLE_NAME_CHARS, is_reserved_variable, is_variable_name};

/// The largest value one variable may hold, and the most one `Assign` may store (256 KiB).
pub const MAX_VARIABLE_BYTES: usize = MAX_PAYLOAD_BYTES;
/// The most all of an execution's variables may hold together (10 MiB).
pub const MAX_STORED_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

/// A compiled `Assign` field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assign {
    bindings: Vec<(String, Template)>,
}

impl Assign {
    /// Compiles the `Assign` object `v` of a state in `language`, found at `at` (`Assign`,
    /// `Catch[0].Assign`).
    pub(crate) fn compile(
        v: &Value,
        language: QueryLanguage,
        at: &str,
        scope: JsonataScope,
        problems: &mut Vec<(String, String)>,
    ) -> Option<Assign> {
        let Some(m) = v.as_object() else {
            problems.push((at.to_owned(), "must be a JSON object".into()));
            return None;
        };
        let mut bindings = Vec::with_capacity(m.len());
        for (key, value) in m {
            let field = format!("{at}.{key}");
            let name = match language {
                QueryLanguage::JsonPath => key.strip_suffix(".$").unwrap_or(key),
                QueryLanguage::JsonAta => key.as_str(),
            };
            if is_reserved_variable(name) {
                problems.push((field, format!("'{name}' is a reserved variable name")));
                continue;
            }
            if !is_variable_name(name) {
                problems.push((
                    field,
                    format!(
                        "'{name}' is not a valid variable name (a letter or '_', then letters, digits or '_', at most {MAX_VARIABLE_NAME_CHARS} characters)"
                    ),
                ));
                continue;
            }
            let template = match language {
                QueryLanguage::JsonPath => {
                    // `{"x.$": "$.a"}` compiles like a one-field payload template.
                    let one = serde_json::json!({ key.as_str(): value });
                    match Template::compile(&one, language, at, scope, problems) {
                        Template::Object(mut f) if f.len() == 1 => f.remove(0).1,
                        Template::Const(Value::Object(mut c)) => {
                            Template::Const(c.remove(key).unwrap_or(Value::Null))
                        }
                        _ => continue,
                    }
                }
                QueryLanguage::JsonAta => {
                    Template::compile(value, language, &format!("{at}/{key}"), scope, problems)
                }
            };
            bindings.push((name.to_owned(), template));
        }
        Some(Assign { bindings })
    }

    /// Evaluates every value (JSONPath reads `$` from `document`) and checks the size limits.
    pub(crate) fn eval(
        &self,
        document: &Value,
        env: &Env<'_>,
    ) -> Result<Vec<(String, Value)>, FlowError> {
        let mut out = Vec::with_capacity(self.bindings.len());
        let mut total = 0usize;
        for (name, t) in &self.bindings {
            let v = t.eval(document, env)?;
            let size = payload_size(&v);
            if size > MAX_VARIABLE_BYTES {
                return Err(data_limit(format!(
                    "The variable '{name}' has a size of {size} bytes, which exceeds the maximum of {MAX_VARIABLE_BYTES} bytes for a variable."
                )));
            }
            total += size;
            out.push((name.clone(), v));
        }
        if total > MAX_VARIABLE_BYTES {
            return Err(data_limit(format!(
                "The variables assigned by this state have a combined size of {total} bytes, which exceeds the maximum of {MAX_VARIABLE_BYTES} bytes for one Assign."
            )));
        }
        Ok(out)
    }
}

fn data_limit(cause: String) -> FlowError {
    FlowError::Named(StatesError::new(error::DATA_LIMIT_EXCEEDED, cause))
}

/// `States.DataLimitExceeded` once all the variables of an execution hold more than
/// [`MAX_STORED_VARIABLE_BYTES`].
pub(crate) fn check_stored(stored: usize) -> Result<(), FlowError> {
    if stored > MAX_STORED_VARIABLE_BYTES {
        return Err(data_limit(format!(
            "The variables of this execution have a combined size of {stored} bytes, which exceeds the maximum of {MAX_STORED_VARIABLE_BYTES} bytes."
        )));
    }
    Ok(())
}
