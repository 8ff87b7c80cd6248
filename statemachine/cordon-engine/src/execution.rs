//! The interpreter. An execution is a set of *frames* (program counters): the top-level
//! state machine has one, and each running Parallel branch or Map iteration has its own.
//! All of it lives in [`ExecutionState`], which is plain serde data, so the service layer can
//! persist an execution that is parked (waiting for a timer or a task-token callback) and
//! resume it later with [`Execution::resume`].
//!
//! The only things outside that state are the dispatcher futures in flight; on resume, a task
//! whose dispatch was in flight is dispatched again (tasks are required to be idempotent).
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::clock::{Clock, Randomness};
use crate::definition::{
    Definition, Execution as ExecSpec, Expr, Jitter, Kind, OptPath, Seconds, State, Tolerance,
    ValidationError, WaitSpec,
};
use crate::dispatch::{IntegrationPattern, TaskDispatcher, TaskFailure, TaskRequest};
use crate::error::{self, StatesError, error_matches};
use crate::history::{
    DataDetails, ErrorEventDetails, EventDetails, EventType, ExecutionRedrivenEventDetails,
    ExecutionStartedEventDetails, HistoryEvent, LambdaFunctionScheduledEventDetails,
    MAX_HISTORY_EVENTS, MapStateStartedEventDetails, OutputEventDetails, TaskErrorEventDetails,
    TaskOutputEventDetails, TaskScheduledEventDetails, TaskStartedEventDetails,
};
use crate::payload::{
    self, FlowError, MAX_PAYLOAD_BYTES, apply_path, apply_result_path, apply_template, compact,
    payload_size,
};

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

/// Options for starting an execution. Everything defaults to a local identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartOptions {
    pub name: Option<String>,
    pub execution_arn: Option<String>,
    pub state_machine_name: Option<String>,
    pub state_machine_arn: Option<String>,
    pub role_arn: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
}

impl StartOptions {
    /// Reads context-object overrides in the shape of `$$`:
    /// `{"Execution": {"Id", "Name", "RoleArn", "StartTime"}, "StateMachine": {"Id", "Name"}}`.
    pub fn from_context(v: &Value) -> Result<Self, String> {
        let obj = v
            .as_object()
            .ok_or("the context overrides must be a JSON object")?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Execution" | "StateMachine") {
                return Err(format!(
                    "unsupported context field '{k}' (expected Execution or StateMachine)"
                ));
            }
        }
        let text = |section: &str, key: &str| -> Result<Option<String>, String> {
            match v.get(section).and_then(|s| s.get(key)) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("context field '{section}.{key}' must be a string")),
            }
        };
        let start_time = match text("Execution", "StartTime")? {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| format!("context field 'Execution.StartTime': {e}"))?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Self {
            name: text("Execution", "Name")?,
            execution_arn: text("Execution", "Id")?,
            role_arn: text("Execution", "RoleArn")?,
            state_machine_arn: text("StateMachine", "Id")?,
            state_machine_name: text("StateMachine", "Name")?,
            start_time,
            ..Self::default()
        })
    }
}

pub type FrameId = u64;

/// What a frame is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    /// About to enter its state.
    Enter,
    /// (Re)start the work of a Task/Parallel/Map state that was already entered.
    Attempt,
    /// A Wait state waiting until `until`.
    Waiting { until: DateTime<Utc>, output: Value },
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
    /// The raw input of the current state.
    pub input: Value,
    pub phase: Phase,
    pub entered_event_id: u64,
    pub entered_time: DateTime<Utc>,
    pub retry_counts: Vec<u32>,
    pub retry_total: u32,
    pub last_event_id: u64,
}

/// Where a redrive restarts: the top-level state that failed, with its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedrivePoint {
    pub state: String,
    pub input: Value,
}

/// Everything about an execution, serialisable so it can be persisted and resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    pub definition: String,
    pub identity: ExecutionIdentity,
    pub input: Value,
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
}

/// The result of driving an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The execution reached a terminal status.
    Finished(ExecutionStatus),
    /// Nothing can happen until time passes (`next_wakeup`) or a callback arrives.
    Parked {
        next_wakeup: Option<DateTime<Utc>>,
        awaiting_callbacks: usize,
    },
}

/// Why a task-token callback or a stop was refused, with AWS's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("TaskDoesNotExist: no running task has this token")]
    TaskDoesNotExist,
    #[error("InvalidToken: the task token is malformed")]
    InvalidToken,
    #[error("TaskTimedOut: the task for this token has already timed out")]
    TaskTimedOut,
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
    #[error("ExecutionDoesNotExist: the execution is gone")]
    ExecutionGone,
}

impl CallbackError {
    /// The AWS API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TaskDoesNotExist => "TaskDoesNotExist",
            Self::InvalidToken => "InvalidToken",
            Self::TaskTimedOut => "TaskTimedOut",
            Self::InvalidOutput(_) => "InvalidOutput",
            Self::ExecutionGone => "ExecutionDoesNotExist",
        }
    }
}

/// Why an execution could not be started or redriven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("InvalidDefinition: {0}")]
    InvalidDefinition(#[from] ValidationError),
    #[error("InvalidExecutionInput: {0}")]
    InvalidInput(String),
    #[error("ExecutionNotRedrivable: {0}")]
    NotRedrivable(String),
}

enum Command {
    Success {
        token: String,
        output: Value,
        reply: oneshot::Sender<Result<(), CallbackError>>,
    },
    Failure {
        token: String,
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<Result<(), CallbackError>>,
    },
    Heartbeat {
        token: String,
        reply: oneshot::Sender<Result<(), CallbackError>>,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<Result<(), CallbackError>>,
    },
}

/// A cloneable handle for delivering callbacks to a running execution from elsewhere
/// (another task, an HTTP handler, a dispatcher).
#[derive(Clone)]
pub struct ExecutionHandle {
    tx: Arc<mpsc::UnboundedSender<Command>>,
}

impl ExecutionHandle {
    async fn call(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), CallbackError>>) -> Command,
    ) -> Result<(), CallbackError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| CallbackError::ExecutionGone)?;
        rx.await.map_err(|_| CallbackError::ExecutionGone)?
    }

    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.call(|reply| Command::Success {
            token,
            output,
            reply,
        })
        .await
    }

    pub async fn send_task_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.call(|reply| Command::Failure {
            token,
            error,
            cause,
            reply,
        })
        .await
    }

    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let token = token.to_owned();
        self.call(|reply| Command::Heartbeat { token, reply }).await
    }

    pub async fn stop(
        &self,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        self.call(|reply| Command::Stop {
            error,
            cause,
            reply,
        })
        .await
    }
}

struct Completion {
    frame: FrameId,
    seq: u64,
    result: Result<Value, TaskFailure>,
}

/// `DescribeExecution`, with parsed JSON for input and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: u32,
}

impl ExecutionDescription {
    /// The AWS `DescribeExecution` response shape: `input`/`output` are JSON text, dates are
    /// epoch seconds, and `output` is present only for SUCCEEDED, `error`/`cause` only when set.
    pub fn to_aws_json(&self) -> Value {
        let epoch = |t: &DateTime<Utc>| {
            json!(t.timestamp() as f64 + f64::from(t.timestamp_subsec_millis()) / 1000.0)
        };
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(self.execution_arn));
        m.insert("stateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("name".into(), json!(self.name));
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("startDate".into(), epoch(&self.start_date));
        if let Some(t) = &self.stop_date {
            m.insert("stopDate".into(), epoch(t));
        }
        m.insert("input".into(), json!(compact(&self.input)));
        m.insert("inputDetails".into(), json!({"included": true}));
        if let Some(o) = &self.output {
            m.insert("output".into(), json!(compact(o)));
            m.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        m.insert("redriveCount".into(), json!(self.redrive_count));
        Value::Object(m)
    }
}

/// A running (or finished) execution of a definition.
pub struct Execution {
    def: Arc<Definition>,
    st: ExecutionState,
    inflight: JoinSet<Completion>,
    inflight_ids: HashMap<tokio::task::Id, (FrameId, u64)>,
    tx: Arc<mpsc::UnboundedSender<Command>>,
    rx: mpsc::UnboundedReceiver<Command>,
}

fn secs(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn add_secs(t: DateTime<Utc>, s: u64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(chrono::Duration::seconds(i64::try_from(s).ok()?))
}

fn timestamp_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|x| !x.is_empty())
}

