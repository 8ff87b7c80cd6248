//! The `States.*` intrinsic functions: `lexer` parses an expression into a [`Call`] tree,
//! `functions` runs each function on resolved values, `error` says how they fail.
//!
//! [`Intrinsic::parse`] tokenizes and parses an expression such as
//! `States.Format('{} = {}', $.name, States.MathAdd($.n, 1))` into a tree, checking function
//! names, arity and path syntax (definition-time errors are [`IntrinsicError::Invalid`]).
//! [`Intrinsic::evaluate`] resolves path arguments and runs the functions; run-time failures
//! are [`IntrinsicError::Failed`] with AWS's error name and the cause text *without* the
//! `An error occurred while executing the state '…' (entered at the event id #N). ` prefix,
//! which only the interpreter knows.
use serde_json::Value;

use crate::json_text::jackson;
use crate::paths::{Root, Roots};

mod error;
mod functions;
mod lexer;

pub use error::{ERROR_INTRINSIC_FAILURE, ERROR_RUNTIME, IntrinsicError};
pub(crate) use functions::digest;
pub use functions::{Function, JavaRandom};
pub use lexer::{Arg, Call};

/// True when a string value of a `.$` field is an intrinsic call rather than a path.
pub fn is_intrinsic(expr: &str) -> bool {
    expr.trim_start().starts_with("States.")
}

/// Checks an intrinsic expression at definition time.
pub fn validate(expr: &str) -> Result<(), IntrinsicError> {
    Intrinsic::parse(expr).map(|_| ())
}

/// Evaluates an intrinsic expression. Path arguments resolve from `roots` (`$` the document,
/// `$$` the context object, `$name` a variable).
pub fn evaluate(expr: &str, roots: &Roots<'_>) -> Result<Value, IntrinsicError> {
    Intrinsic::parse(expr)?.evaluate(roots)
}

/// A parsed intrinsic expression, ready to evaluate many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    text: String,
    call: Call,
}

impl Intrinsic {
    /// Parses and checks an intrinsic expression (function names, arity, path syntax).
    pub fn parse(expr: &str) -> Result<Intrinsic, IntrinsicError> {
        let call = lexer::parse(expr)?;
        Ok(Intrinsic {
            text: expr.to_owned(),
            call,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn call(&self) -> &Call {
        &self.call
    }

    /// Evaluates the expression; path arguments resolve from `roots`.
    pub fn evaluate(&self, roots: &Roots<'_>) -> Result<Value, IntrinsicError> {
        eval_call(&self.call, roots)
    }
}

fn eval_arg(arg: &Arg, roots: &Roots<'_>) -> Result<Value, IntrinsicError> {
    match arg {
        Arg::Str { value, .. } => Ok(Value::String(value.clone())),
        Arg::Number(n) => Ok(Value::Number(n.clone())),
        Arg::Bool(b) => Ok(Value::Bool(*b)),
        Arg::Null => Ok(Value::Null),
        Arg::Path(path) => path.select(roots).ok_or_else(|| {
            let doc = match path.root() {
                Root::Context => roots.context,
                _ => roots.document,
            };
            IntrinsicError::Failed {
                error: ERROR_RUNTIME.to_owned(),
                cause: format!(
                    "The JsonPath argument for the field '{}' could not be found in the input '{}'",
                    path.as_str(),
                    jackson(doc)
                ),
            }
        }),
        Arg::Call(call) => eval_call(call, roots),
    }
}

fn eval_call(call: &Call, roots: &Roots<'_>) -> Result<Value, IntrinsicError> {
    let mut values = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        values.push(eval_arg(arg, roots)?);
    }
    // States.Format needs to know whether its template was a literal (escapes apply).
    let raw_template = match (call.function, call.args.first()) {
        (Function::Format, Some(Arg::Str { raw, .. })) => Some(raw.as_str()),
        _ => None,
    };
    functions::apply(call.function, values, raw_template)
}

#[cfg(test)]
mod tests;
