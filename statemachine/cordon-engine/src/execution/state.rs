//! The persisted form of an execution: everything it is, as plain serde data, so the service
//! layer can store a parked execution and resume it later.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dataflow::{ScopeId, Variables};
use crate::history::HistoryEvent;

/// `DescribeExecution`'s `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
        }
    }
}

/// The identity of an execution, as the context object (`$$`) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionIdentity {
    pub execution_arn: String,
    pub name: String,
    pub role_arn: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub region: String,
}

pub type FrameId = u64;

/// What a frame is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    /// About to enter its state.
    Enter,
    /// (Re)start the work of a Task/Parallel/Map state that was already entered.
    Attempt,
    /// A Wait state waiting until `until`, with the output and the variable assignments it
    /// leaves with.
    Waiting {
        until: DateTime<Utc>,
        output: Value,
        #[serde(default)]
        assigned: Vec<(String, Value)>,
    },
    /// Retry backoff before the next attempt.
    Backoff { until: DateTime<Utc> },
    /// A Task dispatched (and, for `.waitForTaskToken`, waiting for its callback).
    Task(TaskPhase),
    /// A Parallel or Map state waiting for its branches or iterations.
    Children(ChildrenPhase),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPhase {
    pub seq: u64,
    pub token: Option<String>,
    /// The dispatcher call returned (for callback tasks: TaskSubmitted was recorded).
    pub submitted: bool,
    pub timeout_at: Option<DateTime<Utc>>,
    pub heartbeat_seconds: Option<u64>,
    pub heartbeat_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildrenPhase {
    pub is_map: bool,
    pub inputs: Vec<Value>,
    pub results: Vec<Option<Value>>,
    pub pending: VecDeque<usize>,
    pub running: BTreeSet<usize>,
    pub failures: usize,
    pub max_concurrency: usize,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    /// Where each failed branch or iteration stopped, for a redrive.
    #[serde(default)]
    pub stopped: BTreeMap<usize, RedrivePoint>,
}

/// One program counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub id: FrameId,
    /// Index of the (sub-)machine in the definition: 0 is the top level.
    pub machine: usize,
    /// The Parallel/Map frame and the branch or item index this frame runs for.
    pub parent: Option<(FrameId, usize)>,
    pub state: String,
    /// The raw input of the current state. Shared: a state reads it several times (entering,
    /// each attempt, the result, a Catch), and each read is a pointer copy.
    pub input: Arc<Value>,
    pub phase: Phase,
    pub entered_event_id: u64,
    pub entered_time: DateTime<Utc>,
    pub retry_counts: Vec<u32>,
    pub retry_total: u32,
    pub last_event_id: u64,
    /// The scope of workflow variables this frame's states read and assign.
    #[serde(default)]
    pub scope: ScopeId,
    /// A Parallel or Map state that failed: where its branches or iterations were, kept for
    /// a redrive.
    #[serde(default)]
    pub failed_children: Option<Box<ChildrenRedrive>>,
    /// A frame redriven at a Parallel or Map state: the children to keep and to resume.
    #[serde(default)]
    pub resume: Option<Box<ChildrenRedrive>>,
}

/// Where a redrive restarts: the state that failed, with its input, and for a Parallel or
/// Map state, which of its branches or iterations to run again and from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedrivePoint {
    pub state: String,
    pub input: Value,
    #[serde(default)]
    pub children: Option<Box<ChildrenRedrive>>,
}

/// A failed Parallel or Map state's children, as a redrive finds them (AWS Step Functions
/// developer guide, "Redriving executions": a redriven Parallel or Map state runs only its
/// unsuccessful branches or iterations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildrenRedrive {
    /// The phase when the state failed: inputs and the results of the children that
    /// succeeded.
    pub phase: ChildrenPhase,
    /// Where each child that failed or was aborted stopped. A child with neither a result
    /// nor a point here never started, and starts from the beginning.
    pub resume: BTreeMap<usize, RedrivePoint>,
}

/// Everything about an execution, serialisable so it can be persisted and resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    /// The definition text, shared with the parsed [`Definition`](crate::Definition) and
    /// every other execution of it.
    pub definition: Arc<str>,
    pub identity: ExecutionIdentity,
    /// The execution input. Shared: the first state starts from this very value, so starting
    /// an execution does not copy it.
    pub input: Arc<Value>,
    pub start_time: DateTime<Utc>,
    pub stop_time: Option<DateTime<Utc>>,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: u32,
    pub history: Vec<HistoryEvent>,
    pub frames: BTreeMap<FrameId, Frame>,
    pub runnable: VecDeque<FrameId>,
    pub next_frame_id: FrameId,
    pub next_seq: u64,
    pub deadline: Option<DateTime<Utc>>,
    pub expired_tokens: BTreeSet<String>,
    pub redrive_point: Option<RedrivePoint>,
    /// The workflow variables, by scope.
    #[serde(default)]
    pub variables: Variables,
    /// An execution of an `EXPRESS` state machine.
    #[serde(default)]
    pub express: bool,
}
