//! Task states: one attempt is one dispatch through the [`TaskDispatcher`](crate::TaskDispatcher),
//! its result (or, for `.waitForTaskToken`, its submission and later callback), and the Task
//! history events in the form the resource takes.
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use super::state::{Frame, FrameId, Phase, TaskPhase};
use super::{Completion, Execution, Runtime, non_empty};
use crate::clock::add_secs;
use crate::dataflow::{Env, FlowError, MAX_PAYLOAD_BYTES, NumberRule, resolve_optional};
use crate::definition::{Kind, State, TaskSpec};
use crate::dispatch::{TaskFailure, TaskRequest};
use crate::error::StatesError;
use crate::history::TaskEvents;
use crate::json_text::compact;
use crate::resource::IntegrationPattern;

/// A dispatch in flight: the dispatcher's answer for the frame and attempt that started it.
type Dispatch = Pin<Box<dyn Future<Output = Completion> + Send>>;

impl Execution {
    pub(super) fn attempt_task(
        &mut self,
        fid: FrameId,
        state: &State,
        t: &TaskSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let pattern = t.resource.pattern();
        let token = (pattern == IntegrationPattern::WaitForTaskToken).then(|| rt.rng.task_token());
        let ctx = self.context(fid, token.as_deref(), None);
        let (eff, eff_text, timeout, heartbeat) = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(input, &ctx, &vars);
            let eff = state.flow.effective_input(&env)?;
            // The text the history records is the size AWS counts: written once, for both.
            let eff_text = compact(&eff);
            if eff_text.len() > MAX_PAYLOAD_BYTES {
                return Err(FlowError::Named(StatesError::data_limit(&state.name)));
            }
            // TimeoutSecondsPath / HeartbeatSecondsPath select from the state input (AWS: "a
            // reference path to a value in the state input"), not from the Parameters output.
            let timeout = resolve_optional(&t.timeout, &TIMEOUT_SECONDS, input, &env)?;
            let heartbeat = resolve_optional(&t.heartbeat, &HEARTBEAT_SECONDS, input, &env)?;
            (eff, eff_text, timeout, heartbeat)
        };
        let region = self.st.identity.region.clone();
        for (ty, d) in TaskEvents(&t.resource).scheduled(&region, eff_text, timeout, heartbeat) {
            self.push(rt, fid, ty, d);
        }
        if !self.running() {
            return Ok(());
        }
        let now = self.now(rt);
        let seq = self.st.next_seq;
        self.st.next_seq += 1;
        let attempt = self.frame(fid).map_or(0, |f| f.retry_total);
        let req = TaskRequest {
            execution_arn: self.st.identity.execution_arn.clone(),
            state_name: state.name.clone(),
            resource: t.resource.as_str().to_owned(),
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
        let dispatch: Dispatch = Box::pin(async move {
            Completion {
                frame: fid,
                seq,
                result: dispatcher.invoke(req).await,
            }
        });
        self.start_dispatch(fid, seq, dispatch);
        Ok(())
    }

    /// Runs a dispatch as a task of its own, unless it answers when first polled while no
    /// other dispatch is in flight: then its answer waits in `ready` and is taken up where
    /// the spawned task's would have been (`driver.rs`), without a task spawned, scheduled
    /// and joined for it. Only with nothing in flight: an answer ready at once is then also
    /// the one the spawned task would have given first (tasks run in the order they were
    /// spawned, and any dispatch after this one is spawned after it).
    fn start_dispatch(&mut self, fid: FrameId, seq: u64, mut dispatch: Dispatch) {
        if self.inflight.is_empty() {
            let mut cx = Context::from_waker(Waker::noop());
            let polled = catch_unwind(AssertUnwindSafe(|| dispatch.as_mut().poll(&mut cx)));
            // The handler ran: the events after it read the clock afresh.
            self.step_time.refresh();
            match polled {
                Ok(Poll::Ready(c)) => {
                    self.ready.push_back(c);
                    return;
                }
                // Polled again once spawned: a task's first poll, whatever the waker saw.
                Ok(Poll::Pending) => {}
                Err(panic) => {
                    // The handler panicked: failed the way a panic in its task fails it
                    // (a `JoinError` the driver turns into `States.TaskFailed`).
                    drop(dispatch);
                    let handle = self.inflight.spawn(async move { resume_unwind(panic) });
                    self.inflight_ids.insert(handle.id(), (fid, seq));
                    return;
                }
            }
        }
        let handle = self.inflight.spawn(dispatch);
        self.inflight_ids.insert(handle.id(), (fid, seq));
    }

