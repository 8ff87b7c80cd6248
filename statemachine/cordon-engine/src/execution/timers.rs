//! Everything that happens when time passes: a Wait ends, a retry backoff ends, a Task times
//! out or misses its heartbeat, the execution reaches its TimeoutSeconds.
use chrono::{DateTime, Utc};

use super::state::{ExecutionStatus, Frame, FrameId, Phase};
use super::states::Exit;
use super::{Execution, Runtime};
use crate::error::{self, StatesError};
use crate::history::{ErrorEventDetails, EventDetails, EventType};

impl Execution {
    /// The next time something happens without outside help.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        if !self.running() {
            return None;
        }
        let frames = self.st.frames.values().filter_map(frame_timer);
        frames.chain(self.st.deadline).min()
    }

    /// Fires the execution deadline, or every frame timer that is due, earliest first.
    pub(super) fn fire_due_timers(&mut self, rt: &Runtime) {
        // Most steps have no timer at all (no Wait, backoff, task timeout or execution
        // deadline): then there is no clock to read either.
        if self.next_timer().is_none() {
            return;
        }
        let now = self.now(rt);
        if let Some(d) = self.st.deadline
            && d <= now
            && self.running()
        {
            self.capture_redrive_point();
            let details = EventDetails {
                execution_timed_out_event_details: Some(Box::new(ErrorEventDetails {
                    error: Some(error::TIMEOUT.into()),
                    cause: Some("The execution timed out.".into()),
                })),
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
            .filter_map(|f| frame_timer(f).filter(|t| *t <= now).map(|t| (t, f.id)))
            .collect();
        due.sort();
        for (_, fid) in due {
            if !self.running() {
                return;
            }
            let Some((phase, name)) = self.frame(fid).map(|f| (f.phase.clone(), f.state.clone()))
            else {
                continue;
            };
            match phase {
                Phase::Waiting {
                    output, assigned, ..
                } => {
                    let Some(cur) = self.current(fid) else {
                        continue;
                    };
                    let state = cur.state();
                    let assigned = (!assigned.is_empty()).then_some(assigned);
                    let exit = Exit {
                        output,
                        text: None,
                        assigned,
                    };
                    if let Err(e) = self.leave(fid, state, EventType::WaitStateExited, exit, rt) {
                        let err = self.flow_error(fid, &name, e, rt);
                        self.frame_done(fid, Err(err), rt);
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
                    self.task_failed(fid, err, true, rt);
                }
                _ => {}
            }
        }
    }
}

/// When the frame's timer fires, if it has one.
fn frame_timer(f: &Frame) -> Option<DateTime<Utc>> {
    match &f.phase {
        Phase::Waiting { until, .. } | Phase::Backoff { until } => Some(*until),
        Phase::Task(t) => match (t.timeout_at, t.heartbeat_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        _ => None,
    }
}
