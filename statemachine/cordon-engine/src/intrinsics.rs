//! The `States.*` intrinsic functions.
//! OWNED BY: the paths/intrinsics helper. Signatures are the contract with the interpreter.
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntrinsicError {
    /// The expression does not parse, names an unknown function, or has the wrong arity
    /// (a definition-time error).
    #[error("{0}")]
    Invalid(String),
    /// Evaluation failed at run time; AWS reports `States.IntrinsicFailure` (or
    /// `States.Runtime` for unresolvable paths) with this cause.
    #[error("{cause}")]
    Failed { error: String, cause: String },
}

/// True when a string value of a `.$` field is an intrinsic call rather than a path.
pub fn is_intrinsic(expr: &str) -> bool {
    expr.trim_start().starts_with("States.")
}

/// Checks an intrinsic expression at definition time.
pub fn validate(expr: &str) -> Result<(), IntrinsicError> {
    let _ = expr;
    todo!("intrinsics helper")
}

/// Evaluates an intrinsic expression. Path arguments resolve against `input`, or `context` for `$$`.
pub fn evaluate(expr: &str, input: &Value, context: &Value) -> Result<Value, IntrinsicError> {
    let _ = (expr, input, context);
    todo!("intrinsics helper")
}
