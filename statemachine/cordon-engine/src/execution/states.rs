//! Entering a state, the states that finish at once (Pass, Choice, Wait, Succeed, Fail), and
//! leaving a Task, Parallel or Map state with its result.
use chrono::Utc;
use serde_json::Value;

use super::events::{entered_event, exited_event};
use super::state::{FrameId, Phase};
use super::{Execution, Runtime};
use crate::choice::{self, ChoiceRule};
use crate::clock::add_secs;
use crate::dataflow::{FlowError, eval_expression, select_required};
use crate::definition::{Expr, Kind, State, WaitSpec};
use crate::error::{self, StatesError};
use crate::history::{EventDetails, EventType};
use crate::json_text::compact;

impl Execution {
    /// Records `*StateEntered`, then runs the state (or starts the work of a Task, Parallel
    /// or Map state).
    pub(super) fn enter(&mut self, fid: FrameId, rt: &Runtime) {
        let Some(name) = self.frame(fid).map(|f| f.state.clone()) else {
            return;
        };
        let Some(cur) = self.current(fid) else {
            let err = StatesError::new(
                error::RUNTIME,
                format!("The state '{name}' does not exist in the state machine."),
            );
            self.frame_done(fid, Err(err), rt);
            return;
        };
        let state = cur.state();
        let now = rt.clock.now();
        let input = self.frame_input(fid);
        let id = self.push(
            rt,
            fid,
            entered_event(&state.kind),
            EventDetails::state_entered(&name, compact(&input)),
        );
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.entered_event_id = id;
            f.entered_time = now;
            f.retry_total = 0;
            f.retry_counts = match state.kind.error_handling() {
                Some(e) => vec![0; e.retry.len()],
                None => Vec::new(),
            };
        }
        if !self.running() {
            return;
        }
        let result = match &state.kind {
            Kind::Pass { result } => self.run_pass(fid, state, result, &input, rt),
            Kind::Choice { choices, default } => {
                self.run_choice(fid, state, choices, default.as_deref(), &input, rt)
            }
            Kind::Wait(w) => self.run_wait(fid, state, w, &input, rt),
            Kind::Succeed => self.run_succeed(fid, state, &input, rt),
            Kind::Fail { error, cause } => {
                self.run_fail(fid, error.as_ref(), cause.as_ref(), &input, rt)
            }
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
                self.attempt(fid, rt);
                Ok(())
            }
        };
        if let Err(e) = result {
            let err = self.flow_error(fid, &name, e);
            self.frame_done(fid, Err(err), rt);
        }
    }

    /// Starts (or, after a retry backoff, restarts) a Task, Parallel or Map state's work.
    pub(super) fn attempt(&mut self, fid: FrameId, rt: &Runtime) {
        let Some(cur) = self.current(fid) else {
            return;
        };
        let state = cur.state();
        let input = self.frame_input(fid);
        let r = match &state.kind {
            Kind::Task(t) => self.attempt_task(fid, state, t, &input, rt),
            Kind::Parallel { branches, .. } => {
                self.attempt_parallel(fid, state, branches, &input, rt)
            }
            Kind::Map(mp) => self.attempt_map(fid, state, mp, &input, rt),
            _ => Ok(()),
        };
        if let Err(e) = r {
            let err = self.flow_error(fid, &state.name, e);
            self.state_failed(fid, err, rt);
        }
    }

    /// Leaves a Task, Parallel or Map state with its result: the result half of the data
    /// flow, the exit event and the transition.
    pub(super) fn exit_with_result(
        &mut self,
        fid: FrameId,
        state: &State,
        result: Value,
        rt: &Runtime,
    ) {
        let input = self.frame_input(fid);
        let ctx = self.context(fid, None, None);
        match state.flow.output(&state.name, &input, result, &ctx) {
            Ok(out) => {
                self.push_exited(rt, fid, exited_event(&state.kind), &state.name, &out);
                self.transition(fid, state, out, rt);
            }
            Err(e) => {
                let err = self.flow_error(fid, &state.name, e);
                self.state_failed(fid, err, rt);
            }
        }
    }

    fn run_pass(
        &mut self,
        fid: FrameId,
        state: &State,
        result: &Option<Value>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = state.flow.effective_input(input, &ctx)?;
        let res = result.clone().unwrap_or(eff);
        let out = state.flow.output(&state.name, input, res, &ctx)?;
        self.push_exited(rt, fid, EventType::PassStateExited, &state.name, &out);
        self.transition(fid, state, out, rt);
        Ok(())
    }

    fn run_choice(
        &mut self,
        fid: FrameId,
        state: &State,
        choices: &[(ChoiceRule, String)],
        default: Option<&str>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = state.flow.effective_input(input, &ctx)?;
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
        let out = state.flow.output_path(&eff, &ctx)?;
        self.push_exited(rt, fid, EventType::ChoiceStateExited, &state.name, &out);
        self.goto(fid, next, out);
        Ok(())
    }

    /// Computes when the wait ends and parks the frame until then (see `timers.rs`).
    fn run_wait(
        &mut self,
        fid: FrameId,
        state: &State,
        w: &WaitSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = state.flow.effective_input(input, &ctx)?;
        let now = rt.clock.now();
        let until = match w {
            WaitSpec::Seconds(s) => add_secs(now, *s),
            WaitSpec::Timestamp(t) => Some(t.with_timezone(&Utc)),
            WaitSpec::SecondsPath(p) => {
                let v = select_required(p, &eff, &ctx)?;
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
                let v = select_required(p, &eff, &ctx)?;
                match v.as_str().and_then(choice::parse_timestamp) {
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
        let output = state.flow.output_path(&eff, &ctx)?;
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Waiting { until, output };
        }
        Ok(())
    }

    fn run_succeed(
        &mut self,
        fid: FrameId,
        state: &State,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = state.flow.effective_input(input, &ctx)?;
        let out = state.flow.output_path(&eff, &ctx)?;
        self.push_exited(rt, fid, EventType::SucceedStateExited, &state.name, &out);
        self.frame_done(fid, Ok(out), rt);
        Ok(())
    }

    fn run_fail(
        &mut self,
        fid: FrameId,
        error: Option<&Expr>,
        cause: Option<&Expr>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let e = fail_field(error, "ErrorPath", input, &ctx);
        let c = fail_field(cause, "CausePath", input, &ctx);
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
}

/// A Fail state's Error or Cause: a literal, or a path or intrinsic that must give a string.
fn fail_field(
    e: Option<&Expr>,
    field: &str,
    input: &Value,
    ctx: &Value,
) -> Result<Option<String>, FlowError> {
    let v = match e {
        None => return Ok(None),
        Some(Expr::Literal(s)) => return Ok(Some(s.clone())),
        Some(Expr::Intrinsic(x)) | Some(Expr::Path(x)) => eval_expression(x, field, input, ctx)?,
    };
    match v {
        Value::String(s) => Ok(Some(s)),
        other => Err(FlowError::Runtime(format!(
            "The {field} field must resolve to a string, got {}",
            compact(&other)
        ))),
    }
}
