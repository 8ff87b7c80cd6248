//! Parallel and Map: child frames for branches and iterations, MaxConcurrency, tolerated
//! failures, and collecting the results in order.
use std::collections::{BTreeSet, VecDeque};

use serde_json::{Map, Value};

use super::state::{ChildrenPhase, Frame, FrameId, Phase, RedrivePoint};
use super::{Execution, Runtime};
use crate::dataflow::{
    Env, FlowError, NumberRule, OptPath, resolve_optional, select_required, within_limit,
};
use crate::definition::{Items, Kind, MapSpec, State};
use crate::error::{self, StatesError};
use crate::history::{EventDetails, EventType, MapStateStartedEventDetails};
use crate::json_text::compact;

impl Execution {
    pub(super) fn attempt_parallel(
        &mut self,
        fid: FrameId,
        state: &State,
        branches: &[usize],
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        let ctx = self.context(fid, None, None);
        let eff = {
            let vars = self.st.variables.view(self.scope_of(fid));
            state.flow.effective_input(&Env::new(input, &ctx, &vars))?
        };
        within_limit(&eff, &state.name)?;
        if let Some(saved) = self.take_resume(fid) {
            self.resume_parallel(fid, branches, *saved, &eff, rt);
            return Ok(());
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
                stopped: Default::default(),
            });
        }
        let outer = self.scope_of(fid);
        for (i, &b) in branches.iter().enumerate() {
            let start = self.def.machines[b].start_at.clone();
            let scope = self.st.variables.open(Some(outer));
            self.spawn_frame(b, Some((fid, i)), start, eff.clone(), scope);
        }
        Ok(())
    }

    pub(super) fn attempt_map(
        &mut self,
        fid: FrameId,
        state: &State,
        mp: &MapSpec,
        input: &Value,
        rt: &Runtime,
    ) -> Result<(), FlowError> {
        if mp.has_item_reader {
            return Err(FlowError::Named(StatesError::new(
                error::ITEM_READER_FAILED,
                "ItemReader is not supported by the embedded engine: it reads from S3.",
            )));
        }
        if let Some(saved) = self.take_resume(fid) {
            self.resume_map(fid, *saved, rt);
            self.start_map_iterations(fid, state, mp, rt);
            return Ok(());
        }
        let ctx = self.context(fid, None, None);
        let (inputs, max_concurrency, tolerated_count, tolerated_percentage) = {
            let vars = self.st.variables.view(self.scope_of(fid));
            let env = Env::new(input, &ctx, &vars);
            let eff = state.flow.effective_input(&env)?;
            let items = match &mp.items {
                Items::Path(OptPath::Path(p)) => select_required(p, &env.roots(&eff))?,
                Items::Path(_) => eff.clone(),
                Items::Jsonata(Some(t)) => t.eval(input, &env)?,
                Items::Jsonata(None) => input.clone(),
            };
            let Value::Array(items) = items else {
                return Err(match &mp.items {
                    Items::Jsonata(_) => FlowError::Query(format!(
                        "The Items field must evaluate to a JSON array, got {}",
                        compact(&items)
                    )),
                    Items::Path(p) => {
                        let path = match p {
                            OptPath::Path(p) => p.as_str(),
                            _ => "$",
                        };
                        FlowError::Runtime(format!(
                            "Invalid path '{path}' : The ItemsPath must reference a JSON array, got {}",
                            compact(&items)
                        ))
                    }
                });
            };
            let max_concurrency = mp.max_concurrency.resolve(&MAX_CONCURRENCY, &eff, &env)?;
            let tolerated_percentage =
                resolve_optional(&mp.tolerated_percentage, &TOLERATED_PERCENTAGE, &eff, &env)?;
            let tolerated_count =
                resolve_optional(&mp.tolerated_count, &TOLERATED_COUNT, &eff, &env)?;
            let mut inputs = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let v = match &mp.item_selector {
                    Some(sel) => {
                        let ictx = self.build_context(fid, None, Some((i, item)));
                        let ienv = Env {
                            context: &ictx,
                            ..env
                        };
                        sel.eval(&eff, &ienv)?
                    }
                    None => item.clone(),
                };
                inputs.push(v);
            }
            if let Some(size) = mp.max_items_per_batch {
                let size = usize::try_from(size).unwrap_or(usize::MAX).max(1);
                let batch_input = match &mp.batch_input {
                    Some(b) => Some(b.eval(&eff, &env)?),
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
            (
                inputs,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            )
        };
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
                stopped: Default::default(),
            });
        }
        if n == 0 {
            self.children_finished(fid, rt);
        } else {
            self.start_map_iterations(fid, state, mp, rt);
        }
        Ok(())
    }

    /// Starts pending iterations up to MaxConcurrency, each in a variable scope of its own
    /// (inside the Map state's scope, unless the Map is distributed).
    fn start_map_iterations(&mut self, fid: FrameId, state: &State, mp: &MapSpec, rt: &Runtime) {
        let outer = (!mp.distributed).then(|| self.scope_of(fid));
        let start_at = self.def.machines[mp.processor].start_at.clone();
        loop {
            let Some(c) = self.children_mut(fid) else {
                return;
            };
            if c.max_concurrency != 0 && c.running.len() >= c.max_concurrency {
                return;
            }
            let Some(i) = c.pending.pop_front() else {
                return;
            };
            c.running.insert(i);
            // A redriven iteration resumes where it stopped.
            let point = c.stopped.remove(&i).unwrap_or_else(|| RedrivePoint {
                state: start_at.clone(),
                input: c.inputs.get(i).cloned().unwrap_or(Value::Null),
                children: None,
            });
            self.push(
                rt,
                fid,
                EventType::MapIterationStarted,
                EventDetails::map_iteration(EventType::MapIterationStarted, &state.name, i),
            );
            self.spawn_resumed(mp.processor, fid, i, point, outer);
        }
    }

    /// Branch or iteration `slot` of the Parallel/Map frame `pid` ended.
    pub(super) fn child_done(
        &mut self,
        pid: FrameId,
        slot: usize,
        result: Result<Value, StatesError>,
        rt: &Runtime,
    ) {
        if !self.running() {
            return;
        }
        let Some(cur) = self.current(pid) else {
            return;
        };
        let state = cur.state();
        let Some(c) = self.children_mut(pid) else {
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
            self.push(
                rt,
                pid,
                ty,
                EventDetails::map_iteration(ty, &state.name, slot),
            );
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
            self.keep_children_for_redrive(pid);
            self.abort_children(pid, rt);
            self.push(rt, pid, ty, EventDetails::none());
            self.state_failed(pid, err, rt);
            return;
        }
        let Some(c) = self.children(pid) else {
            return;
        };
        if c.running.is_empty() && c.pending.is_empty() {
            self.children_finished(pid, rt);
        } else if let Kind::Map(mp) = &state.kind {
            self.start_map_iterations(pid, state, mp, rt);
        }
    }

    /// Every branch or iteration succeeded (or failed within tolerance): the results, in
    /// order, are the state's result.
    pub(super) fn children_finished(&mut self, pid: FrameId, rt: &Runtime) {
        let Some(cur) = self.current(pid) else {
            return;
        };
        let state = cur.state();
        let Some(c) = self.children(pid) else {
            return;
        };
        let results = Value::Array(
            c.results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect(),
        );
        let ty = match &state.kind {
            Kind::Parallel { .. } => EventType::ParallelStateSucceeded,
            Kind::Map(_) => EventType::MapStateSucceeded,
            _ => return,
        };
        self.push(rt, pid, ty, EventDetails::none());
        self.exit_with_result(pid, state, results, rt);
    }

    /// Removes every descendant frame of `pid` (its branches or iterations, recursively).
    pub(super) fn abort_children(&mut self, pid: FrameId, rt: &Runtime) {
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
            if let Some(fr) = self.st.frames.remove(f) {
                self.st.variables.close(fr.scope);
                if let Phase::Task(t) = &fr.phase
                    && let Some(tok) = &t.token
                {
                    self.retire_token(tok);
                }
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

    fn children(&self, pid: FrameId) -> Option<&ChildrenPhase> {
        match self.st.frames.get(&pid) {
            Some(Frame {
                phase: Phase::Children(c),
                ..
            }) => Some(c),
            _ => None,
        }
    }

    fn children_mut(&mut self, pid: FrameId) -> Option<&mut ChildrenPhase> {
        match self.st.frames.get_mut(&pid) {
            Some(Frame {
                phase: Phase::Children(c),
                ..
            }) => Some(c),
            _ => None,
        }
    }
}

/// The value a Map `...Path` field selected, as AWS quotes it: a string as it is, anything
/// else as JSON text.
fn quoted(v: &Value) -> String {
    super::states::bare(v)
}

/// An integer given as a number or as a string of digits (AWS reads `"3"` as 3).
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `MaxConcurrencyPath`: a non-negative integer (a fractional number is truncated).
static MAX_CONCURRENCY: NumberRule<u64> = NumberRule {
    field: "MaxConcurrency",
    read: |v| match v {
        Value::Number(n) => n.as_f64().filter(|x| *x >= 0.0).map(|x| x.trunc() as u64),
        other => integer(other).and_then(|i| u64::try_from(i).ok()),
    },
    reject: |_, v, path| match v
        .as_f64()
        .map(f64::trunc)
        .or_else(|| integer(v).map(|i| i as f64))
    {
        Some(n) => format!(
            "Expected non-negative integer for MaxConcurrency, got '{}' instead.",
            n as i64
        ),
        None => format!(
            "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {path}",
            quoted(v)
        ),
    },
    prefixed: false,
};

/// `ToleratedFailureCountPath`: a non-negative integer.
static TOLERATED_COUNT: NumberRule<f64> = NumberRule {
    field: "ToleratedFailureCount",
    read: |v| integer(v).filter(|i| *i >= 0).map(|i| i as f64),
    reject: |_, v, path| match integer(v) {
        Some(_) => "ToleratedFailureCount cannot be negative.".to_owned(),
        None => format!(
            "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: {path}",
            quoted(v)
        ),
    },
    prefixed: false,
};

/// `ToleratedFailurePercentagePath`: a number from 0 to 100.
static TOLERATED_PERCENTAGE: NumberRule<f64> = NumberRule {
    field: "ToleratedFailurePercentage",
    read: |v| percentage(v).filter(|p| (0.0..=100.0).contains(p)),
    reject: |_, v, path| match percentage(v) {
        Some(_) => "ToleratedFailurePercentage must be between 0 and 100.".to_owned(),
        None => format!(
            "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {path}",
            quoted(v)
        ),
    },
    prefixed: false,
};

fn percentage(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        other => integer(other).map(|i| i as f64),
    }
}
