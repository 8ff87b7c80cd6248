//! [`JsonataFailure`]: why an expression produced no JSON value, and AWS's cause for it.

/// Why a JSONata expression could not produce a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonataFailure {
    /// It raised an error: the JSONata error code and message (`T1006: Attempted to invoke a
    /// non-function`).
    Threw(String),
    /// It evaluated to nothing (undefined).
    Undefined,
    /// It evaluated to something JSON cannot hold (a function).
    Unsupported,
}

impl JsonataFailure {
    /// AWS's cause for this failure of expression `expr` in field `field`.
    pub(crate) fn cause(&self, expr: &str, field: &str) -> String {
        match self {
            JsonataFailure::Threw(m) => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {m}"
            ),
            JsonataFailure::Undefined => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
            ),
            JsonataFailure::Unsupported => format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned an unsupported result type."
            ),
        }
    }
}
