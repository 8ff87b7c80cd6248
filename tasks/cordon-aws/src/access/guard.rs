//! [`Access`]: one function's identity and policies, the decision on each request, and
//! the [`CallLog`] every decision is written to.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cordon_core::iam::{Decision, PolicySet, Request, catalogue};

use super::denial::{DeniedResponse, denied_response};

/// Where a function's calls are made: what `${Partition}`, `${Region}` and `${Account}`
/// are in the ARNs of the resources it calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub partition: String,
    pub region: String,
    pub account: String,
}

/// A resource encrypted with a customer managed KMS key: calls on it are also KMS
/// requests on the key, made by the service on the caller's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    /// The table's or topic's ARN.
    pub resource: String,
    /// The key's ARN.
    pub key: String,
}

/// What a denied call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse it as AWS would (the local stack): the function sees AWS's error.
    Enforce,
    /// Only log it (the least-privilege test, which reports every denial at once).
    Record,
}

/// One request a function made, and how its policies decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// The function, e.g. `EnrichFunction`.
    pub function: String,
    /// The SDK operation, e.g. `DynamoDB.UpdateItem`.
    pub operation: String,
    pub request: Request,
    /// For a KMS request a service makes on the caller's behalf: the action that implies it.
    pub implied_by: Option<String>,
    pub decision: Decision,
}

/// Every call of one or more functions, in order. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<RecordedCall>>>);

impl CallLog {
    pub fn new() -> CallLog {
        CallLog::default()
    }

    fn push(&self, call: RecordedCall) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }

    /// A copy of everything recorded so far.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The recorded calls whose policies did not allow them.
    pub fn denied(&self) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| !c.decision.is_allowed())
            .collect()
    }
}

/// One function's access to AWS, installed on its clients by [`crate::Aws::with_access`].
#[derive(Debug, Clone)]
pub struct Access {
    /// The function's name in messages and the log (its logical id in the template).
    pub function: String,
    /// The function's execution role, e.g. `arn:aws:iam::123456789012:role/stack-EnrichFunctionRole`.
    pub role_arn: String,
    /// The session name of the role session the function runs as (on Lambda, the
    /// function's name).
    pub session: String,
    pub policies: PolicySet,
    pub identity: Identity,
    pub encrypted: Vec<Encryption>,
    pub mode: Mode,
    pub log: CallLog,
    /// Responses for calls stopped in [`Mode::Enforce`], by the id the interceptor puts on
    /// the request for the HTTP layer.
    pub(crate) denials: Arc<Mutex<HashMap<u64, DeniedResponse>>>,
    pub(crate) next_denial: Arc<AtomicU64>,
}

impl Access {
    pub fn new(
        function: impl Into<String>,
        role_arn: impl Into<String>,
        session: impl Into<String>,
        policies: PolicySet,
        identity: Identity,
    ) -> Access {
        Access {
            function: function.into(),
            role_arn: role_arn.into(),
            session: session.into(),
            policies,
            identity,
            encrypted: Vec::new(),
            mode: Mode::Enforce,
            log: CallLog::new(),
            denials: Arc::default(),
            next_denial: Arc::default(),
        }
    }

    pub fn with_encryption(mut self, encrypted: Vec<Encryption>) -> Access {
        self.encrypted = encrypted;
        self
    }

    pub fn with_mode(mut self, mode: Mode) -> Access {
        self.mode = mode;
        self
    }

    /// Log into `log` (shared with other functions) instead of a log of its own.
    pub fn with_log(mut self, log: CallLog) -> Access {
        self.log = log;
        self
    }

    /// The ARN AWS names the caller by in an `AccessDenied` message: the role session.
    pub fn session_arn(&self) -> String {
        let role = self.role_arn.rsplit('/').next().unwrap_or(&self.role_arn);
        format!(
            "arn:{}:sts::{}:assumed-role/{role}/{}",
            self.identity.partition, self.identity.account, self.session
        )
    }

    /// The key `resource` is encrypted with, if any.
    pub(crate) fn key_of(&self, resource: &str) -> Option<&str> {
        self.encrypted
            .iter()
            .find(|e| e.resource == resource)
            .map(|e| e.key.as_str())
    }

    /// Decides and logs the requests of one SDK operation; in [`Mode::Enforce`], the
    /// response AWS would give the first one denied.
    pub(crate) fn check(
        &self,
        service: &str,
        operation: &str,
        requests: Vec<(Request, Option<String>)>,
    ) -> Option<DeniedResponse> {
        let mut refused = None;
        for (request, implied_by) in requests {
            let free = catalogue::lookup(&request.action).is_some_and(|a| a.needs_no_permission());
            let decision = if free {
                Decision::Allowed {
                    statement: format!("{} needs no permission", request.action),
                }
            } else {
                self.policies.evaluate(&request)
            };
            if !decision.is_allowed() && refused.is_none() {
                tracing::warn!(
                    function = %self.function,
                    request = %request,
                    "access denied by the function's policy: {decision}"
                );
                refused = Some(denied_response(
                    service,
                    &self.session_arn(),
                    &request,
                    implied_by.as_deref(),
                    &decision,
                ));
            }
            self.log.push(RecordedCall {
                function: self.function.clone(),
                operation: format!("{service}.{operation}"),
                request,
                implied_by,
                decision,
            });
        }
        match self.mode {
            Mode::Enforce => refused,
            Mode::Record => None,
        }
    }

    /// Keeps `response` for the HTTP layer and returns the id the request will carry.
    pub(crate) fn park_denial(&self, response: DeniedResponse) -> u64 {
        let id = self.next_denial.fetch_add(1, Ordering::Relaxed);
        self.denials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, response);
        id
    }
}
