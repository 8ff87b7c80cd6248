//! What a parsed definition holds: machines of states, each state's type-specific fields, its
//! data flow and its error handling. Plain data; `parser.rs` builds it, the interpreter reads
//! it.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::choice::ChoiceRule;
use crate::dataflow::{Assign, DataFlow, FixedOrPath, JsonataExpr, OptPath, Template};
use crate::paths::Path;
use crate::resource::Resource;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

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
    /// JSONPath: where the `{Error, Cause}` goes in the state input.
    pub result_path: OptPath,
    /// JSONata: the state's output when this catcher handles an error (by default the
    /// `{Error, Cause}` itself).
    pub output: Option<Template>,
    pub assign: Option<Assign>,
}

/// `Retry` and `Catch`, which Task, Parallel and Map share.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ErrorHandling {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitSpec {
    /// `Seconds` (a number, `SecondsPath`, or a JSONata expression).
    Seconds(FixedOrPath<u64>),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(Path),
    /// A JSONata `Timestamp` expression.
    TimestampExpr(JsonataExpr),
}

/// Where a Map state's items come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Items {
    /// JSONPath `ItemsPath` into the effective input (absent: `$`).
    Path(OptPath),
    /// JSONata `Items`: a JSON array or an expression (absent: the input).
    Jsonata(Option<Template>),
}

/// One rule of a Choice state, with where it leads and what it assigns and outputs when it
/// matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChoiceBranch {
    pub condition: Condition,
    pub next: String,
    pub assign: Option<Assign>,
    /// JSONata only: the state's output when this rule matches.
    pub output: Option<Template>,
}

/// A Choice rule's test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// JSONPath: comparisons over `Variable`, And/Or/Not.
    Rule(ChoiceRule),
    /// JSONata: `Condition`, a boolean or an expression.
    Jsonata(Template),
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
    pub items: Items,
    pub item_selector: Option<Template>,
    pub max_concurrency: FixedOrPath<u64>,
    pub tolerated_percentage: Option<FixedOrPath<f64>>,
    pub tolerated_count: Option<FixedOrPath<f64>>,
    pub max_items_per_batch: Option<u64>,
    pub batch_input: Option<Template>,
    pub has_item_reader: bool,
    /// `ProcessorConfig.Mode` is `DISTRIBUTED`: iterations see no outer variables.
    pub distributed: bool,
    pub errors: ErrorHandling,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Box<TaskSpec>),
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<String>,
    },
    Wait(WaitSpec),
    Succeed,
    Fail {
        error: Option<Template>,
        cause: Option<Template>,
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
    /// `Assign`. (A Choice state's own `Assign` applies when it follows its `Default`.)
    pub assign: Option<Assign>,
    /// `None` with `end == true` for terminal states; Choice/Succeed/Fail have neither.
    pub next: Option<String>,
    pub end: bool,
    /// Whether any field of the state could read the context object (`$$` in JSONPath,
    /// `$states` in JSONata): the interpreter builds `$$` only for the states that do.
    pub reads_context: bool,
    /// Whether a field of the state could read `$$.Execution.Input` (the whole of `$$` or of
    /// `$$.Execution`, a wildcard, `$states`): only then does a state other than a Task (whose
    /// dispatch is handed the whole `$$`) have the execution input copied into its `$$`.
    pub reads_execution_input: bool,
}

/// A state machine or a branch (Parallel branch, Map ItemProcessor).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: Vec<State>,
    pub(super) index: StateIndex,
}

/// State names to positions, looked up several times per transition: hashed with FNV-1a
/// rather than SipHash, which costs more than the rest of the lookup for names this short
/// (the names come from the definition, and a machine holds a bounded number of them).
pub(super) type StateIndex = HashMap<String, usize, BuildHasherDefault<NameHasher>>;

/// FNV-1a, 64 bits.
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
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
