//! The callback journal: what makes an acknowledged `SendTaskSuccess` or `SendTaskFailure`
//! survive a crash.
//!
//! The service writes each callback to the `callbacks` table (`store.rs`) before it hands
//! it to the execution, and answers the API call only once it is written; a write that
//! fails is answered with an error and the callback is not applied. The row leaves the
//! journal in the same transaction that saves an execution state which retired its token
//! (that state reflects it), or when the execution refuses the callback.
//!
//! After a crash, [`Recovery`] sorts each journaled callback of a resumed execution by its
//! token:
//! - **pending** in the saved state (the execution was parked waiting for it): applied at
//!   once, before the execution runs again;
//! - **retired** in the saved state: already reflected; dropped;
//! - **unknown** to the saved state: the callback arrived while the task that issued the
//!   token was still being dispatched (a `.waitForTaskToken` Lambda can hand its token to
//!   a human before it returns), so the crash undid the whole attempt and the resumed
//!   execution dispatches that state again. The callback completes that attempt: when the
//!   same state of the same execution is dispatched again, [`Replays`] answers the
//!   dispatch itself (the task already did its work, so it is not invoked twice) and
//!   delivers the journaled callback with the new attempt's token.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use cordon_engine::Callback;
use serde_json::{Value, json};

use crate::store::JournaledCallback;

/// A callback as the journal stores it (the token is a column of its own).
pub(crate) fn encode(callback: &Callback) -> Option<Value> {
    match callback {
        Callback::Success { output, .. } => Some(json!({"success": output})),
        Callback::Failure { error, cause, .. } => {
            Some(json!({"failure": {"error": error, "cause": cause}}))
        }
        // A lost heartbeat costs at most a heartbeat timeout; a stop is not a callback.
        Callback::Heartbeat { .. } | Callback::Stop { .. } => None,
    }
}

/// The journaled callback, addressed to `token`.
pub(crate) fn decode(stored: &Value, token: &str) -> Option<Callback> {
    if let Some(output) = stored.get("success") {
        return Some(Callback::Success {
            token: token.to_owned(),
            output: output.clone(),
        });
    }
    let failure = stored.get("failure")?;
    let text = |k: &str| failure.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Callback::Failure {
        token: token.to_owned(),
        error: text("error"),
        cause: text("cause"),
    })
}

/// Callbacks waiting for their state to be dispatched again, by (execution, state name).
#[derive(Default)]
pub(crate) struct Replays {
    waiting: Mutex<HashMap<(String, String), VecDeque<JournaledCallback>>>,
}

impl Replays {
    pub(crate) fn add(&self, callback: JournaledCallback, state_name: String) {
        lock(&self.waiting)
            .entry((callback.execution_arn.clone(), state_name))
            .or_default()
            .push_back(callback);
    }

    /// The oldest callback waiting for `state_name` of `execution_arn`, if any.
    pub(crate) fn take(&self, execution_arn: &str, state_name: &str) -> Option<JournaledCallback> {
        let mut waiting = lock(&self.waiting);
        let key = (execution_arn.to_owned(), state_name.to_owned());
        let queue = waiting.get_mut(&key)?;
        let next = queue.pop_front();
        if queue.is_empty() {
            waiting.remove(&key);
        }
        next
    }

    /// Forget what waits for an execution that ended.
    pub(crate) fn drop_execution(&self, execution_arn: &str) {
        lock(&self.waiting).retain(|(arn, _), _| arn != execution_arn);
    }
}

/// How one journaled callback of a resumed execution is recovered.
#[derive(Debug, PartialEq)]
pub(crate) enum Recovery {
    /// The saved state waits for its token: apply it now.
    Apply(Callback),
    /// The saved state already reflects it.
    Done,
    /// The saved state predates its token: complete the next dispatch of its state.
    Replay(String),
    /// It cannot be recovered (no state name was recorded, or it does not decode).
    Lost,
}

/// Sorts a journaled callback against the saved state's tokens (see the module docs).
pub(crate) fn recovery(
    journaled: &JournaledCallback,
    pending: &[String],
    known: Option<bool>,
) -> Recovery {
    if pending.contains(&journaled.token) {
        return match decode(&journaled.callback, &journaled.token) {
            Some(cb) => Recovery::Apply(cb),
            None => Recovery::Lost,
        };
    }
    match (known, &journaled.state_name) {
        // Issued and no longer pending: answered, timed out or aborted in the saved state.
        (Some(_), _) => Recovery::Done,
        (None, Some(state)) => Recovery::Replay(state.clone()),
        (None, None) => Recovery::Lost,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journaled(token: &str, state: Option<&str>) -> JournaledCallback {
        JournaledCallback {
            seq: 1,
            execution_arn: "arn:x".into(),
            state_name: state.map(str::to_owned),
            token: token.into(),
            callback: encode(&Callback::Success {
                token: token.into(),
                output: json!({"decision": "approve"}),
            })
            .expect("success is journaled"),
        }
    }

    #[test]
    fn callbacks_round_trip_through_the_journal() {
        for cb in [
            Callback::Success {
                token: "t".into(),
                output: json!({"a": [1, null]}),
            },
            Callback::Failure {
                token: "t".into(),
                error: Some("E".into()),
                cause: None,
            },
        ] {
            let stored = encode(&cb).expect("journaled");
            assert_eq!(decode(&stored, "t"), Some(cb));
        }
        assert_eq!(encode(&Callback::Heartbeat { token: "t".into() }), None);
    }

    #[test]
    fn recovery_follows_the_saved_state() {
        let pending = vec!["t1".to_string()];
        assert!(matches!(
            recovery(&journaled("t1", None), &pending, Some(true)),
            Recovery::Apply(Callback::Success { .. })
        ));
        assert_eq!(
            recovery(&journaled("t2", Some("Ask")), &pending, Some(false)),
            Recovery::Done
        );
        assert_eq!(
            recovery(&journaled("t3", Some("Ask")), &pending, None),
            Recovery::Replay("Ask".into())
        );
        assert_eq!(
            recovery(&journaled("t3", None), &pending, None),
            Recovery::Lost
        );
    }

    #[test]
    fn replays_are_taken_once_in_order() {
        let r = Replays::default();
        let mut a = journaled("a", Some("Ask"));
        a.seq = 1;
        let mut b = journaled("b", Some("Ask"));
        b.seq = 2;
        r.add(a, "Ask".into());
        r.add(b, "Ask".into());
        assert_eq!(r.take("arn:x", "Ask").map(|c| c.seq), Some(1));
        assert_eq!(r.take("arn:x", "Other").map(|c| c.seq), None);
        r.drop_execution("arn:x");
        assert_eq!(r.take("arn:x", "Ask").map(|c| c.seq), None);
    }
}
