//! Redrive: where a failed execution stopped, down into its Parallel and Map states, and how
//! a redriven Parallel or Map state runs only what did not succeed.
//!
//! AWS Step Functions developer guide, "Redriving executions": a redrive restarts the
//! execution at the state that did not complete; a Parallel state reruns only its
//! unsuccessful branches and a Map state only its unsuccessful iterations (those that failed,
//! were aborted or never started). A branch or iteration runs again from the state where it
//! stopped.
use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

use super::state::{ChildrenPhase, ChildrenRedrive, FrameId, Phase, RedrivePoint};
use super::{Execution, Runtime};
use crate::history::{EventDetails, EventType, MapStateStartedEventDetails};

impl Execution {
    /// Where the frame is: its state and input and, for a Parallel or Map state, where its
    /// children are (or were when it failed).
    pub(super) fn point_of(&self, fid: FrameId) -> Option<RedrivePoint> {
        let f = self.frame(fid)?;
        let children = match &f.phase {
            Phase::Children(c) => Some(Box::new(self.children_snapshot(fid, c))),
            _ => f.failed_children.clone(),
        };
        Some(RedrivePoint {
            state: f.state.clone(),
            input: Value::clone(&f.input),
            children,
        })
    }

    /// The children of the Parallel/Map frame `pid`: the results so far, where the failed
    /// ones stopped and where the running ones are.
    fn children_snapshot(&self, pid: FrameId, c: &ChildrenPhase) -> ChildrenRedrive {
        let mut resume = c.stopped.clone();
        for f in self.st.frames.values() {
            if let Some((p, slot)) = f.parent
                && p == pid
                && let Some(point) = self.point_of(f.id)
            {
                resume.insert(slot, point);
            }
        }
        let mut phase = c.clone();
        phase.stopped.clear();
        // A failed Map iteration's `{Error, Cause}` is not a result to keep.
        for slot in resume.keys() {
            if let Some(r) = phase.results.get_mut(*slot) {
                *r = None;
            }
        }
        ChildrenRedrive { phase, resume }
    }

    /// A Parallel or Map state is failing: keeps where its children are, before they are
    /// aborted, in case the execution is redriven.
    pub(super) fn keep_children_for_redrive(&mut self, fid: FrameId) {
        let snapshot = match self.frame(fid).map(|f| &f.phase) {
            Some(Phase::Children(c)) => Some(Box::new(self.children_snapshot(fid, c))),
            _ => return,
        };
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.failed_children = snapshot;
        }
    }

    /// Remembers the top-level state in progress, where a redrive restarts.
    pub(super) fn capture_redrive_point(&mut self) {
        if let Some(root) = self.st.frames.values().find(|f| f.parent.is_none()) {
            self.st.redrive_point = self.point_of(root.id);
        }
    }

    /// The children a redriven frame resumes, if it was redriven at this state (a retry runs
    /// the state afresh, so the failure snapshot goes too).
    pub(super) fn take_resume(&mut self, fid: FrameId) -> Option<Box<ChildrenRedrive>> {
        let f = self.st.frames.get_mut(&fid)?;
        f.failed_children = None;
        f.resume.take()
    }

    /// Runs a redriven Parallel state: the branches that succeeded keep their results, the
    /// others run again from where they stopped (or from the start).
    pub(super) fn resume_parallel(
        &mut self,
        fid: FrameId,
        branches: &[usize],
        saved: ChildrenRedrive,
        input: &Value,
        rt: &Runtime,
    ) {
        self.push(
            rt,
            fid,
            EventType::ParallelStateStarted,
            EventDetails::none(),
        );
        let ChildrenRedrive { mut phase, resume } = saved;
        let rerun: Vec<usize> = (0..branches.len())
            .filter(|i| phase.results.get(*i).is_none_or(Option::is_none))
            .collect();
        phase.results.resize(branches.len(), None);
        phase.running = rerun.iter().copied().collect();
        phase.pending = VecDeque::new();
        phase.failures = 0;
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Children(phase);
        }
        let outer = self.scope_of(fid);
        for i in rerun {
            let machine = branches[i];
            let point = resume.get(&i).cloned().unwrap_or_else(|| RedrivePoint {
                state: self.def.machines[machine].start_at.clone(),
                input: input.clone(),
                children: None,
            });
            self.spawn_resumed(machine, fid, i, point, Some(outer));
        }
        if phase_is_done(self, fid) {
            self.children_finished(fid, rt);
        }
    }

    /// Runs a redriven Map state: the iterations that succeeded keep their results, the
    /// others run again (up to MaxConcurrency), each from where it stopped.
    pub(super) fn resume_map(&mut self, fid: FrameId, saved: ChildrenRedrive, rt: &Runtime) {
        let ChildrenRedrive { mut phase, resume } = saved;
        let n = phase.inputs.len();
        let d = EventDetails {
            map_state_started_event_details: Some(MapStateStartedEventDetails { length: n }),
            ..EventDetails::default()
        };
        self.push(rt, fid, EventType::MapStateStarted, d);
        phase.pending = (0..n)
            .filter(|i| phase.results.get(*i).is_none_or(Option::is_none))
            .collect();
        phase.running = BTreeSet::new();
        phase.failures = 0;
        phase.stopped = resume;
        if let Some(f) = self.st.frames.get_mut(&fid) {
            f.phase = Phase::Children(phase);
        }
    }

    /// Spawns the frame of branch or iteration `slot` of `pid` at `point`, with what it
    /// resumes in turn.
    pub(super) fn spawn_resumed(
        &mut self,
        machine: usize,
        pid: FrameId,
        slot: usize,
        point: RedrivePoint,
        outer: Option<crate::dataflow::ScopeId>,
    ) {
        let scope = self.st.variables.open(outer);
        let child = self.spawn_frame(machine, Some((pid, slot)), point.state, point.input, scope);
        if let Some(f) = self.st.frames.get_mut(&child) {
            f.resume = point.children;
        }
    }
}

fn phase_is_done(ex: &Execution, fid: FrameId) -> bool {
    matches!(ex.frame(fid).map(|f| &f.phase), Some(Phase::Children(c)) if c.running.is_empty() && c.pending.is_empty())
}
