//! A state's input and output processing, in either query language: what a state reads from
//! its raw input, what it hands on as its output, what it assigns to variables, and the
//! payload size limit in between.
//!
//! The query language is one abstraction the interpreter calls through: `DataFlow` (JSONPath
//! or JSONata) for a state's input and output, `Template` for every field that holds a payload
//! or an expression, `Assign` for variables, and `Env` for what they read. The interpreter never
//! looks inside them.
//!
//! - `query.rs`: `QueryLanguage`.
//! - `env.rs`: `Env`, what a state's expressions read (input, context object, variables,
//!   result, error output).
//! - `flow.rs`: `DataFlow`, the per-state pipeline; the 256 KiB limit.
//! - `template.rs`: `Template` and `Expr`: payload templates and single expressions,
//!   compiled with the definition.
//! - `jsonpath.rs`: the JSONPath field forms (`OptPath`, `FixedOrPath`) over `paths`.
//! - `jsonata/`: JSONata expressions over `jsonata_core`, with the functions AWS adds.
//! - `assign.rs`: `Assign`; `variables.rs`: `Variables`, the scoped store they write.
//! - `error.rs`: `FlowError`, how a step fails before it becomes a `States.*` error.
mod assign;
mod env;
mod error;
mod flow;
mod jsonata;
mod jsonpath;
mod query;
mod template;
mod variables;

pub(crate) use assign::{Assign, check_stored};
pub use assign::{MAX_STORED_VARIABLE_BYTES, MAX_VARIABLE_BYTES};
pub(crate) use env::Env;
pub(crate) use error::FlowError;
pub use flow::MAX_PAYLOAD_BYTES;
pub(crate) use flow::{
    DataFlow, JsonPathFlow, JsonataFlow, payload_size, placeholder_input, within_limit,
};
pub(crate) use jsonata::{JsonataExpr, expression_text};
pub(crate) use jsonpath::{
    FixedOrPath, NumberRule, OptPath, apply_result_path, resolve_optional, select_required,
};
pub use query::QueryLanguage;
pub(crate) use template::{Expr, JsonataScope, Template};
pub use variables::{ROOT_SCOPE, ScopeId, VariableScope, Variables};
