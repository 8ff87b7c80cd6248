//! Driving an execution: step runnable frames, await dispatches, take commands and fire
//! timers, until it finishes or nothing can happen without time passing or a callback.
use std::sync::Arc;

use super::handle::Command;
use super::state::{FrameId, Phase};
use super::{Completion, Execution, RunOutcome, Runtime};
use crate::dispatch::TaskFailure;
use crate::error;

impl Execution {
    /// Makes all the progress possible without time passing or a callback arriving, then
    /// returns. In-flight task dispatches are awaited (and with a real clock, timers that come
    /// due meanwhile fire).
    pub async fn run_until_parked(&mut self, rt: &Runtime) -> RunOutcome {
        // One clock reading per stretch between waits (`step_time.rs`). The stretch ends
        // before every await and return, so a dropped future leaves none open.
        self.step_time.begin();
        enum Woke {
            Done(Option<Result<(tokio::task::Id, Completion), tokio::task::JoinError>>),
            Cmd(Option<Command>),
            Timer,
        }
        loop {
            if !self.running() {
                self.inflight.abort_all();
                self.inflight_ids.clear();
                self.ready.clear();
                self.step_time.end();
                return RunOutcome::Finished(self.st.status);
            }
            while let Ok(cmd) = self.rx.try_recv() {
                self.take_command(cmd, rt);
            }
            self.fire_due_timers(rt);
            if !self.running() {
                continue;
            }
            if let Some(fid) = self.st.runnable.pop_front() {
                self.step(fid, rt);
                continue;
            }
            // A dispatch that answered at once is taken up where a spawned one's answer would
            // be: once no frame can step.
            if let Some(c) = self.ready.pop_front() {
                self.on_task_result(c.frame, c.seq, c.result, rt);
                continue;
            }
            if self.inflight.is_empty() {
                self.step_time.end();
                return RunOutcome::Parked {
                    next_wakeup: self.next_timer(),
                    awaiting_callbacks: self.pending_task_tokens().len(),
                };
            }
            let next = self.next_timer().filter(|_| !rt.clock.is_virtual());
            let clock = rt.clock.clone();
            self.step_time.end();
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
            self.step_time.begin();
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
                Woke::Cmd(Some(cmd)) => self.take_command(cmd, rt),
                Woke::Cmd(None) => {}
            }
        }
    }

    /// Runs until the execution finishes. Timers are slept through (a virtual clock jumps to
    /// them); callbacks arrive through [`ExecutionHandle`](super::ExecutionHandle)s. Returns
    /// `Parked` only when the execution waits for a callback that nothing can deliver (no
    /// handle exists and no timer is pending).
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
                        self.take_command(cmd, rt);
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
                self.take_command(cmd, rt);
            }
        }
    }

    /// Waits for the next [`Command`] sent through a handle, for a caller that drives a parked
    /// execution itself: it can [`apply`](Execution::apply) the callback, persist, and then
    /// send the reply. (While a `run_*` method runs, the execution takes commands itself.)
    pub async fn next_command(&mut self) -> Option<Command> {
        self.rx.recv().await
    }

    fn take_command(&mut self, cmd: Command, rt: &Runtime) {
        let Command { callback, reply } = cmd;
        reply.send(self.apply(callback, rt));
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
}
