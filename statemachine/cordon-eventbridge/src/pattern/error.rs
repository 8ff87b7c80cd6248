//! Why EventBridge rejects a pattern: the error type `PutRule` validation reports.

use serde_json::Value;

/// Upper bound on the number of `$or` branches one pattern may expand to.
pub(super) const MAX_BRANCHES: usize = 1024;

/// A pattern that EventBridge would reject, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at `{}`: {kind}", display_path(.path))]
pub struct PatternError {
    /// Dotted path of the offending field (`detail.eventName`); empty for the root.
    pub path: String,
    /// What is wrong.
    pub kind: PatternErrorKind,
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

/// The reasons a pattern is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternErrorKind {
    #[error("an event pattern must be a JSON object")]
    NotAnObject,
    #[error("the pattern is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("empty objects are not allowed")]
    EmptyObject,
    #[error("empty arrays are not allowed; list at least one value to match")]
    EmptyArray,
    #[error("the value of a field must be an object or an array, e.g. [\"value\"], got {0}")]
    NotObjectOrArray(&'static str),
    #[error(
        "a match value must be a string, number, true, false, null or a match expression object, got {0}"
    )]
    InvalidMatchValue(&'static str),
    #[error("a match expression must have exactly one key, found {0}")]
    ExpressionKeyCount(usize),
    #[error(
        "unknown match operator \"{0}\"; expected one of prefix, suffix, equals-ignore-case, \
         wildcard, anything-but, numeric, exists, cidr"
    )]
    UnknownOperator(String),
    #[error("the value of \"{operator}\" must be {expected}")]
    OperandType {
        operator: String,
        expected: &'static str,
    },
    #[error(
        "unsupported anything-but pattern \"{0}\"; expected prefix, suffix, equals-ignore-case or wildcard"
    )]
    UnsupportedAnythingBut(String),
    #[error(
        "an anything-but list must contain only strings or only numbers, and at least one value"
    )]
    AnythingButMixedList,
    #[error("an empty {0} is not allowed inside anything-but")]
    EmptyAnythingButAffix(&'static str),
    #[error("invalid numeric expression: {0}")]
    Numeric(String),
    #[error("number {0} is out of range: numeric matching is limited to -5.0e9..=5.0e9")]
    NumberOutOfRange(String),
    #[error("invalid wildcard \"{pattern}\": {reason}")]
    Wildcard { pattern: String, reason: String },
    #[error(
        "invalid CIDR \"{0}\": expected an IPv4 or IPv6 network such as 10.0.0.0/24 or 2001:db8::/32"
    )]
    Cidr(String),
    #[error("\"$or\" must be an array of at least two non-empty objects: {0}")]
    Or(&'static str),
    #[error("\"{0}\" is a reserved keyword and cannot be used as a field name inside \"$or\"")]
    ReservedKeyInOr(String),
    #[error("the pattern expands to more than {MAX_BRANCHES} \"$or\" combinations")]
    TooComplex,
}

pub(super) fn err(path: &str, kind: PatternErrorKind) -> PatternError {
    PatternError {
        path: path.to_owned(),
        kind,
    }
}

pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
