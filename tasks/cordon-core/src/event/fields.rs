//! Lenient reading of JSON fields: typed views of a path inside a raw value, CloudTrail's
//! strings-as-booleans, and short excerpts of bad values for error messages.
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::TaskError;

/// Human name of a JSON value's type, for error messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A non-empty string at `path` inside `v`.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The value at `path`, if every step is an object with that key.
pub fn value_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

/// CloudTrail's strings-as-booleans: `"true"`/`"false"`, `"Yes"`/`"No"`, any case.
/// Real JSON booleans are accepted too.
pub fn parse_bool_lenient(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp into UTC.
pub fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Shortens a value for an error message: at most 80 chars, control chars escaped.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push_str("...");
    }
    out
}

pub(super) fn opt_string(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub(super) fn required_string(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, TaskError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(TaskError::invalid(field, "is missing")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(TaskError::invalid(field, "is empty")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(TaskError::invalid(
            field,
            format!("must be a string, got {}", json_type_name(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_as_booleans_are_case_insensitive() {
        for (v, want) in [
            (json!("Yes"), Some(true)),
            (json!("YES"), Some(true)),
            (json!("no"), Some(false)),
            (json!("true"), Some(true)),
            (json!("False"), Some(false)),
            (json!(true), Some(true)),
            (json!("maybe"), None),
            (json!(1), None),
        ] {
            assert_eq!(parse_bool_lenient(&v), want, "{v}");
        }
    }
}
