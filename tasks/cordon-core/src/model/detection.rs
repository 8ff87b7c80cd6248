//! What the detection rules found in one event.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::{Actor, Principal};
use super::inspection::Inspect;

/// What the detection engine found in one event: the input of every later step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Deterministic id (see [`crate::incident`]); also the Step Functions execution name.
    pub incident_id: String,
    /// Stable rule id, e.g. `iam.user-created` (see [`crate::classify::rules`]).
    pub rule: String,
    /// Human one-liner, e.g. "IAM user support-admin created by jdoe".
    pub title: String,
    /// CloudTrail `eventID` (the deduplication key).
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    /// CloudTrail `eventTime` (ISO 8601). Never the non-ISO dates inside `responseElements`.
    pub event_time: DateTime<Utc>,
    pub region: String,
    pub account: String,
    /// The identity to contain. `None` when it cannot be identified (wrong user name at sign-in).
    pub principal: Option<Principal>,
    /// Who made the call.
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The facts that justify the detection (`policyArn`, `mfaUsed`, `loginResult`, …).
    /// Never contains secrets (passwords from `requestParameters` are never copied).
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// The call was made by the account root user.
    pub root_activity: bool,
    /// What enrich must read before the detection is judged (a grant the event names but
    /// does not carry). Absent when the event says everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect: Option<Inspect>,
}

/// The most characters a free-text field of a detection keeps (the user agent, each text
/// in the evidence). A detection travels through every state of the workflow and is
/// stored beside the raw event, which keeps every byte: an event near EventBridge's
/// 256 KB limit must not make the workflow's state exceed Step Functions' 256 KiB or the
/// incident item DynamoDB's 400 KB (an attacker could otherwise pad a call to escape
/// containment).
pub const MAX_TEXT_CHARS: usize = 1024;

impl Detection {
    /// This detection with every free-text field cut to [`MAX_TEXT_CHARS`], marked.
    pub fn bounded(mut self) -> Detection {
        if let Some(ua) = &mut self.user_agent {
            bound_text(ua);
        }
        for value in self.evidence.values_mut() {
            bound_value(value);
        }
        self
    }
}

fn bound_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => bound_text(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(bound_value),
        serde_json::Value::Object(map) => map.values_mut().for_each(bound_value),
        _ => {}
    }
}

fn bound_text(text: &mut String) {
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT_CHARS) {
        let dropped = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!("…[{dropped} more bytes in the event]"));
    }
}

#[cfg(test)]
mod bound_tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_at_a_character_and_say_so() {
        let mut short = "curl/8.0".to_string();
        bound_text(&mut short);
        assert_eq!(short, "curl/8.0");
        let mut long = "é".repeat(MAX_TEXT_CHARS + 10);
        bound_text(&mut long);
        assert!(long.starts_with(&"é".repeat(MAX_TEXT_CHARS)), "{long}");
        assert!(long.ends_with("…[20 more bytes in the event]"), "{long}");
        let mut evidence = serde_json::json!({"a": ["x".repeat(5000)], "n": 1});
        bound_value(&mut evidence);
        assert!(evidence["a"][0].as_str().unwrap().len() < 1100);
        assert_eq!(evidence["n"], 1);
    }
}
