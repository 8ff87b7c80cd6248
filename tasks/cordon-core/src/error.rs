//! The task error contract.
//!
//! Every task Lambda fails with one of these errors. Its [`TaskError::error_name`]
//! becomes the Lambda `errorType`, which Step Functions turns into the state's
//! error name. `statemachine/incident.asl.json` matches these names in `Retry`
//! and `Catch`; a workspace test checks that the ASL only uses names listed in
//! [`names::ALL`].
//!
//! Messages must say what was wrong and what to do. They never contain secrets
//! (task tokens, passwords, session tokens).

/// Stable error names shared by the Rust tasks and the ASL.
pub mod names {
    /// The input event is malformed. Never retried; the incident is recorded as rejected.
    pub const INVALID_EVENT: &str = "Cordon.InvalidEvent";
    /// Throttling, 5xx, timeouts or dispatch failures. Retried with backoff.
    pub const TRANSIENT: &str = "Cordon.Transient";
    /// The principal is root, one of Cordon's own roles, or on the protected list.
    pub const PROTECTED_PRINCIPAL: &str = "Cordon.ProtectedPrincipal";
    /// The principal the incident is about does not exist (any more).
    pub const PRINCIPAL_NOT_FOUND: &str = "Cordon.PrincipalNotFound";
    /// The function's configuration (environment, response policy) is invalid.
    pub const CONFIG: &str = "Cordon.Config";
    /// A non-retryable AWS error, for example AccessDenied.
    pub const AWS: &str = "Cordon.AwsError";

    /// Every name above; the ASL consistency test checks against this list.
    pub const ALL: &[&str] = &[
        INVALID_EVENT,
        TRANSIENT,
        PROTECTED_PRINCIPAL,
        PRINCIPAL_NOT_FOUND,
        CONFIG,
        AWS,
    ];
}

/// The error every task handler returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// `field` is a JSON-Pointer-like path into the input, e.g. `detail.userIdentity`.
    #[error("invalid event: `{field}` {reason}")]
    InvalidEvent { field: String, reason: String },
    #[error("transient failure in {operation}: {message}; the step will be retried")]
    Transient { operation: String, message: String },
    #[error("refusing to act on protected principal {principal}: {reason}")]
    ProtectedPrincipal { principal: String, reason: String },
    #[error("principal {0} does not exist")]
    PrincipalNotFound(String),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("AWS call {operation} failed ({code}): {message}")]
    Aws {
        operation: String,
        code: String,
        message: String,
    },
}

impl TaskError {
    /// The stable `Cordon.*` name for this error.
    pub fn error_name(&self) -> &'static str {
        match self {
            TaskError::InvalidEvent { .. } => names::INVALID_EVENT,
            TaskError::Transient { .. } => names::TRANSIENT,
            TaskError::ProtectedPrincipal { .. } => names::PROTECTED_PRINCIPAL,
            TaskError::PrincipalNotFound(_) => names::PRINCIPAL_NOT_FOUND,
            TaskError::Config(_) => names::CONFIG,
            TaskError::Aws { .. } => names::AWS,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        TaskError::InvalidEvent {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn transient(operation: impl Into<String>, message: impl Into<String>) -> Self {
        TaskError::Transient {
            operation: operation.into(),
            message: message.into(),
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, TaskError::Transient { .. })
    }
}

#[cfg(feature = "lambda")]
impl From<TaskError> for lambda_runtime::Diagnostic {
    fn from(e: TaskError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_name().to_string(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_name() {
        let all = [
            TaskError::invalid("detail", "is missing"),
            TaskError::transient("iam:GetUser", "Throttling"),
            TaskError::ProtectedPrincipal {
                principal: "root".into(),
                reason: "root is never contained".into(),
            },
            TaskError::PrincipalNotFound("bob".into()),
            TaskError::Config("x".into()),
            TaskError::Aws {
                operation: "iam:GetUser".into(),
                code: "AccessDenied".into(),
                message: "no".into(),
            },
        ];
        for e in all {
            assert!(names::ALL.contains(&e.error_name()), "{e:?}");
        }
    }

    #[test]
    fn invalid_event_message_names_the_field() {
        let e = TaskError::invalid("detail.userIdentity", "is missing");
        assert_eq!(
            e.to_string(),
            "invalid event: `detail.userIdentity` is missing"
        );
    }
}