/// `resourceType` and `resource` of Task events: `arn:aws:states:::lambda:invoke` is
/// (`lambda`, `invoke`).
fn resource_parts(resource: &str) -> (String, String) {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "states" && parts[3].is_empty() && parts[4].is_empty() {
        if let Some((service, action)) = parts[5].split_once(':') {
            return (service.to_owned(), action.to_owned());
        }
        return (parts[5].to_owned(), String::new());
    }
    let service = parts.get(2).copied().unwrap_or_default();
    (service.to_owned(), resource.to_owned())
}

/// A plain Lambda function ARN, which AWS records as `LambdaFunction*` events.
fn is_legacy_lambda(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.contains(":lambda:") && resource.contains(":function:")
}

impl Execution {
    /// Starts an execution: records `ExecutionStarted`. Call [`Execution::run_until_parked`] or
    /// [`Execution::run_until_finished`] to make progress.
    pub fn start(
        def: Arc<Definition>,
        input: Value,
        opts: StartOptions,
        rt: &Runtime,
    ) -> Result<Execution, StartError> {
        if payload_size(&input) > MAX_PAYLOAD_BYTES {
            return Err(StartError::InvalidInput(format!(
                "the execution input exceeds the maximum size of {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        let now = opts.start_time.unwrap_or_else(|| rt.clock.now());
        let region = opts.region.clone().unwrap_or_else(|| "us-east-1".into());
        let account = opts
            .account
            .clone()
            .unwrap_or_else(|| "123456789012".into());
        let sm_name = opts
            .state_machine_name
            .clone()
            .unwrap_or_else(|| "LocalStateMachine".into());
        let sm_arn = opts
            .state_machine_arn
            .clone()
            .unwrap_or_else(|| format!("arn:aws:states:{region}:{account}:stateMachine:{sm_name}"));
        let name = opts.name.clone().unwrap_or_else(|| rt.rng.uuid());
        let exec_arn = opts.execution_arn.clone().unwrap_or_else(|| {
            format!("arn:aws:states:{region}:{account}:execution:{sm_name}:{name}")
        });
        let role_arn = opts.role_arn.clone().unwrap_or_else(|| {
            format!("arn:aws:iam::{account}:role/service-role/StepFunctions-{sm_name}-role")
        });
        let identity = ExecutionIdentity {
            execution_arn: exec_arn,
            name,
            role_arn,
            state_machine_arn: sm_arn,
            state_machine_name: sm_name,
            region,
        };
        let deadline = def.timeout_seconds.and_then(|t| add_secs(now, t));
        let st = ExecutionState {
            definition: def.source().to_owned(),
            identity,
            input: input.clone(),
            start_time: now,
            stop_time: None,
            status: ExecutionStatus::Running,
            output: None,
            error: None,
            cause: None,
            redrive_count: 0,
            history: Vec::new(),
            frames: BTreeMap::new(),
            runnable: VecDeque::new(),
            next_frame_id: 1,
            next_seq: 1,
            deadline,
            expired_tokens: BTreeSet::new(),
            redrive_point: None,
        };
        let mut ex = Self::from_parts(def, st);
        let details = EventDetails {
            execution_started_event_details: Some(ExecutionStartedEventDetails {
                input: compact(&input),
                input_details: DataDetails::default(),
                role_arn: ex.st.identity.role_arn.clone(),
            }),
            ..EventDetails::default()
        };
        ex.push_event_at(now, None, EventType::ExecutionStarted, details);
        let start_at = ex.def.root().start_at.clone();
        ex.spawn_frame(0, None, start_at, input);
        Ok(ex)
    }

    fn from_parts(def: Arc<Definition>, st: ExecutionState) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            def,
            st,
            inflight: JoinSet::new(),
            inflight_ids: HashMap::new(),
            tx: Arc::new(tx),
            rx,
        }
    }

    /// Rebuilds an execution from persisted state. Tasks whose dispatch was in flight are
    /// dispatched again.
    pub fn resume(state: ExecutionState) -> Result<Execution, StartError> {
        let def = Arc::new(Definition::parse(&state.definition)?);
        let mut ex = Self::from_parts(def, state);
        let redispatch: Vec<FrameId> = ex
            .st
            .frames
            .values()
            .filter(|f| matches!(&f.phase, Phase::Task(t) if !t.submitted))
            .map(|f| f.id)
            .collect();
        for fid in redispatch {
            if let Some(f) = ex.st.frames.get_mut(&fid) {
                f.phase = Phase::Attempt;
            }
            if !ex.st.runnable.contains(&fid) {
                ex.st.runnable.push_back(fid);
            }
        }
        Ok(ex)
    }

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
        ExecutionHandle {
            tx: self.tx.clone(),
        }
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
            input: st.input.clone(),
            output: st.output.clone(),
            error: st.error.clone(),
            cause: st.cause.clone(),
            redrive_count: st.redrive_count,
        }
    }

    fn running(&self) -> bool {
        self.st.status == ExecutionStatus::Running
    }

    // ------------------------------------------------------------------ driving

    /// Makes all the progress possible without time passing or a callback arriving, then
    /// returns. In-flight task dispatches are awaited (and with a real clock, timers that come
    /// due meanwhile fire).
    pub async fn run_until_parked(&mut self, rt: &Runtime) -> RunOutcome {
        enum Woke {
            Done(Option<Result<(tokio::task::Id, Completion), tokio::task::JoinError>>),
            Cmd(Option<Command>),
            Timer,
        }
        loop {
            if !self.running() {
                self.inflight.abort_all();
                self.inflight_ids.clear();
                return RunOutcome::Finished(self.st.status);
            }
            while let Ok(cmd) = self.rx.try_recv() {
                self.handle_command(cmd, rt);
            }
            self.fire_due_timers(rt);
            if !self.running() {
                continue;
            }
            if let Some(fid) = self.st.runnable.pop_front() {
                self.step(fid, rt);
                continue;
            }
            if self.inflight.is_empty() {
                return RunOutcome::Parked {
                    next_wakeup: self.next_timer(),
                    awaiting_callbacks: self.pending_task_tokens().len(),
                };
            }
            let next = self.next_timer().filter(|_| !rt.clock.is_virtual());
            let clock = rt.clock.clone();
            let woke = tokio::select! {
                r = self.inflight.join_next_with_id() => Woke::Done(r),
                c = self.rx.recv() => Woke::Cmd(c),
                _ = async {
                    match next {
                        Some(t) => clock.sleep_until(t).await,
                        None => std::future::pending::<()>().await,
                    }
                } => Woke::Timer,
            };
            match woke {
                Woke::Done(Some(Ok((id, c)))) => {
                    self.inflight_ids.remove(&id);
                    self.on_task_result(c.frame, c.seq, c.result, rt);
                }
                Woke::Done(Some(Err(e))) => {
                    if let Some((frame, seq)) = self.inflight_ids.remove(&e.id()) {
                        let failure = TaskFailure::new(
                            error::TASK_FAILED,
                            format!("the task handler did not complete: {e}"),
                        );
                        self.on_task_result(frame, seq, Err(failure), rt);
                    }
                }
                Woke::Done(None) | Woke::Timer => {}
                Woke::Cmd(Some(cmd)) => self.handle_command(cmd, rt),
                Woke::Cmd(None) => {}
            }
        }
    }

