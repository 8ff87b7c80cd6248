//! The JSONata query language: `{% expression %}` strings, parsed once when the definition is
//! parsed (through `jsonata_core`, a complete JSONata implementation) and evaluated with
//! `$states` and the workflow variables bound.
//!
//! - `mod.rs`: [`JsonataExpr`]: parsing, the checks AWS applies when a state machine is
//!   created, and evaluation; `states.rs`: [`States`], what it sees; `failure.rs`:
//!   [`JsonataFailure`], why it produced nothing, in AWS's words;
//! - `refs.rs`: which variables and which parts of `$states` an expression reads, so that
//!   an evaluation converts only those;
//! - `convert.rs`: JSON values to and from `jsonata_core`'s values, numbers as AWS prints them;
//! - `functions.rs`: the functions Step Functions adds (`$partition`, `$range`, `$hash`,
//!   `$random`, `$uuid`, `$parse`) and the one it removes (`$eval`).
use jsonata_core::ast::{AstNode, PathStep};
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;

mod convert;
mod failure;
mod functions;
mod refs;
mod states;

pub(crate) use failure::JsonataFailure;
use refs::References;
pub(crate) use states::States;

/// How long one expression may evaluate before it fails (AWS bounds evaluation too).
const TIMEOUT_MS: u64 = 5_000;
/// How deeply one evaluation may nest.
const MAX_STACK_DEPTH: usize = 1_000;

/// A parsed `{% ... %}` expression.
#[derive(Debug, Clone)]
pub(crate) struct JsonataExpr {
    /// The expression between `{%` and `%}`, trimmed: what AWS quotes in its causes.
    text: String,
    ast: AstNode,
    refs: References,
}

impl PartialEq for JsonataExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// The expression inside a `{% ... %}` string, if the string is one. AWS requires the
/// delimiters at the very start and end: `" {% x %}"` is a plain string.
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

impl JsonataExpr {
    /// Parses `text` (without the delimiters) and applies the checks AWS makes when a state
    /// machine is created: it must parse, must not read the (absent) context item at its top
    /// level, and may name `$states.errorOutput` only where a Catch provides it.
    pub(crate) fn parse(text: &str, error_output_available: bool) -> Result<JsonataExpr, String> {
        let ast = jsonata_core::parser::parse(text).map_err(|e| {
            format!(
                "INVALID_JSONATA_EXPRESSION: the JSONata expression '{text}' does not parse: {e}"
            )
        })?;
        check_top_level(&ast)?;
        let refs = References::scan(text);
        if refs.illegal_root {
            return Err(
                "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported.".into(),
            );
        }
        if refs.error_output && !error_output_available {
            return Err(
                "UNSUPPORTED_JSONATA_EXPRESSION: '$states.errorOutput' is only available in a Catch's 'Output' and 'Assign'"
                    .into(),
            );
        }
        Ok(JsonataExpr {
            text: text.to_owned(),
            ast,
            refs,
        })
    }

    /// The expression as AWS quotes it.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression. `Err` carries why it produced no JSON value.
    pub(crate) fn eval(&self, states: &States<'_>) -> Result<Value, JsonataFailure> {
        let mut ctx = Context::new();
        if self.refs.states_any() {
            ctx.bind("states".into(), self.refs.states_value(states));
        }
        for name in &self.refs.variables {
            if let Some(v) = states.variables.variable(name) {
                ctx.bind(name.clone(), convert::to_jvalue(v));
            }
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(TIMEOUT_MS),
            max_stack_depth: Some(MAX_STACK_DEPTH),
            ..EvaluatorOptions::default()
        };
        let mut ev = Evaluator::with_options(ctx, options);
        functions::install(&mut ev);
        let out = ev
            .evaluate(&self.ast, &JValue::Undefined)
            .map_err(|e| JsonataFailure::Threw(error_text(&e)))?;
        convert::from_jvalue(&out)
    }
}

/// `T1006: Attempted to invoke a non-function`: the JSONata error code and message, without
/// the evaluator's own category prefix.
fn error_text(e: &EvaluatorError) -> String {
    let text = e.to_string();
    let text = ["Type error: ", "Reference error: ", "Evaluation error: "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(&text);
    // JSONata's message names no function here (the reference implementation keeps the
    // name in the error's token, not its text), and neither does AWS.
    const NOT_A_FUNCTION: &str = "T1006: Attempted to invoke a non-function";
    if text.starts_with(NOT_A_FUNCTION) {
        return NOT_A_FUNCTION.to_owned();
    }
    text.to_owned()
}

/// AWS evaluates an expression with no context item: a path that starts with a field name
/// (`phone` rather than `$states.input.phone`) is refused when the state machine is created.
/// Only the first step of a path is judged; names in later steps, predicates and sort terms
/// read the values the path produced.
fn check_top_level(node: &AstNode) -> Result<(), String> {
    let refuse = |name: &str| {
        Err(format!(
            "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{name}' at the top level is not supported."
        ))
    };
    match node {
        AstNode::Name(n) => refuse(n),
        AstNode::Path { steps } => match steps.first() {
            Some(PathStep {
                node: AstNode::Name(n),
                ..
            }) => refuse(n),
            Some(first) => check_top_level(&first.node),
            None => Ok(()),
        },
        AstNode::Binary { lhs, rhs, .. } => {
            check_top_level(lhs)?;
            check_top_level(rhs)
        }
        AstNode::Unary { operand, .. } => check_top_level(operand),
        AstNode::Function { args, .. } | AstNode::Array(args) | AstNode::Block(args) => {
            args.iter().try_for_each(check_top_level)
        }
        AstNode::Call { procedure, args } => {
            check_top_level(procedure)?;
            args.iter().try_for_each(check_top_level)
        }
        AstNode::Lambda { body, .. } => check_top_level(body),
        AstNode::Object(pairs) => pairs.iter().try_for_each(|(k, v)| {
            check_top_level(k)?;
            check_top_level(v)
        }),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            check_top_level(condition)?;
            check_top_level(then_branch)?;
            else_branch.as_deref().map_or(Ok(()), check_top_level)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
