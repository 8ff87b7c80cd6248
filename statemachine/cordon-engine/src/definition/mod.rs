//! Parsing and validation of Amazon States Language definitions, in both query languages
//! (JSONPath and JSONata, per state machine and per state).
//!
//! Each state is read field by field (every field through serde, into strongly typed
//! structs), so that an invalid definition is rejected with a message that names the state
//! and the field, such as `State 'Quarantine': field 'Retry[0].BackoffRate' must be >= 1.0`.
//! All problems are collected, not just the first.
//!
//! - `model.rs`: what a parsed definition holds (machines, states, their fields).
//! - `parser.rs`: machines, the fields every state has, and whole-machine checks;
//!   `states.rs`: the fields of each state type; `retry_catch.rs`: Retry and Catch;
//!   `choice_rules.rs`: Choice rules; `reader.rs`: the field reader they all use.
//! - `diagnostics.rs`: the problems reported.
//!
//! A state's input/output fields (InputPath, Parameters, ResultSelector, ResultPath,
//! OutputPath; or Arguments and Output) are read into one `DataFlow` (in `crate::dataflow`)
//! per state, and every field that holds a path, an intrinsic or a JSONata expression is
//! compiled once here.
use std::sync::Arc;

use serde_json::Value;

use crate::dataflow::QueryLanguage;

mod choice_rules;
mod diagnostics;
mod model;
mod parser;
mod reader;
mod retry_catch;
mod states;

pub use diagnostics::{Diagnostic, ValidationError};
pub(crate) use model::{
    Catcher, ChoiceBranch, Condition, Items, Jitter, Kind, Machine, MapSpec, Retrier, State,
    TaskSpec, WaitSpec,
};
use parser::Parser;
use reader::Obj;

/// A parsed, validated state machine definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comment: Option<String>,
    pub version: Option<String>,
    /// Execution-level `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// The top-level `QueryLanguage` (states inherit it unless they set their own).
    pub query_language: QueryLanguage,
    /// Machine 0 is the top level; Parallel branches and Map processors follow.
    pub(crate) machines: Vec<Machine>,
    source: Arc<str>,
}

impl Definition {
    /// Parses and validates a definition.
    pub fn parse(json: &str) -> Result<Definition, ValidationError> {
        let value: Value = serde_json::from_str(json).map_err(|e| ValidationError {
            diagnostics: vec![Diagnostic {
                state: None,
                field: None,
                message: format!("definition is not valid JSON: {e}"),
            }],
        })?;
        let mut p = Parser::default();
        let top = match value.as_object() {
            Some(o) => o,
            None => {
                p.diag(None, None, "the definition must be a JSON object");
                return Err(p.finish_err());
            }
        };
        let mut o = Obj::new(
            top,
            None,
            "",
            &[
                "Comment",
                "StartAt",
                "States",
                "Version",
                "TimeoutSeconds",
                "QueryLanguage",
            ],
            QueryLanguage::JsonPath,
        );
        let comment = o.get::<String>("Comment");
        let version = o.get::<String>("Version");
        if let Some(v) = &version
            && v != "1.0"
        {
            o.err("Version", "must be \"1.0\"");
        }
        let timeout_seconds = o.positive_int("TimeoutSeconds");
        let query_language = o.query_language().unwrap_or_default();
        p.diags.append(&mut o.errs);
        p.top_language = query_language;
        p.machine(top, None, "");
        if p.diags.is_empty() {
            Ok(Definition {
                comment,
                version,
                timeout_seconds,
                query_language,
                machines: p.machines,
                source: Arc::from(json),
            })
        } else {
            Err(p.finish_err())
        }
    }

    /// The definition text this was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The definition text, shared: every execution of this definition holds it without
    /// copying it.
    pub fn shared_source(&self) -> Arc<str> {
        self.source.clone()
    }

    pub(crate) fn root(&self) -> &Machine {
        &self.machines[0]
    }

    /// The names of the top-level states, in definition order.
    pub fn state_names(&self) -> Vec<&str> {
        self.root().states.iter().map(|s| s.name.as_str()).collect()
    }

    /// Every Task `Resource` in the definition, including in branches.
    pub fn task_resources(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for m in &self.machines {
            for s in &m.states {
                if let Kind::Task(t) = &s.kind {
                    out.push((s.name.as_str(), t.resource.as_str()));
                }
            }
        }
        out
    }
}