    /// A dispatch returned. Results of an attempt that was since abandoned (timed out,
    /// retried, aborted) are ignored.
    pub(super) fn on_task_result(
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
        let token = tp.token.clone();
        match (result, token) {
            (Ok(v), Some(_)) => {
                let Some(cur) = self.current(fid) else {
                    return;
                };
                let Kind::Task(t) = &cur.state().kind else {
                    return;
                };
                let (ty, d) = TaskEvents(&t.resource).submitted(compact(&v));
                self.push(rt, fid, ty, d);
                let now = self.now(rt);
                if let Some(f) = self.st.frames.get_mut(&fid)
                    && let Phase::Task(tp) = &mut f.phase
                {
                    tp.submitted = true;
                    tp.heartbeat_at = tp.heartbeat_seconds.and_then(|h| add_secs(now, h));
                }
            }
            (Ok(v), None) => self.task_succeeded(fid, v, rt),
            (Err(f), token) => {
                let err = StatesError {
                    error: f.error,
                    cause: Some(f.cause),
                };
                if let Some(tok) = token {
                    self.retire_token(&tok);
                }
                self.task_failed(fid, err, false, rt);
            }
        }
    }

    /// The Task's result arrived (from the dispatcher or `SendTaskSuccess`).
    pub(super) fn task_succeeded(&mut self, fid: FrameId, result: Value, rt: &Runtime) {
        let Some(cur) = self.current(fid) else {
            return;
        };
        let state = cur.state();
        let Kind::Task(t) = &state.kind else {
            return;
        };
        // The text the history records is the size AWS counts: written once, for both.
        let text = compact(&result);
        if text.len() > MAX_PAYLOAD_BYTES {
            let err = StatesError::data_limit(&state.name);
            self.task_failed(fid, err, false, rt);
            return;
        }
        let (ty, d) = TaskEvents(&t.resource).succeeded(text);
        self.push(rt, fid, ty, d);
        self.exit_with_result(fid, state, result, rt);
    }

    /// The Task failed (or timed out): records `TaskFailed`/`TaskTimedOut`, then retries,
    /// catches or fails the state.
    pub(super) fn task_failed(
        &mut self,
        fid: FrameId,
        err: StatesError,
        timed_out: bool,
        rt: &Runtime,
    ) {
        if let Some(cur) = self.current(fid)
            && let Kind::Task(t) = &cur.state().kind
        {
            let error = non_empty(Some(err.error.clone()));
            let (ty, d) = TaskEvents(&t.resource).failed(error, err.cause.clone(), timed_out);
            self.push(rt, fid, ty, d);
        }
        self.state_failed(fid, err, rt);
    }
}

/// A `TimeoutSeconds`/`HeartbeatSeconds` value: a positive integer.
fn positive_seconds(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n >= 1)
}

/// AWS's refusal of a `TimeoutSecondsPath`/`HeartbeatSecondsPath` value.
fn not_positive_seconds(field: &str, v: &Value, path: &str) -> String {
    format!(
        "The {field}Path parameter must reference a positive integer: {path} == {}",
        super::states::bare(v)
    )
}

static TIMEOUT_SECONDS: NumberRule<u64> = NumberRule {
    field: "TimeoutSeconds",
    read: positive_seconds,
    reject: not_positive_seconds,
    prefixed: true,
};

static HEARTBEAT_SECONDS: NumberRule<u64> = NumberRule {
    field: "HeartbeatSeconds",
    read: positive_seconds,
    reject: not_positive_seconds,
    prefixed: true,
};
