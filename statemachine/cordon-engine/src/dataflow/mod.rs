//! A state's input and output processing: what a state reads from its raw input, what it
//! hands on as its output, and the payload size limit in between.
//!
//! - `flow.rs`: `DataFlow`, the per-state pipeline (InputPath → Parameters → the state's
//!   work → ResultSelector → ResultPath → OutputPath), parsed with the definition and run by
//!   the interpreter; the 256 KiB payload limit.
//! - `jsonpath.rs`: the JSONPath query language's field forms (`OptPath`, `FixedOrPath`)
//!   and how they evaluate, over `paths` and `intrinsics`.
//! - `error.rs`: `FlowError`, how a step fails before it becomes a `States.*` error.
//!
//! The query language shapes only this module. JSONata (`QueryLanguage`, `Arguments`,
//! `Output`, `Assign`, `{% %}` expressions over `$states`) belongs beside `jsonpath.rs`, with
//! `DataFlow` choosing between the two; the interpreter only calls `DataFlow`.
mod error;
mod flow;
mod jsonpath;

pub(crate) use error::FlowError;
pub use flow::MAX_PAYLOAD_BYTES;
pub(crate) use flow::{DataFlow, payload_size, within_limit};
pub(crate) use jsonpath::{
    FixedOrPath, OptPath, apply_result_path, apply_template, eval_expression, resolve_optional,
    select_required,
};
