//! The EventBridge envelope around every event a rule delivers.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::{json_type_name, opt_string};
use crate::error::TaskError;

/// The EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub version: Option<String>,
    pub id: Option<String>,
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    /// Raw envelope `time` (ISO 8601 when EventBridge wrote it; kept as text).
    pub time: Option<String>,
    pub region: Option<String>,
    /// ARNs in `resources`; non-string entries are skipped.
    pub resources: Vec<String>,
    /// The `detail` object (always a JSON object once parsed).
    pub detail: Value,
}

/// Parses the EventBridge envelope. Requires a JSON object with an object `detail`.
pub fn parse_envelope(raw: &Value) -> Result<Envelope, TaskError> {
    let obj = raw.as_object().ok_or_else(|| {
        TaskError::invalid(
            "$",
            format!(
                "the event must be a JSON object, got {}",
                json_type_name(raw)
            ),
        )
    })?;
    let detail = match obj.get("detail") {
        None => return Err(TaskError::invalid("detail", "is missing")),
        Some(d @ Value::Object(_)) => d.clone(),
        Some(other) => {
            return Err(TaskError::invalid(
                "detail",
                format!("must be a JSON object, got {}", json_type_name(other)),
            ));
        }
    };
    let resources = obj
        .get("resources")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Envelope {
        version: opt_string(obj, "version"),
        id: opt_string(obj, "id"),
        detail_type: opt_string(obj, "detail-type"),
        source: opt_string(obj, "source"),
        account: opt_string(obj, "account"),
        time: opt_string(obj, "time"),
        region: opt_string(obj, "region"),
        resources,
        detail,
    })
}

impl Envelope {
    /// An EventBridge scheduled event: `Scheduled Event` from `aws.events`. Both are
    /// required: an event of another source that calls itself a scheduled event (a
    /// sign-in routed by a rule that does not pin `detail-type`) is not one.
    pub fn is_scheduled(&self) -> bool {
        self.source.as_deref() == Some("aws.events")
            && self.detail_type.as_deref() == Some("Scheduled Event")
    }

    /// The envelope says this is a CloudTrail record, or `detail` looks like one.
    pub fn is_cloudtrail(&self) -> bool {
        self.detail_type
            .as_deref()
            .is_some_and(|t| t.ends_with("via CloudTrail"))
            || self
                .detail
                .as_object()
                .is_some_and(|d| d.contains_key("eventName") || d.contains_key("eventSource"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_aws_events_schedules_are_scheduled_events() {
        let scheduled = |source: &str, detail_type: &str| {
            parse_envelope(&json!({"source": source, "detail-type": detail_type, "detail": {}}))
                .map(|e| e.is_scheduled())
        };
        assert_eq!(scheduled("aws.events", "Scheduled Event"), Ok(true));
        assert_eq!(scheduled("aws.signin", "Scheduled Event"), Ok(false));
        assert_eq!(scheduled("aws.events", "Something"), Ok(false));
    }

    #[test]
    fn envelope_requires_object_detail() {
        let e = parse_envelope(&json!({"id": "x"})).unwrap_err();
        assert_eq!(e, TaskError::invalid("detail", "is missing"));
        let e = parse_envelope(&json!({"detail": "{}"})).unwrap_err();
        assert_eq!(
            e,
            TaskError::invalid("detail", "must be a JSON object, got a string")
        );
        let e = parse_envelope(&json!([1])).unwrap_err();
        assert!(matches!(e, TaskError::InvalidEvent { field, .. } if field == "$"));
    }
}
