//! How a path is refused or cannot be applied.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    /// The path is not valid ASL syntax.
    #[error("invalid path '{path}': {reason}")]
    Invalid { path: String, reason: String },
    /// A reference path cannot be applied to the value (e.g. it walks through a non-object).
    #[error("{0}")]
    Unappliable(String),
}

pub(super) fn invalid(path: &str, reason: impl Into<String>) -> PathError {
    PathError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
