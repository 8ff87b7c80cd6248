//! Entering a state, the states that finish at once (Pass, Choice, Wait, Succeed, Fail), and
//! leaving a Task, Parallel or Map state with its result.
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;

use super::events::{entered_event, exited_event};
use super::state::{FrameId, Phase};
use super::{Execution, Runtime};
use crate::choice;
use crate::clock::add_secs;
use crate::dataflow::{Env, FlowError, NumberRule, Template, placeholder_input, select_required};
use crate::definition::{ChoiceBranch, Condition, Kind, State, WaitSpec};
use crate::error::{self, StatesError};
use crate::history::{EventDetails, EventType};
use crate::json_text::compact;

/// A state's output and the variables it assigns, computed together (both see the variables
/// as they were when the state was entered) and applied together when it exits.
pub(super) struct Exit {
    pub output: Value,
    /// The output's JSON text, when the data flow wrote it already.
    pub text: Option<String>,
    pub assigned: Option<Vec<(String, Value)>>,
}

impl Execution {
    /// Records `*StateEntered`, then runs the state (or starts the work of a Task, Parallel
    /// or Map state).
    pub(super) fn enter(&mut self, fid: FrameId, rt: &Runtime) {
        let Some(cur) = self.current(fid) else {
            let Some(name) = self.frame(fid).map(|f| f.state.clone()) else {
                return;
            };
            let err = StatesError::new(
                error::RUNTIME,
                format!("The state '{name}' does not exist in the state machine."),
            );
            self.frame_done(fid, Err(err), rt);
            return;
        };
        let state = cur.state();
        // The frame's state, found by this very name.
        let name = &state.name;
        let now = self.now(rt);
        let input = self.frame_input(fid);
        let text = self.input_text(fid, &input);
        let id = self.push(
            rt,
            fid,
            entered_event(&state.kind),
            EventDetails::state_entered(name, text),
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
            Kind::Pass { result } => self.run_pass(fid, state, result.as_ref(), input, rt),
            Kind::Choice { choices, default } => {
                self.run_choice(fid, state, choices, default.as_deref(), &input, rt)
            }
            Kind::Wait(w) => self.run_wait(fid, state, w, &input, rt),
            Kind::Succeed => self.run_succeed(fid, state, input, rt),
            Kind::Fail { error, cause } => {
                self.run_fail(fid, error.as_ref(), cause.as_ref(), &input, rt)
            }
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
                self.attempt(fid, rt);
                Ok(())
            }
        };
        if let Err(e) = result {
            let err = self.flow_error(fid, name, e, rt);
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
            let err = self.flow_error(fid, &state.name, e, rt);
            self.state_failed(fid, err, rt);
        }
    }

    /// Leaves a Task, Parallel or Map state with its result: `Assign` (JSONPath reads `$` from
    /// the raw result), the result half of the data flow, the exit event and the transition.
    pub(super) fn exit_with_result(
        &mut self,
        fid: FrameId,
        state: &State,
        result: Value,
        rt: &Runtime,
    ) {
        let mut input = self.input_for_output(fid, state);
        let ctx = self.context(fid, None, None);
        let exit = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(&input, &ctx, &vars);
            let assigned = state
                .assign
                .as_ref()
                .map(|a| a.eval(&result, &env.with_result(&result)))
                .transpose();
            // The result moves into the output (JSONata binds it as `$states.result` there).
            assigned.and_then(|assigned| {
                let text = self.entered_text_ref(fid, &state.name);
                let out = state
                    .flow
                    .output(&state.name, &mut input, text, &ctx, &vars, result)?;
                Ok(Exit {
                    output: out.value,
                    text: out.text,
                    assigned,
                })
            })
        };
        let done = match exit {
            Ok(exit) => self.leave(fid, state, exited_event(&state.kind), exit, rt),
            Err(e) => {
                self.restore_input(fid, input);
                Err(e)
            }
        };
        if let Err(e) = done {
            let err = self.flow_error(fid, &state.name, e, rt);
            self.state_failed(fid, err, rt);
        }
    }

    /// The frame's raw input, for a state about to compute its output. Without `Assign`,
    /// nothing can fail once the output exists, so the frame gives its input up and the
    /// output can move it rather than copy it (ResultPath); on a failure before that, the
    /// caller puts it back ([`Execution::restore_input`]). With `Assign`, committing the
    /// variables can still fail, and the failed state keeps its input as it was.
    fn input_for_output(&mut self, fid: FrameId, state: &State) -> Arc<Value> {
        if state.assign.is_some() {
            return self.frame_input(fid);
        }
        match self.st.frames.get_mut(&fid) {
            Some(f) => std::mem::replace(&mut f.input, placeholder_input()),
            None => placeholder_input(),
        }
    }

    /// Gives the frame back the raw input [`Execution::input_for_output`] took.
    fn restore_input(&mut self, fid: FrameId, input: Arc<Value>) {
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.input = input;
        }
    }

    /// Applies a state's assignments, records its exit and follows its `Next` (or ends the
    /// frame).
    pub(super) fn leave(
        &mut self,
        fid: FrameId,
        state: &State,
        exited: EventType,
        exit: Exit,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let assigned = self.commit_assignments(fid, exit.assigned)?;
        let text = exit.text.unwrap_or_else(|| compact(&exit.output));
        self.push_exited(rt, fid, exited, &state.name, text, assigned);
        self.transition(fid, state, exit.output, rt);
        Ok(())
    }

    fn run_pass(
        &mut self,
        fid: FrameId,
        state: &State,
        result: Option<&Value>,
        mut input: Arc<Value>,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let (res, assigned) = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(&input, &ctx, &vars);
            let eff = state.flow.effective_input(&env)?;
            let res = match result {
                Some(r) => r.clone(),
                None => eff,
            };
            let assigned = state
                .assign
                .as_ref()
                .map(|a| a.eval(&res, &env))
                .transpose()?;
            (res, assigned)
        };
        // The frame's own hold on the input goes, so the output can move it.
        drop(self.input_for_output(fid, state));
        let out = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let text = self.entered_text_ref(fid, &state.name);
            state
                .flow
                .output(&state.name, &mut input, text, &ctx, &vars, res)
        };
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                self.restore_input(fid, input);
                return Err(e);
            }
        };
        let exit = Exit {
            output: out.value,
            text: out.text,
            assigned,
        };
        self.leave(fid, state, EventType::PassStateExited, exit, rt)
    }

    fn run_choice(
        &mut self,
        fid: FrameId,
        state: &State,
        choices: &[ChoiceBranch],
        default: Option<&str>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let exit = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(input, &ctx, &vars);
            let selected = state.flow.selected_input(&env)?;
            let mut matched = None;
            for branch in choices {
                if choice_holds(&branch.condition, &selected, &env)? {
                    matched = Some(branch);
                    break;
                }
            }
            // A matched rule's own Assign and Output apply; the state's apply with Default.
            let (next, assign, output) = match matched {
                Some(b) => (b.next.as_str(), b.assign.as_ref(), b.output.as_ref()),
                None => match default {
                    Some(d) => (d, state.assign.as_ref(), None),
                    None => {
                        return Err(FlowError::Named(StatesError::new(
                            error::NO_CHOICE_MATCHED,
                            "No Matches!",
                        )));
                    }
                },
            };
            let assigned = assign.map(|a| a.eval(&selected, &env)).transpose()?;
            // `None`: the output is the input itself, passed on without a copy.
            let output = match (output, matched) {
                (Some(o), _) => Some(o.eval(input, &env)?),
                // A matched JSONata rule without an Output passes the input on.
                (None, Some(_)) if state.flow.is_jsonata() => None,
                (None, _) if state.flow.passes_input_through() => None,
                (None, _) => Some(state.flow.output_of_input(&env, &selected)?),
            };
            (next.to_owned(), output, assigned)
        };
        let (next, output, assigned) = exit;
        // Passed on, the input leaves with the text entering recorded.
        let (output, text) = match output {
            Some(v) => (Arc::new(v), None),
            None => (self.frame_input(fid), self.entered_text(fid, &state.name)),
        };
        let assigned = self.commit_assignments(fid, assigned)?;
        debug_assert!(text.as_deref().is_none_or(|t| t == compact(&output)));
        let text = text.unwrap_or_else(|| compact(&output));
        self.push_exited(
            rt,
            fid,
            EventType::ChoiceStateExited,
            &state.name,
            text,
            assigned,
        );
        self.goto_shared(fid, next, output);
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
        let now = self.now(rt);
        let (until, exit) = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(input, &ctx, &vars);
            let eff = state.flow.effective_input(&env)?;
            let until = match w {
                WaitSpec::Seconds(s) => {
                    let secs = s.resolve(&WAIT_SECONDS, &eff, &env)?;
                    add_secs(now, secs)
                }
                WaitSpec::Timestamp(t) => Some(t.with_timezone(&Utc)),
                WaitSpec::TimestampPath(p) => {
                    let v = select_required(p, &env.roots(&eff))?;
                    match v.as_str().and_then(choice::parse_timestamp) {
                        Some(t) => Some(t.with_timezone(&Utc)),
                        None => {
                            return Err(FlowError::Runtime(format!(
                                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                                p.as_str(),
                                bare(&v)
                            )));
                        }
                    }
                }
                WaitSpec::TimestampExpr(j) => {
                    let v = j
                        .eval(&env.states())
                        .map_err(|f| FlowError::Query(f.cause(j.text(), "Timestamp")))?;
                    match v.as_str().and_then(choice::parse_timestamp) {
                        Some(t) => Some(t.with_timezone(&Utc)),
                        None => {
                            return Err(FlowError::Query(format!(
                                "The JSONata expression '{}' specified for the field 'Timestamp' returned an unexpected result type. Expected a timestamp string in ISO-8601 extended offset date-time format but got '{}'.",
                                j.text(),
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
            let assigned = state
                .assign
                .as_ref()
                .map(|a| a.eval(&eff, &env))
                .transpose()?;
            let output = state.flow.output_of_input(&env, &eff)?;
            (
                until,
                Exit {
                    output,
                    text: None,
                    assigned,
                },
            )
        };
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Waiting {
                until,
                output: exit.output,
                assigned: exit.assigned.unwrap_or_default(),
            };
        }
        Ok(())
    }

    fn run_succeed(
        &mut self,
        fid: FrameId,
        state: &State,
        input: Arc<Value>,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let (out, text) = if state.flow.passes_input_through() {
            // The output is the input: moved out of the frame, its text the one entering
            // recorded.
            let text = self.entered_text(fid, &state.name);
            drop(self.input_for_output(fid, state));
            (Arc::unwrap_or_clone(input), text)
        } else {
            let ctx = self.context(fid, None, None);
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(&input, &ctx, &vars);
            let eff = state.flow.effective_input(&env)?;
            (state.flow.output_of_input(&env, &eff)?, None)
        };
        debug_assert!(text.as_deref().is_none_or(|t| t == compact(&out)));
        let text = text.unwrap_or_else(|| compact(&out));
        self.push_exited(
            rt,
            fid,
            EventType::SucceedStateExited,
            &state.name,
            text,
            None,
        );
        self.frame_done(fid, Ok(out), rt);
        Ok(())
    }

    fn run_fail(
        &mut self,
        fid: FrameId,
        error: Option<&Template>,
        cause: Option<&Template>,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let err = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(input, &ctx, &vars);
            StatesError {
                error: fail_field(error, "ErrorPath", &env)?.unwrap_or_default(),
                cause: fail_field(cause, "CausePath", &env)?,
            }
        };
        self.frame_done(fid, Err(err), rt);
        Ok(())
    }
}

/// Whether a Choice rule holds: JSONPath rules compare values selected from the state's input
/// after InputPath (`selected`); a JSONata `Condition` must evaluate to a boolean.
fn choice_holds(condition: &Condition, selected: &Value, env: &Env<'_>) -> Result<bool, FlowError> {
    match condition {
        Condition::Rule(rule) => rule.eval(&env.roots(selected)).map_err(FlowError::Runtime),
        Condition::Jsonata(t) => match t.eval(env.input, env)? {
            Value::Bool(b) => Ok(b),
            other => {
                let text = match t {
                    Template::Dynamic {
                        expr: crate::dataflow::Expr::Jsonata(j),
                        ..
                    } => j.text().to_owned(),
                    _ => compact(&other),
                };
                Err(FlowError::Query(format!(
                    "The JSONata expression '{text}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but got '{}'.",
                    compact(&other)
                )))
            }
        },
    }
}

/// A value as AWS prints it inside a message: a string bare, anything else as JSON text.
pub(super) fn bare(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// `SecondsPath` / JSONata `Seconds`: a non-negative integer number of seconds.
static WAIT_SECONDS: NumberRule<u64> = NumberRule {
    field: "Seconds",
    read: Value::as_u64,
    reject: |_, v, path| match v {
        Value::Number(n) if n.as_i64().is_some_and(|x| x < 0) => format!(
            "The SecondsPath parameter references a negative value: {path} == {}",
            bare(v)
        ),
        _ => format!(
            "The SecondsPath parameter cannot be parsed as a long value: {path} == {}",
            bare(v)
        ),
    },
    prefixed: true,
};

/// A Fail state's Error or Cause: a literal, or a path, intrinsic or expression that must give
/// a string.
fn fail_field(
    t: Option<&Template>,
    field: &str,
    env: &Env<'_>,
) -> Result<Option<String>, FlowError> {
    let Some(t) = t else {
        return Ok(None);
    };
    let v = t.eval(env.input, env)?;
    match v {
        Value::String(s) => Ok(Some(s)),
        other => match t {
            Template::Dynamic {
                expr: crate::dataflow::Expr::Jsonata(j),
                field,
            } => Err(FlowError::Query(format!(
                "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected 'string', but got '{}'.",
                j.text(),
                compact(&other)
            ))),
            _ => Err(FlowError::Runtime(format!(
                "The {field} field must resolve to a string, got {}",
                compact(&other)
            ))),
        },
    }
}
