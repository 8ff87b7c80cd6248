//! An execution's life as a whole: start, resume, stop, redrive, and how it ends.
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::options::{StartError, StartOptions};
use super::state::{ExecutionIdentity, ExecutionState, ExecutionStatus, FrameId, Phase};
use super::{Execution, Runtime, non_empty};
use crate::clock::add_secs;
use crate::dataflow::{MAX_PAYLOAD_BYTES, ROOT_SCOPE, Variables};
use crate::definition::Definition;
use crate::error::StatesError;
use crate::history::{
    DataDetails, ErrorEventDetails, EventDetails, EventType, ExecutionRedrivenEventDetails,
    ExecutionStartedEventDetails,
};
use crate::json_text::compact;

impl Execution {
    /// Starts an execution: records `ExecutionStarted`. Call [`Execution::run_until_parked`] or
    /// [`Execution::run_until_finished`] to make progress.
    pub fn start(
        def: Arc<Definition>,
        input: Value,
        opts: StartOptions,
        rt: &Runtime,
    ) -> Result<Execution, StartError> {
        // The text `ExecutionStarted` and the first `*StateEntered` record is the size AWS
        // counts: written once, for all three.
        let text = compact(&input);
        if text.len() > MAX_PAYLOAD_BYTES {
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
        let deadline = execution_deadline(&def, opts.express, now);
        let input = Arc::new(input);
        let st = ExecutionState {
            definition: def.shared_source(),
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
            variables: Variables::default(),
            express: opts.express,
        };
        let mut ex = Self::from_parts(def, st);
        let details = EventDetails {
            execution_started_event_details: Some(ExecutionStartedEventDetails {
                input: text.clone(),
                input_details: DataDetails::default(),
                role_arn: ex.st.identity.role_arn.clone(),
            }),
            ..EventDetails::default()
        };
        ex.push_event_at(now, None, EventType::ExecutionStarted, details);
        let start_at = ex.def.root().start_at.clone();
        let fid = ex.spawn_frame_shared(0, None, start_at, input, ROOT_SCOPE);
        ex.carried_text = Some((fid, text));
        Ok(ex)
    }

    fn from_parts(def: Arc<Definition>, st: ExecutionState) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let resumed_events = st.history.len() as u64;
        Self {
            resumed_events,
            def,
            st,
            inflight: JoinSet::new(),
            inflight_ids: HashMap::new(),
            ready: VecDeque::new(),
            tx: Arc::new(tx),
            rx,
            carried_text: None,
            context_cache: None,
            context_spare: None,
            step_time: super::StepTime::Off,
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

    /// `StopExecution`: aborts a running execution (a no-op otherwise).
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>, rt: &Runtime) {
        if !self.running() {
            return;
        }
        self.capture_redrive_point();
        let now = self.now(rt);
        self.push_event_at(
            now,
            None,
            EventType::ExecutionAborted,
            EventDetails {
                execution_aborted_event_details: Some(Box::new(ErrorEventDetails {
                    error: error.clone(),
                    cause: cause.clone(),
                })),
                ..EventDetails::default()
            },
        );
        self.finish(ExecutionStatus::Aborted, None, error, cause, now);
    }

    /// `RedriveExecution`: restarts a FAILED, TIMED_OUT or ABORTED execution at the top-level
    /// state that did not complete. A Parallel or Map state keeps the results of the branches
    /// or iterations that succeeded and runs the others again, each from where it stopped.
    pub fn redrive(&mut self, rt: &Runtime) -> Result<(), StartError> {
        if self.st.express {
            return Err(StartError::NotRedrivable(
                "This API action is not supported by EXPRESS state machines.".into(),
            ));
        }
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
        let now = self.now(rt);
        self.st.status = ExecutionStatus::Running;
        self.st.redrive_count += 1;
        self.st.stop_time = None;
        self.st.error = None;
        self.st.cause = None;
        self.st.frames.clear();
        self.st.runnable.clear();
        self.st.deadline = execution_deadline(&self.def, self.st.express, now);
        let details = EventDetails {
            execution_redriven_event_details: Some(ExecutionRedrivenEventDetails {
                redrive_count: self.st.redrive_count,
            }),
            ..EventDetails::default()
        };
        self.push_event_at(now, None, EventType::ExecutionRedriven, details);
        let fid = self.spawn_frame(0, None, point.state, point.input, ROOT_SCOPE);
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.resume = point.children;
        }
        Ok(())
    }

    /// Moves to a terminal status: no frame runs on, every pending task token expires.
    pub(super) fn finish(
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
        self.ready.clear();
    }

    pub(super) fn fail_execution(&mut self, err: StatesError, now: DateTime<Utc>) {
        if !self.running() {
            return;
        }
        let details = EventDetails {
            execution_failed_event_details: Some(Box::new(ErrorEventDetails {
                error: non_empty(Some(err.error.clone())),
                cause: non_empty(err.cause.clone()),
            })),
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
}

/// The longest an `EXPRESS` execution runs (AWS Step Functions developer guide, "Choosing
/// workflow type in Step Functions": Express workflows run for up to five minutes).
pub const EXPRESS_MAX_SECONDS: u64 = 300;

/// When an execution started at `now` times out: its `TimeoutSeconds`, and for an Express
/// execution five minutes at most.
fn execution_deadline(
    def: &Definition,
    express: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let limit = match (def.timeout_seconds, express) {
        (Some(t), true) => Some(t.min(EXPRESS_MAX_SECONDS)),
        (None, true) => Some(EXPRESS_MAX_SECONDS),
        (t, false) => t,
    };
    limit.and_then(|t| add_secs(now, t))
}
