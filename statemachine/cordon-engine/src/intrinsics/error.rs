//! How an intrinsic expression fails, and the `States.*` names it fails with.

/// The error name for an intrinsic function that fails on its (resolved) arguments.
pub use crate::error::INTRINSIC_FAILURE as ERROR_INTRINSIC_FAILURE;
/// The error name for an intrinsic whose path argument does not resolve.
pub use crate::error::RUNTIME as ERROR_RUNTIME;

/// Why an intrinsic expression was rejected or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntrinsicError {
    /// The expression does not parse, names an unknown function, or has the wrong arity
    /// (a definition-time error).
    #[error("{0}")]
    Invalid(String),
    /// Evaluation failed at run time; AWS reports `States.IntrinsicFailure` (or
    /// `States.Runtime` for unresolvable paths) with this cause.
    #[error("{cause}")]
    Failed { error: String, cause: String },
}
