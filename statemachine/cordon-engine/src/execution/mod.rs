//! The interpreter. An execution is a set of *frames* (program counters): the top-level
//! state machine has one, and each running Parallel branch or Map iteration has its own.
//! All of it lives in [`ExecutionState`], which is plain serde data, so the service layer can
//! persist an execution that is parked (waiting for a timer or a task-token callback) and
//! resume it later with [`Execution::resume`].
//!
//! The only things outside that state are the dispatcher futures in flight; on resume, a task
//! whose dispatch was in flight is dispatched again (tasks are required to be idempotent).
//!
//! One [`Execution`] type, its `impl` spread over one file per concern:
//!
//! | file | concern |
//! | --- | --- |
//! | `lifecycle.rs` | start, resume, stop, redrive, finishing the execution |
//! | `redrive.rs` | where a failed execution stopped, and a redriven Parallel/Map resuming only what did not succeed |
//! | `driver.rs` | `run_until_parked`/`run_until_finished`: the loop that steps frames, awaits dispatches and takes commands |
//! | `callbacks.rs` | applying [`Callback`]s: SendTaskSuccess/Failure/Heartbeat by token |
//! | `frames.rs` | frames: spawning, moving to the next state, reporting to the parent |
//! | `states.rs` | entering a state; Pass, Choice, Wait, Succeed, Fail; leaving with a result |
//! | `task.rs` | Task attempts: dispatch, results, Task history events |
//! | `branches.rs` | Parallel and Map: branches, iterations, tolerated failures |
//! | `retry_catch.rs` | what a failed Task/Parallel/Map does next: Retry, Catch or fail |
//! | `timers.rs` | Wait, backoff, task timeouts and heartbeats, the execution deadline |
//! | `context.rs` | the context object `$$`, built in this one place |
//! | `events.rs` | recording history events and the history limit |
//!
//! The types callers see live in files that import neither this file nor the `impl` files
//! (so no import runs in a circle): `state.rs` (the persisted [`ExecutionState`]),
//! `options.rs` ([`StartOptions`], [`StartError`]), `handle.rs` ([`Callback`], [`Command`],
//! [`ExecutionHandle`]) and `describe.rs` ([`ExecutionDescription`]).
//!
//! Not here: a state's input and output processing is [`crate::dataflow`]; what a Task's
//! resource ARN means is [`crate::resource`]; the shapes of history events are
//! [`crate::history`].
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::clock::{Clock, Randomness};
use crate::dataflow::{FlowError, ScopeId, check_stored};
use crate::definition::{Definition, State};
use crate::dispatch::{TaskDispatcher, TaskFailure};
use crate::error::{self, StatesError};
use crate::history::{EvaluationFailedEventDetails, EventDetails, EventType, HistoryEvent};
use crate::json_text::compact;

mod branches;
mod callbacks;
mod context;
mod describe;
mod driver;
mod events;
mod frames;
mod handle;
mod lifecycle;
mod options;
mod redrive;
mod retry_catch;
mod state;
mod states;
mod step_time;
mod task;
mod timers;

pub use describe::ExecutionDescription;
pub use handle::{Callback, CallbackError, Command, ExecutionHandle, Reply};
pub use options::{StartError, StartOptions};
pub use state::{
    ChildrenPhase, ChildrenRedrive, ExecutionIdentity, ExecutionState, ExecutionStatus, Frame,
    FrameId, Phase, RedrivePoint, TaskPhase,
};
use step_time::StepTime;

/// The collaborators an execution runs with; none of them is part of its persisted state.
#[derive(Clone)]
pub struct Runtime {
    pub dispatcher: Arc<dyn TaskDispatcher>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<Randomness>,
}

impl Runtime {
    pub fn new(dispatcher: Arc<dyn TaskDispatcher>, clock: Arc<dyn Clock>) -> Self {
        Self {
            dispatcher,
            clock,
            rng: Arc::new(Randomness::new()),
        }
    }

    pub fn with_rng(mut self, rng: Arc<Randomness>) -> Self {
        self.rng = rng;
        self
    }
}

/// The result of driving an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The execution reached a terminal status.
    Finished(ExecutionStatus),
    /// Nothing can happen until time passes (`next_wakeup`) or a callback arrives.
    Parked {
        next_wakeup: Option<chrono::DateTime<chrono::Utc>>,
        awaiting_callbacks: usize,
    },
}

/// A dispatch that returned, for the frame and attempt (`seq`) that started it.
struct Completion {
    frame: FrameId,
    seq: u64,
    result: Result<Value, TaskFailure>,
}

