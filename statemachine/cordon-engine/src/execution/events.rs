//! Recording history: event ids, previous-event links per frame, and the history limit.
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::state::FrameId;
use super::{Execution, Runtime};
use crate::definition::Kind;
use crate::error::{self, StatesError};
use crate::history::{EventDetails, EventType, HistoryEvent, MAX_HISTORY_EVENTS};
use crate::json_text::compact;

/// Express executions have no history event limit on AWS (their history goes to CloudWatch
/// Logs); this bound only keeps a runaway loop on a virtual clock, where their five minutes
/// never pass, from running out of memory.
const EXPRESS_HISTORY_GUARD: usize = 1_000_000;

impl Execution {
    /// Appends an event at `at`, linked to the frame's previous event. The event that would
    /// reach [`MAX_HISTORY_EVENTS`] fails the execution instead (terminal events always fit).
    pub(super) fn push_event_at(
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
        let limit = if self.st.express {
            EXPRESS_HISTORY_GUARD
        } else {
            MAX_HISTORY_EVENTS
        };
        if !terminal && self.st.history.len() + 1 >= limit {
            if self.running() {
                // AWS: "Execution history event limit exceeded" is not redrivable.
                self.st.redrive_point = None;
                let cause = format!(
                    "The execution reached the maximum number of history events ({limit})."
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
            details: Box::new(details),
        });
        if let Some(f) = frame.and_then(|f| self.st.frames.get_mut(&f)) {
            f.last_event_id = id;
        }
        id
    }

    /// Appends `*StateExited` of state `name` with its output and the variables it assigned.
    /// `text` is the output's JSON text. It is kept for the frame's next `*StateEntered`: every caller moves
    /// the frame on with this very output as the next state's input (or, at the frame's end,
    /// as its result), and writing the same JSON text twice is most of what a transition
    /// costs.
    pub(super) fn push_exited(
        &mut self,
        rt: &Runtime,
        frame: FrameId,
        t: EventType,
        name: &str,
        text: String,
        assigned: Option<serde_json::Map<String, Value>>,
    ) {
        self.push(
            rt,
            frame,
            t,
            EventDetails::state_exited(name, text.clone(), assigned),
        );
        self.carried_text = Some((frame, text));
    }

    /// The input text the `*StateEntered` of the frame's current state (`name`) recorded: the
    /// text of an output that is that very input.
    pub(super) fn entered_text(&self, frame: FrameId, name: &str) -> Option<String> {
        self.entered_text_ref(frame, name).map(str::to_owned)
    }

    /// [`Execution::entered_text`], borrowed. Only for an event this process recorded (so
    /// known to be the compact text of the frame's input), not one from a resumed history.
    pub(super) fn entered_text_ref(&self, frame: FrameId, name: &str) -> Option<&str> {
        let id = self.frame(frame)?.entered_event_id;
        if id <= self.resumed_events {
            return None;
        }
        let event = self
            .st
            .history
            .get(usize::try_from(id).ok()?.checked_sub(1)?)?;
        match &event.details.state_entered_event_details {
            Some(d) if event.id == id && d.name == name => Some(&d.input),
            _ => None,
        }
    }

    /// The text of the frame's input: the output text its last `*StateExited` recorded when
    /// that is what the frame carries, written anew otherwise.
    pub(super) fn input_text(&mut self, frame: FrameId, input: &Value) -> String {
        let text = match self.carried_text.take() {
            Some((f, text)) if f == frame => text,
            _ => compact(input),
        };
        debug_assert_eq!(text, compact(input));
        text
    }

    /// The time now, as the stretch of work the driver is in reads it (`step_time.rs`).
    pub(super) fn now(&mut self, rt: &Runtime) -> DateTime<Utc> {
        self.step_time.now(&*rt.clock)
    }

    /// Appends a frame's event now.
    pub(super) fn push(
        &mut self,
        rt: &Runtime,
        frame: FrameId,
        t: EventType,
        d: EventDetails,
    ) -> u64 {
        let now = self.now(rt);
        self.push_event_at(now, Some(frame), t, d)
    }
}

/// `*StateEntered` for a state of this kind.
pub(super) fn entered_event(kind: &Kind) -> EventType {
    match kind {
        Kind::Pass { .. } => EventType::PassStateEntered,
        Kind::Task(_) => EventType::TaskStateEntered,
        Kind::Choice { .. } => EventType::ChoiceStateEntered,
        Kind::Wait(_) => EventType::WaitStateEntered,
        Kind::Succeed => EventType::SucceedStateEntered,
        Kind::Fail { .. } => EventType::FailStateEntered,
        Kind::Parallel { .. } => EventType::ParallelStateEntered,
        Kind::Map(_) => EventType::MapStateEntered,
    }
}

/// `*StateExited` for a Task, Parallel or Map state leaving with a result or a caught error.
pub(super) fn exited_event(kind: &Kind) -> EventType {
    match kind {
        Kind::Task(_) => EventType::TaskStateExited,
        Kind::Parallel { .. } => EventType::ParallelStateExited,
        _ => EventType::MapStateExited,
    }
}
