//! Frames, the program counters: spawning one, moving it to its next state, and what happens
//! when it reaches its end (report to the parent Parallel/Map, or finish the execution).
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::state::{ExecutionStatus, Frame, FrameId, Phase};
use super::{Execution, Runtime};
use crate::dataflow::ScopeId;
use crate::definition::State;
use crate::error::StatesError;
use crate::history::{DataDetails, EventDetails, EventType, OutputEventDetails};
use crate::json_text::compact;

impl Execution {
    /// A new frame at `state` of machine `machine`, runnable at once, whose states use the
    /// variables of `scope`. `parent` is the Parallel/Map frame and the branch or item index it
    /// runs for.
    pub(super) fn spawn_frame(
        &mut self,
        machine: usize,
        parent: Option<(FrameId, usize)>,
        state: String,
        input: Value,
        scope: ScopeId,
    ) -> FrameId {
        self.spawn_frame_shared(machine, parent, state, Arc::new(input), scope)
    }

    /// [`Execution::spawn_frame`] with an input already shared (the execution input).
    pub(super) fn spawn_frame_shared(
        &mut self,
        machine: usize,
        parent: Option<(FrameId, usize)>,
        state: String,
        input: Arc<Value>,
        scope: ScopeId,
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
                scope,
                failed_children: None,
                resume: None,
            },
        );
        self.st.runnable.push_back(id);
        id
    }

    /// Moves the frame to state `next` with `input`.
    pub(super) fn goto(&mut self, fid: FrameId, next: String, input: Value) {
        self.goto_shared(fid, next, Arc::new(input));
    }

    /// [`Execution::goto`] with an input already shared (a state that passes its own input
    /// on).
    pub(super) fn goto_shared(&mut self, fid: FrameId, next: String, input: Arc<Value>) {
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.state = next;
            f.input = input;
            f.phase = Phase::Enter;
            self.st.runnable.push_back(fid);
        }
    }

    /// Follows the state's `Next`, or ends the frame with `output`.
    pub(super) fn transition(&mut self, fid: FrameId, state: &State, output: Value, rt: &Runtime) {
        match (&state.next, state.end) {
            (Some(n), false) => self.goto(fid, n.clone(), output),
            _ => self.frame_done(fid, Ok(output), rt),
        }
    }

    /// A frame ran to its end (or failed): report to the parent, or finish the execution.
    pub(super) fn frame_done(
        &mut self,
        fid: FrameId,
        result: Result<Value, StatesError>,
        rt: &Runtime,
    ) {
        let Some(f) = self.frame(fid) else {
            return;
        };
        let parent = f.parent;
        let now = self.now(rt);
        match parent {
            None => match result {
                Ok(out) => {
                    if !self.running() {
                        return;
                    }
                    // The frame's last `*StateExited` wrote this very output's text.
                    let output = match self.carried_text.take() {
                        Some((f, text)) if f == fid => text,
                        _ => compact(&out),
                    };
                    debug_assert_eq!(output, compact(&out));
                    let d = EventDetails {
                        execution_succeeded_event_details: Some(OutputEventDetails {
                            output,
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
                if result.is_err() {
                    // Where the branch or iteration stopped, for a redrive of its parent.
                    let point = self.point_of(fid);
                    if let (
                        Some(point),
                        Some(Frame {
                            phase: Phase::Children(c),
                            ..
                        }),
                    ) = (point, self.st.frames.get_mut(&pid))
                    {
                        c.stopped.insert(slot, point);
                    }
                }
                let last = self.frame(fid).map_or(0, |f| f.last_event_id);
                if let Some(f) = self.st.frames.remove(&fid) {
                    // A branch's or iteration's variables end with it.
                    self.st.variables.close(f.scope);
                }
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
}