/// A running (or finished) execution of a definition.
pub struct Execution {
    def: Arc<Definition>,
    st: ExecutionState,
    inflight: JoinSet<Completion>,
    inflight_ids: HashMap<tokio::task::Id, (FrameId, u64)>,
    /// Dispatches that answered at once, in the order they were made, not yet taken up
    /// (see `task.rs` `start_dispatch`).
    ready: VecDeque<Completion>,
    tx: Arc<mpsc::UnboundedSender<Command>>,
    rx: mpsc::UnboundedReceiver<Command>,
    /// The JSON text of the output a frame last left a state with (see
    /// `events.rs` `push_exited`); not persisted, only a saving.
    carried_text: Option<(FrameId, String)>,
    /// How many events the history had when the execution was resumed from persisted state:
    /// the texts of those were not written by this process (see `events.rs`
    /// `entered_text_ref`).
    resumed_events: u64,
    /// The context object of a frame's state entry and attempt
    /// (frame, entered event id, retries so far), shared by its reads (see `context.rs`).
    context_cache: Option<((FrameId, u64, u32), Arc<Value>)>,
    /// An earlier context object with `$$.Execution.Input`, no longer held by anything else,
    /// for the next one to take its execution half from (see `context.rs`).
    context_spare: Option<serde_json::Map<String, Value>>,
    /// The time of the stretch of synchronous work the driver is in (`step_time.rs`).
    step_time: StepTime,
}

/// The state a frame is in, with the definition held apart from the execution, so that a
/// handler can read the state while it changes the execution.
struct Current {
    def: Arc<Definition>,
    machine: usize,
    index: usize,
}

impl Current {
    fn state(&self) -> &State {
        &self.def.machines[self.machine].states[self.index]
    }
}

impl Execution {
    pub fn state(&self) -> &ExecutionState {
        &self.st
    }

    pub fn definition(&self) -> &Definition {
        &self.def
    }

    pub fn status(&self) -> ExecutionStatus {
        self.st.status
    }

    pub fn history(&self) -> &[HistoryEvent] {
        &self.st.history
    }

    pub fn handle(&self) -> ExecutionHandle {
        ExecutionHandle::new(self.tx.clone())
    }

    /// The task tokens currently awaiting a callback.
    pub fn pending_task_tokens(&self) -> Vec<String> {
        self.st
            .frames
            .values()
            .filter_map(|f| match &f.phase {
                Phase::Task(t) => t.token.clone(),
                _ => None,
            })
            .collect()
    }

    pub fn describe(&self) -> ExecutionDescription {
        let st = &self.st;
        ExecutionDescription {
            execution_arn: st.identity.execution_arn.clone(),
            state_machine_arn: st.identity.state_machine_arn.clone(),
            name: st.identity.name.clone(),
            status: st.status,
            start_date: st.start_time,
            stop_date: st.stop_time,
            input: Value::clone(&st.input),
            output: st.output.clone(),
            error: st.error.clone(),
            cause: st.cause.clone(),
            redrive_count: st.redrive_count,
        }
    }

    fn running(&self) -> bool {
        self.st.status == ExecutionStatus::Running
    }

    fn frame(&self, fid: FrameId) -> Option<&Frame> {
        self.st.frames.get(&fid)
    }

    /// The raw input of the frame's current state (shared, not copied).
    fn frame_input(&self, fid: FrameId) -> Arc<Value> {
        self.frame(fid).map(|f| f.input.clone()).unwrap_or_default()
    }

    /// The state the frame is in (`None` for a gone frame or an unknown state).
    fn current(&self, fid: FrameId) -> Option<Current> {
        let f = self.frame(fid)?;
        let index = self.def.machines[f.machine].position(&f.state)?;
        Some(Current {
            def: self.def.clone(),
            machine: f.machine,
            index,
        })
    }

    /// A data-flow failure of the frame's state as the `States.*` error AWS reports, naming
    /// the state and the event that entered it. A failed JSONata expression is recorded as an
    /// `EvaluationFailed` event first, as AWS does.
    fn flow_error(&mut self, fid: FrameId, state: &str, e: FlowError, rt: &Runtime) -> StatesError {
        let entered = self.frame(fid).map_or(0, |f| f.entered_event_id);
        let err = e.into_states_error(state, entered);
        if err.error == error::QUERY_EVALUATION_ERROR {
            let d = EventDetails {
                evaluation_failed_event_details: Some(Box::new(EvaluationFailedEventDetails {
                    error: err.error.clone(),
                    cause: err.cause.clone().unwrap_or_default(),
                    state: state.to_owned(),
                })),
                ..EventDetails::default()
            };
            self.push(rt, fid, EventType::EvaluationFailed, d);
        }
        err
    }

    /// The variable scope of the frame.
    fn scope_of(&self, fid: FrameId) -> ScopeId {
        self.frame(fid)
            .map_or(crate::dataflow::ROOT_SCOPE, |f| f.scope)
    }

    /// Stores variables the frame's state assigned, all together, and returns them as the
    /// `assignedVariables` of its exit event (each value as JSON text).
    fn commit_assignments(
        &mut self,
        fid: FrameId,
        values: Option<Vec<(String, Value)>>,
    ) -> Result<Option<serde_json::Map<String, Value>>, FlowError> {
        let Some(values) = values else {
            return Ok(None);
        };
        let assigned = values
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(compact(v))))
            .collect();
        let scope = self.scope_of(fid);
        self.st.variables.assign(scope, values).map_err(|w| {
            FlowError::Runtime(format!(
                "The variable '{}' belongs to an outer scope and cannot be assigned in this scope.",
                w.name
            ))
        })?;
        check_stored(self.st.variables.stored_bytes())?;
        Ok(Some(assigned))
    }
}

/// AWS omits an empty `error`/`cause`.
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|x| !x.is_empty())
}