    /// Runs until the execution finishes. Timers are slept through (a virtual clock jumps to
    /// them); callbacks arrive through [`ExecutionHandle`]s. Returns `Parked` only when the
    /// execution waits for a callback that nothing can deliver (no handle exists and no timer
    /// is pending).
    pub async fn run_until_finished(&mut self, rt: &Runtime) -> RunOutcome {
        loop {
            let outcome = self.run_until_parked(rt).await;
            let RunOutcome::Parked { next_wakeup, .. } = outcome else {
                return outcome;
            };
            if rt.clock.is_virtual() {
                // Idle means: nobody else delivers a callback when given the chance.
                let mut delivered = false;
                for _ in 0..8 {
                    tokio::task::yield_now().await;
                    while let Ok(cmd) = self.rx.try_recv() {
                        self.handle_command(cmd, rt);
                        delivered = true;
                    }
                    if delivered {
                        break;
                    }
                }
                if delivered {
                    continue;
                }
                match next_wakeup {
                    Some(t) => {
                        rt.clock.sleep_until(t).await;
                        continue;
                    }
                    None if Arc::strong_count(&self.tx) <= 1 => return outcome,
                    None => {}
                }
            } else if next_wakeup.is_none() && Arc::strong_count(&self.tx) <= 1 {
                return outcome;
            }
            let clock = rt.clock.clone();
            let cmd = tokio::select! {
                c = self.rx.recv() => c,
                _ = async {
                    match next_wakeup {
                        Some(t) => clock.sleep_until(t).await,
                        None => std::future::pending::<()>().await,
                    }
                } => None,
            };
            if let Some(cmd) = cmd {
                self.handle_command(cmd, rt);
            }
        }
    }

    fn handle_command(&mut self, cmd: Command, rt: &Runtime) {
        match cmd {
            Command::Success {
                token,
                output,
                reply,
            } => {
                let _ = reply.send(self.send_task_success(&token, output, rt));
            }
            Command::Failure {
                token,
                error,
                cause,
                reply,
            } => {
                let _ = reply.send(self.send_task_failure(&token, error, cause, rt));
            }
            Command::Heartbeat { token, reply } => {
                let _ = reply.send(self.send_task_heartbeat(&token, rt));
            }
            Command::Stop {
                error,
                cause,
                reply,
            } => {
                self.stop(error, cause, rt);
                let _ = reply.send(Ok(()));
            }
        }
    }

    // ------------------------------------------------------------------ callbacks

    fn token_frame(&self, token: &str) -> Result<FrameId, CallbackError> {
        for f in self.st.frames.values() {
            if let Phase::Task(t) = &f.phase
                && t.token.as_deref() == Some(token)
            {
                return Ok(f.id);
            }
        }
        if self.st.expired_tokens.contains(token) {
            Err(CallbackError::TaskTimedOut)
        } else if token.is_empty() || token.len() > 1024 {
            Err(CallbackError::InvalidToken)
        } else {
            Err(CallbackError::TaskDoesNotExist)
        }
    }

    /// `SendTaskSuccess`. Call a `run_*` method afterwards to continue.
    pub fn send_task_success(
        &mut self,
        token: &str,
        output: Value,
        rt: &Runtime,
    ) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        if payload_size(&output) > MAX_PAYLOAD_BYTES {
            return Err(CallbackError::InvalidOutput(format!(
                "the output exceeds the maximum size of {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        self.retire_token(token);
        self.task_succeeded(fid, output, rt);
        Ok(())
    }

    /// `SendTaskFailure`.
    pub fn send_task_failure(
        &mut self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
        rt: &Runtime,
    ) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        self.retire_token(token);
        let err = StatesError {
            error: error.unwrap_or_default(),
            cause,
        };
        self.task_failed_event(fid, &err, false, rt);
        self.state_failed(fid, err, rt);
        Ok(())
    }

    /// `SendTaskHeartbeat`: restarts the HeartbeatSeconds countdown.
    pub fn send_task_heartbeat(&mut self, token: &str, rt: &Runtime) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        let now = rt.clock.now();
        if let Some(f) = self.st.frames.get_mut(&fid)
            && let Phase::Task(t) = &mut f.phase
            && let Some(hb) = t.heartbeat_seconds
        {
            t.heartbeat_at = add_secs(now, hb);
        }
        Ok(())
    }

    fn retire_token(&mut self, token: &str) {
        self.st.expired_tokens.insert(token.to_owned());
    }

    /// `StopExecution`: aborts a running execution (a no-op otherwise).
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>, rt: &Runtime) {
        if !self.running() {
            return;
        }
        self.capture_redrive_point();
        let now = rt.clock.now();
        self.push_event_at(
            now,
            None,
            EventType::ExecutionAborted,
            EventDetails {
                execution_aborted_event_details: Some(ErrorEventDetails {
                    error: error.clone(),
                    cause: cause.clone(),
                }),
                ..EventDetails::default()
            },
        );
        self.finish(ExecutionStatus::Aborted, None, error, cause, now);
    }

    /// `RedriveExecution`: restarts a FAILED, TIMED_OUT or ABORTED execution at the top-level
    /// state that did not complete. A Parallel or Map state restarts as a whole.
    pub fn redrive(&mut self, rt: &Runtime) -> Result<(), StartError> {
        if self.running() || self.st.status == ExecutionStatus::Succeeded {
            return Err(StartError::NotRedrivable(format!(
                "the execution is {}",
                self.st.status.as_str()
            )));
        }
        let Some(point) = self.st.redrive_point.take() else {
            return Err(StartError::NotRedrivable(
                "there is no failed state to restart from".into(),
            ));
        };
        let now = rt.clock.now();
        self.st.status = ExecutionStatus::Running;
        self.st.redrive_count += 1;
        self.st.stop_time = None;
        self.st.error = None;
        self.st.cause = None;
        self.st.frames.clear();
        self.st.runnable.clear();
        self.st.deadline = self.def.timeout_seconds.and_then(|t| add_secs(now, t));
        let details = EventDetails {
            execution_redriven_event_details: Some(ExecutionRedrivenEventDetails {
                redrive_count: self.st.redrive_count,
            }),
            ..EventDetails::default()
        };
        self.push_event_at(now, None, EventType::ExecutionRedriven, details);
        self.spawn_frame(0, None, point.state, point.input);
        Ok(())
    }

    // ------------------------------------------------------------------ events

    fn push_event_at(
        &mut self,
        at: DateTime<Utc>,
        frame: Option<FrameId>,
        event_type: EventType,
        details: EventDetails,
    ) -> u64 {
        let terminal = matches!(
            event_type,
            EventType::ExecutionFailed
                | EventType::ExecutionSucceeded
                | EventType::ExecutionAborted
                | EventType::ExecutionTimedOut
        );
        if !terminal && self.st.history.len() + 1 >= MAX_HISTORY_EVENTS {
            if self.running() {
                self.capture_redrive_point();
                let cause = format!(
                    "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
                );
                self.fail_execution(StatesError::new(error::RUNTIME, cause), at);
            }
            return self.st.history.last().map_or(0, |e| e.id);
        }
        let id = self.st.history.len() as u64 + 1;
        let previous = match frame.and_then(|f| self.st.frames.get(&f)) {
            Some(f) if f.last_event_id > 0 => f.last_event_id,
            _ => id - 1,
        };
        self.st.history.push(HistoryEvent {
            timestamp: at,
            event_type,
            id,
            previous_event_id: previous,
            details,
        });
        if let Some(f) = frame.and_then(|f| self.st.frames.get_mut(&f)) {
            f.last_event_id = id;
        }
        id
    }

    fn push(&mut self, rt: &Runtime, frame: FrameId, t: EventType, d: EventDetails) -> u64 {
        let now = rt.clock.now();
        self.push_event_at(now, Some(frame), t, d)
    }

    fn finish(
        &mut self,
        status: ExecutionStatus,
        output: Option<Value>,
        error: Option<String>,
        cause: Option<String>,
        now: DateTime<Utc>,
    ) {
        self.st.status = status;
        self.st.output = output;
        self.st.error = non_empty(error);
        self.st.cause = non_empty(cause);
        self.st.stop_time = Some(now);
        let tokens = self.pending_task_tokens();
        self.st.expired_tokens.extend(tokens);
        self.st.frames.clear();
        self.st.runnable.clear();
        self.inflight.abort_all();
        self.inflight_ids.clear();
    }

