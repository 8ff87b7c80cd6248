//! What a failed Task, Parallel or Map state does next: wait and retry (Retry), continue at
//! another state (Catch), or fail its frame.
use std::time::Duration;

use super::events::exited_event;
use super::state::{FrameId, Phase};
use super::states::Exit;
use super::{Execution, Runtime};
use crate::clock::to_chrono;
use crate::dataflow::{Env, FlowError, apply_result_path};
use crate::definition::{Catcher, Jitter, Retrier, State};
use crate::error::{StatesError, error_matches};
use crate::json_text::compact;

impl Execution {
    /// A Task/Parallel/Map state failed: retry, catch, or fail the frame.
    pub(super) fn state_failed(&mut self, fid: FrameId, err: StatesError, rt: &Runtime) {
        if !self.running() {
            return;
        }
        let Some(cur) = self.current(fid) else {
            return;
        };
        let state = cur.state();
        let Some(errors) = state.kind.error_handling() else {
            self.frame_done(fid, Err(err), rt);
            return;
        };
        if self.frame(fid).is_some_and(|f| f.failed_children.is_none()) {
            self.keep_children_for_redrive(fid);
        }
        self.abort_children(fid, rt);
        for (i, r) in errors.retry.iter().enumerate() {
            if !r.error_equals.iter().any(|p| error_matches(p, &err.error)) {
                continue;
            }
            let count = self
                .frame(fid)
                .and_then(|f| f.retry_counts.get(i).copied())
                .unwrap_or(0);
            if count < r.max_attempts {
                let until = self.now(rt) + to_chrono(retry_delay(r, count, rt));
                if let Some(f) = self.st.frames.get_mut(&fid) {
                    if let Some(c) = f.retry_counts.get_mut(i) {
                        *c += 1;
                    }
                    f.retry_total += 1;
                    f.phase = Phase::Backoff { until };
                }
                return;
            }
            break;
        }
        for c in &errors.catch {
            if !c.error_equals.iter().any(|p| error_matches(p, &err.error)) {
                continue;
            }
            let caught = self.catch(fid, state, c, &err);
            let done = caught.and_then(|exit| {
                let assigned = self.commit_assignments(fid, exit.assigned)?;
                self.push_exited(
                    rt,
                    fid,
                    exited_event(&state.kind),
                    &state.name,
                    compact(&exit.output),
                    assigned,
                );
                self.goto(fid, c.next.clone(), exit.output);
                Ok(())
            });
            if let Err(e) = done {
                let err = self.flow_error(fid, &state.name, e, rt);
                self.frame_done(fid, Err(err), rt);
            }
            return;
        }
        self.frame_done(fid, Err(err), rt);
    }
}

impl Execution {
    /// What a catcher makes of the error: the state's output (JSONPath: the `{Error, Cause}`
    /// placed by ResultPath into the state input; JSONata: `Output`, by default the
    /// `{Error, Cause}`) and the variables it assigns (JSONPath reads `$` from the
    /// `{Error, Cause}`; JSONata reads it as `$states.errorOutput`).
    fn catch(
        &self,
        fid: FrameId,
        state: &State,
        c: &Catcher,
        err: &StatesError,
    ) -> Result<Exit, FlowError> {
        let input = self.frame_input(fid);
        let error_output = err.to_catch_output();
        let ctx = self.build_context(fid, None, None);
        let vars = self.st.variables.view(self.scope_of(fid));
        let env = Env::new(&input, &ctx, &vars).with_error_output(&error_output);
        let assigned = c
            .assign
            .as_ref()
            .map(|a| a.eval(&error_output, &env))
            .transpose()?;
        let output = if state.flow.is_jsonata() {
            match &c.output {
                Some(o) => o.eval(&input, &env)?,
                None => error_output.clone(),
            }
        } else {
            apply_result_path(&c.result_path, &input, error_output.clone())?
        };
        Ok(Exit {
            output,
            text: None,
            assigned,
        })
    }
}

/// The backoff before retry number `count + 1`: IntervalSeconds × BackoffRate^count, capped
/// by MaxDelaySeconds (and a year), with full jitter when asked.
fn retry_delay(r: &Retrier, count: u32, rt: &Runtime) -> Duration {
    let base = r.interval_seconds as f64 * r.backoff_rate.powi(count as i32);
    let mut d = if base.is_finite() { base } else { f64::MAX };
    if let Some(max) = r.max_delay_seconds {
        d = d.min(max as f64);
    }
    d = d.min(366.0 * 24.0 * 3600.0);
    if r.jitter == Jitter::Full {
        d *= rt.rng.unit();
    }
    Duration::from_millis((d * 1000.0).round() as u64)
}
