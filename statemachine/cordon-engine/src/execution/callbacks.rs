//! Applying [`Callback`]s: the task-token callbacks find the Task frame that waits for their
//! token; `StopExecution` ends the execution.
use serde_json::Value;

use super::handle::{Callback, CallbackError};
use super::state::{FrameId, Phase};
use super::{Execution, Runtime};
use crate::clock::add_secs;
use crate::dataflow::{MAX_PAYLOAD_BYTES, payload_size};
use crate::error::StatesError;

impl Execution {
    /// Applies a callback now. Call a `run_*` method afterwards to continue.
    pub fn apply(&mut self, callback: Callback, rt: &Runtime) -> Result<(), CallbackError> {
        match callback {
            Callback::Success { token, output } => self.send_task_success(&token, output, rt),
            Callback::Failure {
                token,
                error,
                cause,
            } => self.send_task_failure(&token, error, cause, rt),
            Callback::Heartbeat { token } => self.send_task_heartbeat(&token, rt),
            Callback::Stop { error, cause } => {
                self.stop(error, cause, rt);
                Ok(())
            }
        }
    }

    /// `SendTaskSuccess`. Call a `run_*` method afterwards to continue.
    pub fn send_task_success(
        &mut self,
        token: &str,
        output: Value,
        rt: &Runtime,
    ) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        if payload_size(&output) > MAX_PAYLOAD_BYTES {
            return Err(CallbackError::InvalidOutput(format!(
                "the output exceeds the maximum size of {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        self.retire_token(token);
        self.task_succeeded(fid, output, rt);
        Ok(())
    }

    /// `SendTaskFailure`.
    pub fn send_task_failure(
        &mut self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
        rt: &Runtime,
    ) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        self.retire_token(token);
        let err = StatesError {
            error: error.unwrap_or_default(),
            cause,
        };
        self.task_failed(fid, err, false, rt);
        Ok(())
    }

    /// `SendTaskHeartbeat`: restarts the HeartbeatSeconds countdown.
    pub fn send_task_heartbeat(&mut self, token: &str, rt: &Runtime) -> Result<(), CallbackError> {
        let fid = self.token_frame(token)?;
        let now = self.now(rt);
        if let Some(f) = self.st.frames.get_mut(&fid)
            && let Phase::Task(t) = &mut f.phase
            && let Some(hb) = t.heartbeat_seconds
        {
            t.heartbeat_at = add_secs(now, hb);
        }
        Ok(())
    }

    fn token_frame(&self, token: &str) -> Result<FrameId, CallbackError> {
        for f in self.st.frames.values() {
            if let Phase::Task(t) = &f.phase
                && t.token.as_deref() == Some(token)
            {
                return Ok(f.id);
            }
        }
        if self.st.expired_tokens.contains(token) {
            Err(CallbackError::TaskTimedOut)
        } else if token.is_empty() || token.len() > 1024 {
            Err(CallbackError::InvalidToken)
        } else {
            Err(CallbackError::TaskDoesNotExist)
        }
    }

    /// A token that was answered, timed out or aborted: later callbacks with it are
    /// `TaskTimedOut`.
    pub(super) fn retire_token(&mut self, token: &str) {
        self.st.expired_tokens.insert(token.to_owned());
    }
}