    fn fail_execution(&mut self, err: StatesError, now: DateTime<Utc>) {
        if !self.running() {
            return;
        }
        let details = EventDetails {
            execution_failed_event_details: Some(ErrorEventDetails {
                error: non_empty(Some(err.error.clone())),
                cause: non_empty(err.cause.clone()),
            }),
            ..EventDetails::default()
        };
        self.push_event_at(now, None, EventType::ExecutionFailed, details);
        self.finish(
            ExecutionStatus::Failed,
            None,
            Some(err.error),
            err.cause,
            now,
        );
    }

    fn capture_redrive_point(&mut self) {
        if let Some(root) = self.st.frames.values().find(|f| f.parent.is_none()) {
            self.st.redrive_point = Some(RedrivePoint {
                state: root.state.clone(),
                input: root.input.clone(),
            });
        }
    }

    // ------------------------------------------------------------------ frames

    fn spawn_frame(
        &mut self,
        machine: usize,
        parent: Option<(FrameId, usize)>,
        state: String,
        input: Value,
    ) -> FrameId {
        let id = self.st.next_frame_id;
        self.st.next_frame_id += 1;
        let last_event_id = match parent {
            Some((p, _)) => self.st.frames.get(&p).map_or(0, |f| f.last_event_id),
            None => self.st.history.last().map_or(0, |e| e.id),
        };
        self.st.frames.insert(
            id,
            Frame {
                id,
                machine,
                parent,
                state,
                input,
                phase: Phase::Enter,
                entered_event_id: 0,
                entered_time: DateTime::<Utc>::default(),
                retry_counts: Vec::new(),
                retry_total: 0,
                last_event_id,
            },
        );
        self.st.runnable.push_back(id);
        id
    }

    fn frame(&self, fid: FrameId) -> Option<&Frame> {
        self.st.frames.get(&fid)
    }

    fn state_of(&self, fid: FrameId) -> Option<(Arc<Definition>, usize, String)> {
        let f = self.frame(fid)?;
        Some((self.def.clone(), f.machine, f.state.clone()))
    }

    /// The context object (`$$`) as the frame's current state sees it.
    fn context(&self, fid: FrameId, token: Option<&str>, item: Option<(usize, &Value)>) -> Value {
        let st = &self.st;
        let mut state = Map::new();
        if let Some(f) = self.frame(fid) {
            state.insert("Name".into(), json!(f.state));
            state.insert("EnteredTime".into(), json!(timestamp_text(&f.entered_time)));
            let execution_state = self.def.machines[f.machine].get(&f.state).is_some_and(|s| {
                matches!(s.kind, Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_))
            });
            if execution_state {
                state.insert("RetryCount".into(), json!(f.retry_total));
            }
        }
        let mut ctx = Map::new();
        ctx.insert(
            "Execution".into(),
            json!({
                "Id": st.identity.execution_arn,
                "Input": st.input,
                "StartTime": timestamp_text(&st.start_time),
                "Name": st.identity.name,
                "RoleArn": st.identity.role_arn,
                "RedriveCount": st.redrive_count,
            }),
        );
        ctx.insert(
            "StateMachine".into(),
            json!({"Id": st.identity.state_machine_arn, "Name": st.identity.state_machine_name}),
        );
        ctx.insert("State".into(), Value::Object(state));
        if let Some(t) = token {
            ctx.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((index, value)) = item {
            ctx.insert(
                "Map".into(),
                json!({"Item": {"Index": index, "Value": value}}),
            );
        }
        Value::Object(ctx)
    }

    fn step(&mut self, fid: FrameId, rt: &Runtime) {
        let Some(f) = self.frame(fid) else {
            return;
        };
        match f.phase {
            Phase::Enter => self.enter(fid, rt),
            Phase::Attempt => self.attempt(fid, rt),
            _ => {}
        }
    }

