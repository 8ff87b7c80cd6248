//! An event as EventBridge delivers it to a rule's targets: the envelope (`version`, `id`,
//! `detail-type`, `source`, `account`, `time`, `region`, `resources`) around the producer's
//! `detail`. Built once, serialised once; rules match its JSON and targets take its text.
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// An event on the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    json: Value,
    text: String,
}

/// What a producer puts on the bus (a PutEvents entry, validated).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub source: String,
    pub detail_type: String,
    /// A JSON object.
    pub detail: Value,
    pub resources: Vec<String>,
    pub time: DateTime<Utc>,
}

/// A JSON value that is not an EventBridge envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an EventBridge event: {0}")]
pub struct NotAnEvent(String);

impl Event {
    /// The envelope EventBridge builds for `entry` put to the default bus of `account` in
    /// `region`: a fresh id, the time to the second.
    pub fn envelope(entry: Entry, account: &str, region: &str) -> Event {
        let json = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": entry.detail_type,
            "source": entry.source,
            "account": account,
            "time": entry.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": region,
            "resources": entry.resources,
            "detail": entry.detail,
        });
        Event::sealed(json)
    }

    /// An envelope built elsewhere (a recorded or simulated event), as rule targets see it.
    pub fn from_json(json: Value) -> Result<Event, NotAnEvent> {
        let Some(object) = json.as_object() else {
            return Err(NotAnEvent("it is not a JSON object".into()));
        };
        for field in ["id", "source", "detail-type"] {
            if !object.get(field).is_some_and(Value::is_string) {
                return Err(NotAnEvent(format!("`{field}` is not a string")));
            }
        }
        if !object.get("detail").is_some_and(Value::is_object) {
            return Err(NotAnEvent("`detail` is not an object".into()));
        }
        Ok(Event::sealed(json))
    }

    fn sealed(json: Value) -> Event {
        let text = json.to_string();
        Event { json, text }
    }

    pub fn id(&self) -> &str {
        self.field("id")
    }

    pub fn source(&self) -> &str {
        self.field("source")
    }

    pub fn detail_type(&self) -> &str {
        self.field("detail-type")
    }

    pub fn detail(&self) -> &Value {
        &self.json["detail"]
    }

    /// The whole envelope, for pattern matching.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The envelope as JSON text: what a target's input is.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn field(&self, name: &str) -> &str {
        self.json[name].as_str().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_eventbridges_fields_in_its_order() {
        let at = DateTime::from_timestamp(1_727_445_902, 0).expect("time");
        let event = Event::envelope(
            Entry {
                source: "aws.iam".into(),
                detail_type: "AWS API Call via CloudTrail".into(),
                detail: json!({"eventName": "CreateUser"}),
                resources: vec![],
                time: at,
            },
            "123456789012",
            "us-east-1",
        );
        let keys: Vec<&str> = event
            .json()
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "id",
                "detail-type",
                "source",
                "account",
                "time",
                "region",
                "resources",
                "detail"
            ]
        );
        assert_eq!(event.json()["time"], "2024-09-27T14:05:02Z");
        assert_eq!(
            serde_json::from_str::<Value>(event.text()).expect("json"),
            *event.json()
        );
        assert!(uuid::Uuid::parse_str(event.id()).is_ok());
    }

    #[test]
    fn from_json_wants_an_envelope() {
        let ok = json!({"id": "1", "source": "s", "detail-type": "d", "detail": {}});
        assert_eq!(Event::from_json(ok).expect("event").source(), "s");
        assert!(Event::from_json(json!({"id": "1", "source": "s", "detail-type": "d"})).is_err());
        assert!(Event::from_json(json!([1])).is_err());
    }
}
