//! The essentials of a raw event: what a person needs to act on an event that never became
//! a detection (its OpenIncident step failed, for example because the audit table was
//! unavailable), read so leniently that it cannot fail.
//!
//! Deliberately not the classifier: if classifying the event is what crashed, the failure
//! notification must not crash the same way. Only plain field reads happen here.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::str_at;

/// Keys of `requestParameters` that name what a call acted on, most specific first.
const TARGET_KEYS: &[&str] = &[
    "userName",
    "roleName",
    "groupName",
    "policyArn",
    "instanceProfileName",
    "name",
];

/// What happened, who did it, to whom, when: each `None` when the event does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventEssentials {
    /// `detail.eventID`.
    pub event_id: Option<String>,
    /// `detail.eventName`, else the envelope's `detail-type`.
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    /// `detail.eventTime`, else the envelope's `time`, as written.
    pub time: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The caller: `userIdentity.arn`, else its type and user name or principal id.
    pub actor: Option<String>,
    /// What the call acted on (`requestParameters.userName`, `roleName`, …).
    pub target: Option<String>,
    pub source_ip: Option<String>,
}

impl EventEssentials {
    /// Reads the essentials of a raw EventBridge event (a CloudTrail record in `detail`,
    /// or anything else: missing fields stay `None`).
    pub fn from_event(raw: &Value) -> Self {
        let detail = raw.get("detail").unwrap_or(&Value::Null);
        let text = |v: &Value, path: &[&str]| str_at(v, path).map(str::to_string);
        let identity = detail.get("userIdentity").unwrap_or(&Value::Null);
        let actor = text(identity, &["arn"]).or_else(|| {
            let kind = str_at(identity, &["type"]);
            let who = str_at(identity, &["userName"])
                .or_else(|| str_at(identity, &["principalId"]))
                .or_else(|| str_at(identity, &["invokedBy"]));
            match (kind, who) {
                (Some(k), Some(w)) => Some(format!("{k} {w}")),
                (Some(k), None) => Some(k.to_string()),
                (None, Some(w)) => Some(w.to_string()),
                (None, None) => None,
            }
        });
        let request = detail.get("requestParameters").unwrap_or(&Value::Null);
        let target = TARGET_KEYS.iter().find_map(|k| text(request, &[k]));
        Self {
            event_id: text(detail, &["eventID"]),
            event_name: text(detail, &["eventName"]).or_else(|| text(raw, &["detail-type"])),
            event_source: text(detail, &["eventSource"]).or_else(|| text(raw, &["source"])),
            time: text(detail, &["eventTime"]).or_else(|| text(raw, &["time"])),
            account: text(detail, &["recipientAccountId"]).or_else(|| text(raw, &["account"])),
            region: text(detail, &["awsRegion"]).or_else(|| text(raw, &["region"])),
            actor,
            target,
            source_ip: text(detail, &["sourceIPAddress"]),
        }
    }

    /// `true` when the event said nothing Cordon could read.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cloudtrail_event_gives_what_who_whom_and_when() {
        let e = EventEssentials::from_event(&json!({
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam",
            "account": "111122223333",
            "time": "2024-09-27T14:05:02Z",
            "region": "us-east-1",
            "detail": {
                "eventID": "ev-1",
                "eventName": "CreateUser",
                "eventSource": "iam.amazonaws.com",
                "eventTime": "2024-09-27T14:05:01Z",
                "awsRegion": "us-east-1",
                "recipientAccountId": "111122223333",
                "sourceIPAddress": "203.0.113.9",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/jdoe"},
                "requestParameters": {"userName": "support-admin"}
            }
        }));
        assert_eq!(e.event_id.as_deref(), Some("ev-1"));
        assert_eq!(e.event_name.as_deref(), Some("CreateUser"));
        assert_eq!(e.time.as_deref(), Some("2024-09-27T14:05:01Z"));
        assert_eq!(
            e.actor.as_deref(),
            Some("arn:aws:iam::111122223333:user/jdoe")
        );
        assert_eq!(e.target.as_deref(), Some("support-admin"));
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn anything_else_reads_as_far_as_it_goes() {
        let e = EventEssentials::from_event(&json!({
            "detail": {"userIdentity": {"type": "Root", "principalId": "111122223333"}}
        }));
        assert_eq!(e.actor.as_deref(), Some("Root 111122223333"));
        assert!(e.event_id.is_none());
        for raw in [json!(null), json!("text"), json!([1]), json!({"detail": 3})] {
            assert!(EventEssentials::from_event(&raw).is_empty(), "{raw}");
        }
    }
}