    fn enter(&mut self, fid: FrameId, rt: &Runtime) {
        let Some((def, m, name)) = self.state_of(fid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            let err = StatesError::new(
                error::RUNTIME,
                format!("The state '{name}' does not exist in the state machine."),
            );
            self.frame_done(fid, Err(err), rt);
            return;
        };
        let now = rt.clock.now();
        let input = self.frame(fid).map(|f| f.input.clone()).unwrap_or_default();
        let entered = match state.kind {
            Kind::Pass { .. } => EventType::PassStateEntered,
            Kind::Task(_) => EventType::TaskStateEntered,
            Kind::Choice { .. } => EventType::ChoiceStateEntered,
            Kind::Wait(_) => EventType::WaitStateEntered,
            Kind::Succeed => EventType::SucceedStateEntered,
            Kind::Fail { .. } => EventType::FailStateEntered,
            Kind::Parallel { .. } => EventType::ParallelStateEntered,
            Kind::Map(_) => EventType::MapStateEntered,
        };
        let id = self.push(
            rt,
            fid,
            entered,
            EventDetails::state_entered(&name, compact(&input)),
        );
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.entered_event_id = id;
            f.entered_time = now;
            f.retry_total = 0;
            f.retry_counts = match &state.kind {
                Kind::Task(t) => vec![0; t.exec.retry.len()],
                Kind::Parallel { exec, .. } => vec![0; exec.retry.len()],
                Kind::Map(mp) => vec![0; mp.exec.retry.len()],
                _ => Vec::new(),
            };
        }
        if !self.running() {
            return;
        }
        let result = match &state.kind {
            Kind::Pass {
                parameters,
                result,
                result_path,
            } => self.run_pass(fid, state, parameters, result, result_path, &input, rt),
            Kind::Choice { choices, default } => {
                self.run_choice(fid, state, choices, default.as_deref(), &input, rt)
            }
            Kind::Wait(w) => self.run_wait(fid, state, w, &input, rt),
            Kind::Succeed => {
                let ctx = self.context(fid, None, None);
                apply_path(&state.input_path, &input, &ctx)
                    .and_then(|v| apply_path(&state.output_path, &v, &ctx))
                    .map(|out| {
                        self.push(
                            rt,
                            fid,
                            EventType::SucceedStateExited,
                            EventDetails::state_exited(&name, compact(&out)),
                        );
                        self.frame_done(fid, Ok(out), rt);
                    })
            }
            Kind::Fail { error, cause } => {
                let ctx = self.context(fid, None, None);
                let e = eval_fail_field(error.as_ref(), "ErrorPath", &input, &ctx);
                let c = eval_fail_field(cause.as_ref(), "CausePath", &input, &ctx);
                match (e, c) {
                    (Ok(e), Ok(c)) => {
                        let err = StatesError {
                            error: e.unwrap_or_default(),
                            cause: c,
                        };
                        self.frame_done(fid, Err(err), rt);
                        Ok(())
                    }
                    (Err(x), _) | (_, Err(x)) => Err(x),
                }
            }
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
                self.attempt(fid, rt);
                Ok(())
            }
        };
        if let Err(e) = result {
            let entered = self.frame(fid).map_or(0, |f| f.entered_event_id);
            self.frame_done(fid, Err(e.into_states_error(&name, entered)), rt);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_pass(
        &mut self,
        fid: FrameId,
        state: &State,
        parameters: &Option<Value>,
        result: &Option<Value>,
        result_path: &OptPath,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let mut eff = apply_path(&state.input_path, input, &ctx)?;
        if let Some(p) = parameters {
            eff = apply_template(p, &eff, &ctx)?;
        }
        let res = result.clone().unwrap_or(eff);
        let out = apply_result_path(Some(result_path), input, res)?;
        if payload_size(&out) > MAX_PAYLOAD_BYTES {
            return Err(FlowError::Named(StatesError::data_limit(&state.name)));
        }
        let out = apply_path(&state.output_path, &out, &ctx)?;
        self.push(
            rt,
            fid,
            EventType::PassStateExited,
            EventDetails::state_exited(&state.name, compact(&out)),
        );
        self.transition(fid, state, out, rt);
        Ok(())
    }

    fn run_choice(
        &mut self,
        fid: FrameId,
        state: &State,
        choices: &[(crate::choice::ChoiceRule, String)],
        default: Option<&str>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = apply_path(&state.input_path, input, &ctx)?;
        let mut next = None;
        for (rule, target) in choices {
            if rule.eval(&eff, &ctx).map_err(FlowError::Runtime)? {
                next = Some(target.clone());
                break;
            }
        }
        let Some(next) = next.or(default.map(str::to_owned)) else {
            return Err(FlowError::Named(StatesError::new(
                error::NO_CHOICE_MATCHED,
                "No Matches!",
            )));
        };
        let out = apply_path(&state.output_path, &eff, &ctx)?;
        self.push(
            rt,
            fid,
            EventType::ChoiceStateExited,
            EventDetails::state_exited(&state.name, compact(&out)),
        );
        self.goto(fid, next, out);
        Ok(())
    }

    fn run_wait(
        &mut self,
        fid: FrameId,
        state: &State,
        w: &WaitSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = apply_path(&state.input_path, input, &ctx)?;
        let now = rt.clock.now();
        let until = match w {
            WaitSpec::Seconds(s) => add_secs(now, *s),
            WaitSpec::Timestamp(t) => Some(t.with_timezone(&Utc)),
            WaitSpec::SecondsPath(p) => {
                let v = payload::select_required(p, &eff, &ctx)?;
                let s = match &v {
                    Value::Number(n) if n.as_i64().is_some_and(|x| x < 0) => {
                        return Err(FlowError::Runtime(format!(
                            "The SecondsPath parameter references a negative value: {p} == {}",
                            compact(&v)
                        )));
                    }
                    Value::Number(n) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
                    _ => {
                        return Err(FlowError::Runtime(format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {p} == {}",
                            compact(&v)
                        )));
                    }
                };
                add_secs(now, s)
            }
            WaitSpec::TimestampPath(p) => {
                let v = payload::select_required(p, &eff, &ctx)?;
                match v.as_str().and_then(crate::choice::parse_timestamp) {
                    Some(t) => Some(t.with_timezone(&Utc)),
                    None => {
                        return Err(FlowError::Runtime(format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}",
                            compact(&v)
                        )));
                    }
                }
            }
        };
        let Some(until) = until else {
            return Err(FlowError::Runtime(
                "The wait duration is out of range.".into(),
            ));
        };
        let output = apply_path(&state.output_path, &eff, &ctx)?;
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Waiting { until, output };
        }
        Ok(())
    }

    /// Starts (or, after a retry backoff, restarts) a Task, Parallel or Map state's work.
    fn attempt(&mut self, fid: FrameId, rt: &Runtime) {
        let Some((def, m, name)) = self.state_of(fid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            return;
        };
        let input = self.frame(fid).map(|f| f.input.clone()).unwrap_or_default();
        let r = match &state.kind {
            Kind::Task(t) => self.attempt_task(fid, state, t, &input, rt),
            Kind::Parallel { branches, exec } => {
                self.attempt_parallel(fid, state, branches, exec, &input, rt)
            }
            Kind::Map(mp) => self.attempt_map(fid, state, mp, &input, rt),
            _ => Ok(()),
        };
        if let Err(e) = r {
            let entered = self.frame(fid).map_or(0, |f| f.entered_event_id);
            self.state_failed(fid, e.into_states_error(&name, entered), rt);
        }
    }

    fn resolve_seconds(
        &self,
        s: &Option<Seconds>,
        field: &str,
        eff: &Value,
        ctx: &Value,
    ) -> Result<Option<u64>, FlowError> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => {
                let v = payload::select_required(p, eff, ctx)?;
                match v.as_u64() {
                    Some(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(FlowError::Runtime(format!(
                        "The {field}Path parameter must reference a positive integer: {p} == {}",
                        compact(&v)
                    ))),
                }
            }
        }
    }

    fn attempt_task(
        &mut self,
        fid: FrameId,
        state: &State,
        t: &crate::definition::TaskSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let pattern = IntegrationPattern::of(&t.resource);
        let token = (pattern == IntegrationPattern::WaitForTaskToken).then(|| rt.rng.task_token());
        let ctx = self.context(fid, token.as_deref(), None);
        let mut eff = apply_path(&state.input_path, input, &ctx)?;
        if let Some(p) = &t.exec.parameters {
            eff = apply_template(p, &eff, &ctx)?;
        }
        if payload_size(&eff) > MAX_PAYLOAD_BYTES {
            return Err(FlowError::Named(StatesError::data_limit(&state.name)));
        }
        // TimeoutSecondsPath / HeartbeatSecondsPath select from the state input (AWS: "a
        // reference path to a value in the state input"), not from the Parameters output.
        let timeout = self.resolve_seconds(&t.timeout, "TimeoutSeconds", input, &ctx)?;
        let heartbeat = self.resolve_seconds(&t.heartbeat, "HeartbeatSeconds", input, &ctx)?;
        let (resource_type, resource) = resource_parts(&t.resource);
        let legacy = is_legacy_lambda(&t.resource);
        if legacy {
            let d = EventDetails {
                lambda_function_scheduled_event_details: Some(
                    LambdaFunctionScheduledEventDetails {
                        resource: t.resource.clone(),
                        input: compact(&eff),
                        input_details: DataDetails::default(),
                        timeout_in_seconds: timeout,
                    },
                ),
                ..EventDetails::default()
            };
            self.push(rt, fid, EventType::LambdaFunctionScheduled, d);
            self.push(
                rt,
                fid,
                EventType::LambdaFunctionStarted,
                EventDetails::none(),
            );
        } else {
            let d = EventDetails {
                task_scheduled_event_details: Some(TaskScheduledEventDetails {
                    resource_type: resource_type.clone(),
                    resource: resource.clone(),
                    region: self.st.identity.region.clone(),
                    parameters: compact(&eff),
                    timeout_in_seconds: timeout,
                    heartbeat_in_seconds: heartbeat,
                }),
                ..EventDetails::default()
            };
            self.push(rt, fid, EventType::TaskScheduled, d);
            let d = EventDetails {
                task_started_event_details: Some(TaskStartedEventDetails {
                    resource_type,
                    resource,
                }),
                ..EventDetails::default()
            };
            self.push(rt, fid, EventType::TaskStarted, d);
        }
        if !self.running() {
            return Ok(());
        }
        let now = rt.clock.now();
        let seq = self.st.next_seq;
        self.st.next_seq += 1;
        let attempt = self.frame(fid).map_or(0, |f| f.retry_total);
        let req = TaskRequest {
            execution_arn: self.st.identity.execution_arn.clone(),
            state_name: state.name.clone(),
            resource: t.resource.clone(),
            pattern,
            input: eff,
            task_token: token.clone(),
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            attempt,
            context: ctx,
        };
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Task(TaskPhase {
                seq,
                token,
                submitted: false,
                timeout_at: timeout.and_then(|s| add_secs(now, s)),
                heartbeat_seconds: heartbeat,
                heartbeat_at: None,
            });
        }
        let dispatcher = rt.dispatcher.clone();
        let handle = self.inflight.spawn(async move {
            Completion {
                frame: fid,
                seq,
                result: dispatcher.invoke(req).await,
            }
        });
        self.inflight_ids.insert(handle.id(), (fid, seq));
        Ok(())
    }

    fn on_task_result(
        &mut self,
        fid: FrameId,
        seq: u64,
        result: Result<Value, TaskFailure>,
        rt: &Runtime,
    ) {
        let Some(Frame {
            phase: Phase::Task(tp),
            ..
        }) = self.frame(fid)
        else {
            return;
        };
        if tp.seq != seq || tp.submitted {
            return;
        }
        let waits = tp.token.is_some();
        match result {
            Ok(v) if waits => {
                let Some((def, m, name)) = self.state_of(fid) else {
                    return;
                };
                let Some(Kind::Task(t)) = def.machines[m].get(&name).map(|s| &s.kind) else {
                    return;
                };
                let (resource_type, resource) = resource_parts(&t.resource);
                let d = EventDetails {
                    task_submitted_event_details: Some(TaskOutputEventDetails {
                        resource_type,
                        resource,
                        output: compact(&v),
                        output_details: DataDetails::default(),
                    }),
                    ..EventDetails::default()
                };
                self.push(rt, fid, EventType::TaskSubmitted, d);
                let now = rt.clock.now();
                if let Some(f) = self.st.frames.get_mut(&fid)
                    && let Phase::Task(tp) = &mut f.phase
                {
                    tp.submitted = true;
                    tp.heartbeat_at = tp.heartbeat_seconds.and_then(|h| add_secs(now, h));
                }
            }
            Ok(v) => self.task_succeeded(fid, v, rt),
            Err(f) => {
                let err = StatesError {
                    error: f.error,
                    cause: Some(f.cause),
                };
                if let Some(Phase::Task(tp)) = self.frame(fid).map(|f| &f.phase)
                    && let Some(tok) = tp.token.clone()
                {
                    self.retire_token(&tok);
                }
                self.task_failed_event(fid, &err, false, rt);
                self.state_failed(fid, err, rt);
            }
        }
    }

    fn task_failed_event(
        &mut self,
        fid: FrameId,
        err: &StatesError,
        timed_out: bool,
        rt: &Runtime,
    ) {
        let Some((def, m, name)) = self.state_of(fid) else {
            return;
        };
        let Some(Kind::Task(t)) = def.machines[m].get(&name).map(|s| &s.kind) else {
            return;
        };
        let error = non_empty(Some(err.error.clone()));
        let cause = err.cause.clone();
        let d = if is_legacy_lambda(&t.resource) {
            let e = Some(ErrorEventDetails { error, cause });
            if timed_out {
                EventDetails {
                    lambda_function_timed_out_event_details: e,
                    ..EventDetails::default()
                }
            } else {
                EventDetails {
                    lambda_function_failed_event_details: e,
                    ..EventDetails::default()
                }
            }
        } else {
            let (resource_type, resource) = resource_parts(&t.resource);
            let e = Some(TaskErrorEventDetails {
                resource_type,
                resource,
                error,
                cause,
            });
            if timed_out {
                EventDetails {
                    task_timed_out_event_details: e,
                    ..EventDetails::default()
                }
            } else {
                EventDetails {
                    task_failed_event_details: e,
                    ..EventDetails::default()
                }
            }
        };
        let ty = match (is_legacy_lambda(&t.resource), timed_out) {
            (true, true) => EventType::LambdaFunctionTimedOut,
            (true, false) => EventType::LambdaFunctionFailed,
            (false, true) => EventType::TaskTimedOut,
            (false, false) => EventType::TaskFailed,
        };
        self.push(rt, fid, ty, d);
    }

    fn task_succeeded(&mut self, fid: FrameId, result: Value, rt: &Runtime) {
        let Some((def, m, name)) = self.state_of(fid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            return;
        };
        let Kind::Task(t) = &state.kind else {
            return;
        };
        if payload_size(&result) > MAX_PAYLOAD_BYTES {
            let err = StatesError::data_limit(&name);
            self.task_failed_event(fid, &err, false, rt);
            self.state_failed(fid, err, rt);
            return;
        }
        let d = if is_legacy_lambda(&t.resource) {
            (
                EventType::LambdaFunctionSucceeded,
                EventDetails {
                    lambda_function_succeeded_event_details: Some(OutputEventDetails {
                        output: compact(&result),
                        output_details: DataDetails::default(),
                    }),
                    ..EventDetails::default()
                },
            )
        } else {
            let (resource_type, resource) = resource_parts(&t.resource);
            (
                EventType::TaskSucceeded,
                EventDetails {
                    task_succeeded_event_details: Some(TaskOutputEventDetails {
                        resource_type,
                        resource,
                        output: compact(&result),
                        output_details: DataDetails::default(),
                    }),
                    ..EventDetails::default()
                },
            )
        };
        self.push(rt, fid, d.0, d.1);
        self.complete_execution_state(fid, state, &t.exec, result, rt);
    }

    /// ResultSelector, ResultPath, OutputPath, the exit event and the transition, shared by
    /// Task, Parallel and Map.
    fn complete_execution_state(
        &mut self,
        fid: FrameId,
        state: &State,
        exec: &ExecSpec,
        result: Value,
        rt: &Runtime,
    ) {
        let input = self.frame(fid).map(|f| f.input.clone()).unwrap_or_default();
        let ctx = self.context(fid, None, None);
        let r = (|| -> Result<Value, FlowError> {
            let mut result = result;
            if let Some(sel) = &exec.result_selector {
                result = apply_template(sel, &result, &ctx)?;
            }
            let out = apply_result_path(exec.result_path.as_ref(), &input, result)?;
            if payload_size(&out) > MAX_PAYLOAD_BYTES {
                return Err(FlowError::Named(StatesError::data_limit(&state.name)));
            }
            apply_path(&state.output_path, &out, &ctx)
        })();
        match r {
            Ok(out) => {
                let exited = match state.kind {
                    Kind::Task(_) => EventType::TaskStateExited,
                    Kind::Parallel { .. } => EventType::ParallelStateExited,
                    _ => EventType::MapStateExited,
                };
                self.push(
                    rt,
                    fid,
                    exited,
                    EventDetails::state_exited(&state.name, compact(&out)),
                );
                self.transition(fid, state, out, rt);
            }
            Err(e) => {
                let entered = self.frame(fid).map_or(0, |f| f.entered_event_id);
                self.state_failed(fid, e.into_states_error(&state.name, entered), rt);
            }
        }
    }

    fn retry_delay(r: &crate::definition::Retrier, count: u32, rt: &Runtime) -> Duration {
        let base = r.interval_seconds as f64 * r.backoff_rate.powi(count as i32);
        let mut d = if base.is_finite() { base } else { f64::MAX };
        if let Some(max) = r.max_delay_seconds {
            d = d.min(max as f64);
        }
        d = d.min(366.0 * 24.0 * 3600.0);
        if r.jitter == Jitter::Full {
            d *= rt.rng.unit();
        }
        Duration::from_millis((d * 1000.0).round() as u64)
    }

    /// A Task/Parallel/Map state failed: retry, catch, or fail the frame.
    fn state_failed(&mut self, fid: FrameId, err: StatesError, rt: &Runtime) {
        if !self.running() {
            return;
        }
        let Some((def, m, name)) = self.state_of(fid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            return;
        };
        let exec = match &state.kind {
            Kind::Task(t) => &t.exec,
            Kind::Parallel { exec, .. } => exec,
            Kind::Map(mp) => &mp.exec,
            _ => {
                self.frame_done(fid, Err(err), rt);
                return;
            }
        };
        self.abort_children(fid, rt);
        for (i, r) in exec.retry.iter().enumerate() {
            if !r.error_equals.iter().any(|p| error_matches(p, &err.error)) {
                continue;
            }
            let count = self
                .frame(fid)
                .and_then(|f| f.retry_counts.get(i).copied())
                .unwrap_or(0);
            if count < r.max_attempts {
                let delay = Self::retry_delay(r, count, rt);
                let until = rt.clock.now() + secs(delay);
                if let Some(f) = self.st.frames.get_mut(&fid) {
                    if let Some(c) = f.retry_counts.get_mut(i) {
                        *c += 1;
                    }
                    f.retry_total += 1;
                    f.phase = Phase::Backoff { until };
                }
                return;
            }
            break;
        }
        for c in &exec.catch {
            if !c.error_equals.iter().any(|p| error_matches(p, &err.error)) {
                continue;
            }
            let input = self.frame(fid).map(|f| f.input.clone()).unwrap_or_default();
            match apply_result_path(Some(&c.result_path), &input, err.to_catch_output()) {
                Ok(out) => {
                    let exited = match state.kind {
                        Kind::Task(_) => EventType::TaskStateExited,
                        Kind::Parallel { .. } => EventType::ParallelStateExited,
                        _ => EventType::MapStateExited,
                    };
                    self.push(
                        rt,
                        fid,
                        exited,
                        EventDetails::state_exited(&name, compact(&out)),
                    );
                    self.goto(fid, c.next.clone(), out);
                }
                Err(e) => {
                    let entered = self.frame(fid).map_or(0, |f| f.entered_event_id);
                    self.frame_done(fid, Err(e.into_states_error(&name, entered)), rt);
                }
            }
            return;
        }
        self.frame_done(fid, Err(err), rt);
    }

    fn goto(&mut self, fid: FrameId, next: String, input: Value) {
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.state = next;
            f.input = input;
            f.phase = Phase::Enter;
            self.st.runnable.push_back(fid);
        }
    }

    fn transition(&mut self, fid: FrameId, state: &State, output: Value, rt: &Runtime) {
        match (&state.next, state.end) {
            (Some(n), false) => self.goto(fid, n.clone(), output),
            _ => self.frame_done(fid, Ok(output), rt),
        }
    }

    /// A frame ran to its end (or failed): report to the parent, or finish the execution.
    fn frame_done(&mut self, fid: FrameId, result: Result<Value, StatesError>, rt: &Runtime) {
        let Some(f) = self.frame(fid) else {
            return;
        };
        let parent = f.parent;
        let now = rt.clock.now();
        match parent {
            None => match result {
                Ok(out) => {
                    if !self.running() {
                        return;
                    }
                    let d = EventDetails {
                        execution_succeeded_event_details: Some(OutputEventDetails {
                            output: compact(&out),
                            output_details: DataDetails::default(),
                        }),
                        ..EventDetails::default()
                    };
                    self.push_event_at(now, Some(fid), EventType::ExecutionSucceeded, d);
                    self.finish(ExecutionStatus::Succeeded, Some(out), None, None, now);
                }
                Err(err) => {
                    self.capture_redrive_point();
                    self.fail_execution(err, now);
                }
            },
            Some((pid, slot)) => {
                let last = self.frame(fid).map_or(0, |f| f.last_event_id);
                self.st.frames.remove(&fid);
                self.st.runnable.retain(|x| *x != fid);
                if let Some(p) = self.st.frames.get_mut(&pid)
                    && last > p.last_event_id
                {
                    p.last_event_id = last;
                }
                self.child_done(pid, slot, result, rt);
            }
        }
    }

    // ------------------------------------------------------------------ Parallel / Map

    fn attempt_parallel(
        &mut self,
        fid: FrameId,
        state: &State,
        branches: &[usize],
        exec: &ExecSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let mut eff = apply_path(&state.input_path, input, &ctx)?;
        if let Some(p) = &exec.parameters {
            eff = apply_template(p, &eff, &ctx)?;
        }
        if payload_size(&eff) > MAX_PAYLOAD_BYTES {
            return Err(FlowError::Named(StatesError::data_limit(&state.name)));
        }
        self.push(
            rt,
            fid,
            EventType::ParallelStateStarted,
            EventDetails::none(),
        );
        let n = branches.len();
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Children(ChildrenPhase {
                is_map: false,
                inputs: Vec::new(),
                results: vec![None; n],
                pending: VecDeque::new(),
                running: (0..n).collect(),
                failures: 0,
                max_concurrency: 0,
                tolerated_count: None,
                tolerated_percentage: None,
            });
        }
        for (i, &b) in branches.iter().enumerate() {
            let start = self.def.machines[b].start_at.clone();
            self.spawn_frame(b, Some((fid, i)), start, eff.clone());
        }
        Ok(())
    }

    fn attempt_map(
        &mut self,
        fid: FrameId,
        state: &State,
        mp: &crate::definition::MapSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        if mp.has_item_reader {
            return Err(FlowError::Named(StatesError::new(
                error::ITEM_READER_FAILED,
                "ItemReader is not supported by the embedded engine: it reads from S3.",
            )));
        }
        let ctx = self.context(fid, None, None);
        let eff = apply_path(&state.input_path, input, &ctx)?;
        let items = match &mp.items_path {
            OptPath::Path(p) => payload::select_required(p, &eff, &ctx)?,
            _ => eff.clone(),
        };
        let Value::Array(items) = items else {
            let path = match &mp.items_path {
                OptPath::Path(p) => p.as_str(),
                _ => "$",
            };
            return Err(FlowError::Runtime(format!(
                "Invalid path '{path}' : The ItemsPath must reference a JSON array, got {}",
                compact(&items)
            )));
        };
        let max_concurrency = match &mp.max_concurrency {
            Seconds::Fixed(n) => *n,
            Seconds::Path(p) => {
                let v = payload::select_required(p, &eff, &ctx)?;
                v.as_u64().ok_or_else(|| {
                    FlowError::Runtime(format!(
                        "The MaxConcurrencyPath parameter must reference a non-negative integer: {p} == {}",
                        compact(&v)
                    ))
                })?
            }
        };
        let tolerance = |t: &Option<Tolerance>, field: &str| -> Result<Option<f64>, FlowError> {
            match t {
                None => Ok(None),
                Some(Tolerance::Fixed(x)) => Ok(Some(*x)),
                Some(Tolerance::Path(p)) => {
                    let v = payload::select_required(p, &eff, &ctx)?;
                    v.as_f64().filter(|x| *x >= 0.0).map(Some).ok_or_else(|| {
                        FlowError::Runtime(format!(
                            "The {field}Path parameter must reference a non-negative number: {p} == {}",
                            compact(&v)
                        ))
                    })
                }
            }
        };
        let tolerated_percentage =
            tolerance(&mp.tolerated_percentage, "ToleratedFailurePercentage")?;
        let tolerated_count = tolerance(&mp.tolerated_count, "ToleratedFailureCount")?;
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let v = match &mp.item_selector {
                Some(sel) => {
                    let ictx = self.context(fid, None, Some((i, item)));
                    apply_template(sel, &eff, &ictx)?
                }
                None => item.clone(),
            };
            inputs.push(v);
        }
        if let Some(size) = mp.max_items_per_batch {
            let size = usize::try_from(size).unwrap_or(usize::MAX).max(1);
            let batch_input = match &mp.batch_input {
                Some(b) => Some(apply_template(b, &eff, &ctx)?),
                None => None,
            };
            inputs = inputs
                .chunks(size)
                .map(|c| {
                    let mut m = Map::new();
                    m.insert("Items".into(), Value::Array(c.to_vec()));
                    if let Some(b) = &batch_input {
                        m.insert("BatchInput".into(), b.clone());
                    }
                    Value::Object(m)
                })
                .collect();
        }
        let n = inputs.len();
        let d = EventDetails {
            map_state_started_event_details: Some(MapStateStartedEventDetails { length: n }),
            ..EventDetails::default()
        };
        self.push(rt, fid, EventType::MapStateStarted, d);
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Children(ChildrenPhase {
                is_map: true,
                inputs,
                results: vec![None; n],
                pending: (0..n).collect(),
                running: BTreeSet::new(),
                failures: 0,
                max_concurrency: usize::try_from(max_concurrency).unwrap_or(usize::MAX),
                tolerated_count,
                tolerated_percentage,
            });
        }
        if n == 0 {
            self.children_finished(fid, rt);
        } else {
            self.start_map_iterations(fid, state, mp.processor, rt);
        }
        Ok(())
    }

    fn start_map_iterations(
        &mut self,
        fid: FrameId,
        state: &State,
        processor: usize,
        rt: &Runtime,
    ) {
        loop {
            let Some(Frame {
                phase: Phase::Children(c),
                ..
            }) = self.st.frames.get_mut(&fid)
            else {
                return;
            };
            if c.max_concurrency != 0 && c.running.len() >= c.max_concurrency {
                return;
            }
            let Some(i) = c.pending.pop_front() else {
                return;
            };
            c.running.insert(i);
            let input = c.inputs.get(i).cloned().unwrap_or(Value::Null);
            self.push(
                rt,
                fid,
                EventType::MapIterationStarted,
                EventDetails::map_iteration(EventType::MapIterationStarted, &state.name, i),
            );
            let start = self.def.machines[processor].start_at.clone();
            self.spawn_frame(processor, Some((fid, i)), start, input);
        }
    }

    fn child_done(
        &mut self,
        pid: FrameId,
        slot: usize,
        result: Result<Value, StatesError>,
        rt: &Runtime,
    ) {
        if !self.running() {
            return;
        }
        let Some((def, m, name)) = self.state_of(pid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            return;
        };
        let Some(Frame {
            phase: Phase::Children(c),
            ..
        }) = self.st.frames.get_mut(&pid)
        else {
            return;
        };
        c.running.remove(&slot);
        let is_map = c.is_map;
        let total = c.results.len();
        let failure = match result {
            Ok(v) => {
                c.results[slot] = Some(v);
                None
            }
            Err(err) => {
                c.failures += 1;
                let failures = c.failures as f64;
                let tolerance_set = c.tolerated_count.is_some() || c.tolerated_percentage.is_some();
                let exceeded = err.error == error::RUNTIME
                    || !is_map
                    || !tolerance_set
                    || c.tolerated_count.is_some_and(|t| failures > t)
                    || c.tolerated_percentage
                        .is_some_and(|p| failures * 100.0 / total.max(1) as f64 > p);
                if is_map {
                    c.results[slot] = Some(err.to_catch_output());
                }
                Some((err, exceeded, tolerance_set))
            }
        };
        if is_map {
            let ty = if failure.is_some() {
                EventType::MapIterationFailed
            } else {
                EventType::MapIterationSucceeded
            };
            self.push(rt, pid, ty, EventDetails::map_iteration(ty, &name, slot));
        }
        if let Some((err, true, tolerance_set)) = failure {
            let err = if is_map && tolerance_set && err.error != error::RUNTIME {
                StatesError::new(
                    error::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                )
            } else {
                err
            };
            let ty = if is_map {
                EventType::MapStateFailed
            } else {
                EventType::ParallelStateFailed
            };
            self.abort_children(pid, rt);
            self.push(rt, pid, ty, EventDetails::none());
            self.state_failed(pid, err, rt);
            return;
        }
        let Some(Frame {
            phase: Phase::Children(c),
            ..
        }) = self.st.frames.get(&pid)
        else {
            return;
        };
        if c.running.is_empty() && c.pending.is_empty() {
            self.children_finished(pid, rt);
        } else if let Kind::Map(mp) = &state.kind {
            self.start_map_iterations(pid, state, mp.processor, rt);
        }
    }

    fn children_finished(&mut self, pid: FrameId, rt: &Runtime) {
        let Some((def, m, name)) = self.state_of(pid) else {
            return;
        };
        let Some(state) = def.machines[m].get(&name) else {
            return;
        };
        let Some(Frame {
            phase: Phase::Children(c),
            ..
        }) = self.st.frames.get(&pid)
        else {
            return;
        };
        let results = Value::Array(
            c.results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect(),
        );
        let (ty, exec) = match &state.kind {
            Kind::Parallel { exec, .. } => (EventType::ParallelStateSucceeded, exec),
            Kind::Map(mp) => (EventType::MapStateSucceeded, &mp.exec),
            _ => return,
        };
        self.push(rt, pid, ty, EventDetails::none());
        self.complete_execution_state(pid, state, exec, results, rt);
    }

    /// Removes every descendant frame of `pid` (its branches or iterations, recursively).
    fn abort_children(&mut self, pid: FrameId, rt: &Runtime) {
        let mut is_map = false;
        let mut state_name = String::new();
        if let Some(f) = self.st.frames.get(&pid)
            && let Phase::Children(c) = &f.phase
        {
            is_map = c.is_map;
            state_name = f.state.clone();
        }
        let mut doomed: Vec<(FrameId, Option<usize>)> = Vec::new();
        let direct: Vec<(FrameId, usize)> = self
            .st
            .frames
            .values()
            .filter_map(|f| match f.parent {
                Some((p, slot)) if p == pid => Some((f.id, slot)),
                _ => None,
            })
            .collect();
        let mut stack: Vec<FrameId> = direct.iter().map(|(f, _)| *f).collect();
        for (f, slot) in &direct {
            doomed.push((*f, Some(*slot)));
        }
        while let Some(f) = stack.pop() {
            for g in self.st.frames.values() {
                if g.parent.map(|(p, _)| p) == Some(f) {
                    doomed.push((g.id, None));
                    stack.push(g.id);
                }
            }
        }
        for (f, slot) in &doomed {
            if let Some(fr) = self.st.frames.remove(f)
                && let Phase::Task(t) = &fr.phase
                && let Some(tok) = &t.token
            {
                self.st.expired_tokens.insert(tok.clone());
            }
            self.st.runnable.retain(|x| x != f);
            if let (true, Some(i)) = (is_map, slot) {
                self.push(
                    rt,
                    pid,
                    EventType::MapIterationAborted,
                    EventDetails::map_iteration(EventType::MapIterationAborted, &state_name, *i),
                );
            }
        }
    }

    // ------------------------------------------------------------------ timers

    fn frame_timers(f: &Frame) -> Option<DateTime<Utc>> {
        match &f.phase {
            Phase::Waiting { until, .. } | Phase::Backoff { until } => Some(*until),
            Phase::Task(t) => match (t.timeout_at, t.heartbeat_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            _ => None,
        }
    }

    /// The next time something happens without outside help.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        if !self.running() {
            return None;
        }
        let frames = self.st.frames.values().filter_map(Self::frame_timers);
        frames.chain(self.st.deadline).min()
    }

    fn fire_due_timers(&mut self, rt: &Runtime) {
        let now = rt.clock.now();
        if let Some(d) = self.st.deadline
            && d <= now
            && self.running()
        {
            self.capture_redrive_point();
            let details = EventDetails {
                execution_timed_out_event_details: Some(ErrorEventDetails {
                    error: Some(error::TIMEOUT.into()),
                    cause: Some("The execution timed out.".into()),
                }),
                ..EventDetails::default()
            };
            self.push_event_at(d, None, EventType::ExecutionTimedOut, details);
            self.finish(
                ExecutionStatus::TimedOut,
                None,
                Some(error::TIMEOUT.into()),
                Some("The execution timed out.".into()),
                d,
            );
            return;
        }
        let mut due: Vec<(DateTime<Utc>, FrameId)> = self
            .st
            .frames
            .values()
            .filter_map(|f| {
                Self::frame_timers(f)
                    .filter(|t| *t <= now)
                    .map(|t| (t, f.id))
            })
            .collect();
        due.sort();
        for (_, fid) in due {
            if !self.running() {
                return;
            }
            let Some((phase, machine, name)) = self
                .frame(fid)
                .map(|f| (f.phase.clone(), f.machine, f.state.clone()))
            else {
                continue;
            };
            match phase {
                Phase::Waiting { output, .. } => {
                    self.push(
                        rt,
                        fid,
                        EventType::WaitStateExited,
                        EventDetails::state_exited(&name, compact(&output)),
                    );
                    let def = self.def.clone();
                    if let Some(state) = def.machines[machine].get(&name) {
                        self.transition(fid, state, output, rt);
                    }
                }
                Phase::Backoff { .. } => self.attempt(fid, rt),
                Phase::Task(t) => {
                    if let Some(tok) = &t.token {
                        self.retire_token(tok);
                    }
                    // Invalidate the in-flight dispatch, if any.
                    if let Some(fr) = self.st.frames.get_mut(&fid) {
                        fr.phase = Phase::Attempt;
                    }
                    let heartbeat = match (t.heartbeat_at, t.timeout_at) {
                        (Some(h), Some(a)) => h <= now && h <= a,
                        (Some(h), None) => h <= now,
                        _ => false,
                    };
                    let err = StatesError {
                        error: if heartbeat {
                            error::HEARTBEAT_TIMEOUT.into()
                        } else {
                            error::TIMEOUT.into()
                        },
                        cause: None,
                    };
                    self.task_failed_event(fid, &err, true, rt);
                    self.state_failed(fid, err, rt);
                }
                _ => {}
            }
        }
    }
}

fn eval_fail_field(
    e: Option<&Expr>,
    field: &str,
    input: &Value,
    ctx: &Value,
) -> Result<Option<String>, FlowError> {
    let v = match e {
        None => return Ok(None),
        Some(Expr::Literal(s)) => return Ok(Some(s.clone())),
        Some(Expr::Intrinsic(x)) | Some(Expr::Path(x)) => {
            payload::eval_expression(x, field, input, ctx)?
        }
    };
    match v {
        Value::String(s) => Ok(Some(s)),
        other => Err(FlowError::Runtime(format!(
            "The {field} field must resolve to a string, got {}",
            compact(&other)
        ))),
    }
}
