//! A failure the state machine caught: the error object a `Catch` puts at its
//! `ResultPath`, as the failure path passes it to record and notify.
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `{"Error": …, "Cause": …}` object a Step Functions `Catch` passes on.
///
/// `Cause` is free text. For a Lambda function error it is the JSON text
/// `{"errorMessage": …, "errorType": …}`; [`CaughtError::message`] unwraps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name Retry and Catch matched (`Cordon.AwsError`, `Lambda.Unknown`, …).
    #[serde(rename = "Error", default)]
    pub error: Option<String>,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl CaughtError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// The error name, if the catch recorded one.
    pub fn name(&self) -> Option<&str> {
        self.error.as_deref().filter(|e| !e.trim().is_empty())
    }

    /// The cause as a person reads it: a Lambda error cause unwrapped to its
    /// `errorMessage`, any other cause as it is.
    pub fn message(&self) -> Option<String> {
        let cause = self.cause.as_deref().filter(|c| !c.trim().is_empty())?;
        let unwrapped = serde_json::from_str::<Value>(cause).ok().and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        Some(unwrapped.unwrap_or_else(|| cause.to_string()))
    }

    /// `Error: message`, or whichever of the two is known.
    pub fn summary(&self) -> String {
        match (self.name(), self.message()) {
            (Some(e), Some(m)) => format!("{e}: {m}"),
            (Some(e), None) => e.to_string(),
            (None, Some(m)) => m,
            (None, None) => "the workflow failed without an error name".to_string(),
        }
    }
}

/// An error as the notify task accepts it: a plain text, or the object a `Catch` passes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorText {
    Text(String),
    Caught(CaughtError),
}

impl ErrorText {
    /// The text a notification shows.
    pub fn summary(&self) -> String {
        match self {
            ErrorText::Text(t) => t.clone(),
            ErrorText::Caught(c) => c.summary(),
        }
    }

    /// The caught error, when it is one.
    pub fn caught(&self) -> Option<&CaughtError> {
        match self {
            ErrorText::Caught(c) => Some(c),
            ErrorText::Text(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_lambda_cause_is_unwrapped_to_its_message() {
        let caught: CaughtError = serde_json::from_value(json!({
            "Error": "Cordon.AwsError",
            "Cause": "{\"errorMessage\":\"AWS call iam:GetUser failed (AccessDenied): no\",\"errorType\":\"Cordon.AwsError\"}"
        }))
        .expect("a catch object");
        assert_eq!(
            caught.summary(),
            "Cordon.AwsError: AWS call iam:GetUser failed (AccessDenied): no"
        );
        let plain = CaughtError::new("States.Timeout", "took too long");
        assert_eq!(plain.summary(), "States.Timeout: took too long");
        // The engine and AWS put an empty Cause when there is none.
        let bare = CaughtError::new("Lambda.Unknown", "");
        assert_eq!(bare.summary(), "Lambda.Unknown");
        assert_eq!(
            CaughtError::default().summary(),
            "the workflow failed without an error name"
        );
    }

    #[test]
    fn error_text_takes_a_string_or_a_catch_object() {
        let t: ErrorText = serde_json::from_value(json!("boom")).expect("text");
        assert_eq!(t.summary(), "boom");
        let c: ErrorText =
            serde_json::from_value(json!({"Error": "States.Timeout", "Cause": "took too long"}))
                .expect("object");
        assert_eq!(c.summary(), "States.Timeout: took too long");
        assert!(c.caught().is_some());
    }
}
