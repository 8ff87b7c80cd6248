//! What a parsed definition holds: machines of states, each state's type-specific fields, its
//! data flow and its error handling. Plain data; `parser.rs` builds it, the interpreter reads
//! it.
use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::dataflow::{DataFlow, FixedOrPath, OptPath};
use crate::resource::Resource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: OptPath,
}

/// `Retry` and `Catch`, which Task, Parallel and Map share.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ErrorHandling {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// A string that is a literal, a path or an intrinsic call (Fail's Error/Cause).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(String),
    Path(String),
    Intrinsic(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitSpec {
    Seconds(u64),
    SecondsPath(String),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskSpec {
    pub resource: Resource,
    pub timeout: Option<FixedOrPath<u64>>,
    pub heartbeat: Option<FixedOrPath<u64>>,
    pub errors: ErrorHandling,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapSpec {
    pub processor: usize,
    pub items_path: OptPath,
    pub item_selector: Option<Value>,
    pub max_concurrency: FixedOrPath<u64>,
    pub tolerated_percentage: Option<FixedOrPath<f64>>,
    pub tolerated_count: Option<FixedOrPath<f64>>,
    pub max_items_per_batch: Option<u64>,
    pub batch_input: Option<Value>,
    pub has_item_reader: bool,
    pub errors: ErrorHandling,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Box<TaskSpec>),
    Choice {
        choices: Vec<(ChoiceRule, String)>,
        default: Option<String>,
    },
    Wait(WaitSpec),
    Succeed,
    Fail {
        error: Option<Expr>,
        cause: Option<Expr>,
    },
    Parallel {
        branches: Vec<usize>,
        errors: ErrorHandling,
    },
    Map(Box<MapSpec>),
}

impl Kind {
    /// Retry and Catch of the states that have them (Task, Parallel, Map).
    pub(crate) fn error_handling(&self) -> Option<&ErrorHandling> {
        match self {
            Kind::Task(t) => Some(&t.errors),
            Kind::Parallel { errors, .. } => Some(errors),
            Kind::Map(m) => Some(&m.errors),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub name: String,
    pub kind: Kind,
    pub flow: DataFlow,
    /// `None` with `end == true` for terminal states; Choice/Succeed/Fail have neither.
    pub next: Option<String>,
    pub end: bool,
}

/// A state machine or a branch (Parallel branch, Map ItemProcessor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: Vec<State>,
    pub(super) index: HashMap<String, usize>,
}

impl Machine {
    pub(crate) fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).map(|&i| &self.states[i])
    }

    /// The position of state `name` in [`Machine::states`].
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}
