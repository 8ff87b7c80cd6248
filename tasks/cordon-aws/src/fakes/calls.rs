//! What every fake shares: the operation log, injected failures, and a poison-proof lock.
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use cordon_core::TaskError;

/// A lock that survives a test thread panicking while holding it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Operation log and injected failures, shared by every fake.
#[derive(Debug, Default)]
pub(super) struct Calls {
    pub(super) log: Vec<String>,
    pub(super) failures: BTreeMap<String, TaskError>,
}

impl Calls {
    /// Log `op`, and fail it if a test asked for that.
    pub(super) fn enter(&mut self, op: &str) -> Result<(), TaskError> {
        self.log.push(op.to_string());
        match self.failures.get(op) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

/// `calls`, `count`, `fail_on` and `heal` for a fake with a `calls: Mutex<Calls>` field.
macro_rules! call_log_api {
    () => {
        /// Every operation served, in order (`iam:AttachUserPolicy`, …).
        pub fn calls(&self) -> Vec<String> {
            $crate::fakes::calls::lock(&self.calls).log.clone()
        }

        /// How many times `op` was called.
        pub fn count(&self, op: &str) -> usize {
            $crate::fakes::calls::lock(&self.calls)
                .log
                .iter()
                .filter(|c| *c == op)
                .count()
        }

        /// Make every later call of `op` fail with `err`.
        pub fn fail_on(&self, op: &str, err: TaskError) {
            $crate::fakes::calls::lock(&self.calls)
                .failures
                .insert(op.to_string(), err);
        }

        /// Stop failing `op`.
        pub fn heal(&self, op: &str) {
            $crate::fakes::calls::lock(&self.calls).failures.remove(op);
        }
    };
}
pub(super) use call_log_api;
