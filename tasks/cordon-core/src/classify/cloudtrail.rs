//! CloudTrail itself: someone turning off, narrowing or redirecting the audit trail.
//!
//! What counts as what (CloudTrail records the request, never the previous value, so a
//! setting named in the request is taken as changed):
//!
//! - `cloudtrail.logging-stopped` (critical): `StopLogging`, `DeleteTrail`.
//! - `cloudtrail.trail-weakened` (critical): the trail records less, or records it
//!   somewhere else. `UpdateTrail` making it single-Region (`isMultiRegionTrail` false),
//!   dropping global service events (IAM, STS and sign-in events:
//!   `includeGlobalServiceEvents` false), dropping the organisation's accounts
//!   (`isOrganizationTrail` false) or naming an S3 bucket (the logs' destination);
//!   `PutEventSelectors` leaving management events off, write events off, or read events
//!   off (`IncludeManagementEvents` false, `ReadWriteType` narrowed, advanced selectors
//!   without a `Management` selector or narrowed by `readOnly`), or narrowing them in a
//!   way Cordon does not model; selectors that cannot be read (uncertain: a human looks).
//! - `cloudtrail.trail-changed` (high): the trail still records everything but its
//!   integrity or monitoring changed. `UpdateTrail` turning log file validation off,
//!   changing or removing the KMS key, the CloudWatch Logs delivery, the SNS topic or the
//!   S3 key prefix; `PutEventSelectors` excluding management event sources (KMS, RDS
//!   Data API).
//! - Not an incident: an `UpdateTrail` that only strengthens the trail (multi-Region,
//!   global service events, validation on) and a `PutEventSelectors` that keeps every
//!   management event recorded (changes to data event selection are not incidents).
//!
//! The trail is not a principal, so the actor is the one to contain.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::event_selectors::management_coverage;
use super::rules;
use crate::event::{excerpt, parse_bool_lenient, value_at};

/// `StopLogging` or `DeleteTrail`.
pub(super) const LOGGING_STOPPED: Detector = Detector {
    event_source: sources::CLOUDTRAIL,
    event_names: &["StopLogging", "DeleteTrail"],
    rules: &[rules::LOGGING_STOPPED],
    examines_failed_calls: false,
    detect: logging_stopped,
};

/// `UpdateTrail` or `PutEventSelectors`: what the trail records, and where.
pub(super) const TRAIL_SETTINGS: Detector = Detector {
    event_source: sources::CLOUDTRAIL,
    event_names: &["UpdateTrail", "PutEventSelectors"],
    rules: &[rules::TRAIL_WEAKENED, rules::TRAIL_CHANGED],
    examines_failed_calls: false,
    detect: trail_settings,
};

fn logging_stopped(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let trail = rec.request_str("name");
    let mut ev = BTreeMap::new();
    ev.insert("trail".to_string(), json!(trail));
    ev.insert("trailAction".to_string(), json!(rec.event_name));
    let title = format!(
        "CloudTrail trail {} {} by {}",
        short_name(trail),
        if rec.event_name == "DeleteTrail" {
            "deleted"
        } else {
            "stopped"
        },
        call.actor_name()
    );
    call.incident(
        rules::LOGGING_STOPPED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}

/// What a trail-settings call did.
struct Findings {
    /// Coverage or destination lost: `cloudtrail.trail-weakened`.
    weakened: Vec<String>,
    /// Integrity or monitoring changed: `cloudtrail.trail-changed`.
    changed: Vec<String>,
    /// The request could be read.
    parsed: bool,
}

fn trail_settings(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let (trail, findings, mut ev) = if rec.event_name == "PutEventSelectors" {
        let trail = rec.request_str("trailName");
        let (findings, ev) = event_selectors(&rec.request_parameters);
        (trail, findings, ev)
    } else {
        (
            rec.request_str("name"),
            update_trail(&rec.request_parameters),
            BTreeMap::new(),
        )
    };
    ev.insert("trail".to_string(), json!(trail));
    ev.insert("trailAction".to_string(), json!(rec.event_name));
    let (rule, verb, headline) = match (findings.weakened.first(), findings.changed.first()) {
        (Some(first), _) => (rules::TRAIL_WEAKENED, "weakened", first),
        (None, Some(first)) => (rules::TRAIL_CHANGED, "changed", first),
        (None, None) => {
            return call.none(format!(
                "{} on trail {} keeps every management event recorded where it was; \
                 it only strengthens the trail or changes data event selection",
                rec.event_name,
                excerpt(short_name(trail))
            ));
        }
    };
    let title = format!(
        "CloudTrail trail {} {verb} by {}: {headline}",
        short_name(trail),
        call.actor_name()
    );
    if !findings.parsed {
        // Uncertain: the response policy never contains automatically on it.
        ev.insert("trailSettingsParsed".to_string(), json!(false));
    }
    ev.insert(
        "findings".to_string(),
        json!(
            findings
                .weakened
                .iter()
                .chain(&findings.changed)
                .collect::<Vec<_>>()
        ),
    );
    call.incident(rule, title, Some(call.actor_principal()), ev)
}

/// `UpdateTrail`: the settings its request names.
fn update_trail(request: &Value) -> Findings {
    let mut f = Findings {
        weakened: Vec::new(),
        changed: Vec::new(),
        parsed: request.is_object(),
    };
    if !f.parsed {
        f.weakened
            .push("the request's settings could not be read".to_string());
        return f;
    }
    let off = |key: &str| value_at(request, &[key]).and_then(parse_bool_lenient) == Some(false);
    if off("isMultiRegionTrail") {
        f.weakened
            .push("made single-Region: events in every other Region are no longer recorded".into());
    }
    if off("includeGlobalServiceEvents") {
        f.weakened.push(
            "global service events (IAM, STS, console sign-in) are no longer recorded".into(),
        );
    }
    if off("isOrganizationTrail") {
        f.weakened
            .push("no longer an organization trail: member accounts are no longer recorded".into());
    }
    if let Some(bucket) = value_at(request, &["s3BucketName"]).filter(|v| !v.is_null()) {
        f.weakened.push(format!(
            "logs are delivered to S3 bucket {}",
            excerpt(bucket.as_str().unwrap_or("(unreadable)"))
        ));
    }
    if off("enableLogFileValidation") {
        f.changed
            .push("log file integrity validation turned off".into());
    }
    for (key, what) in [
        ("kmsKeyId", "KMS key encrypting the logs"),
        ("cloudWatchLogsLogGroupArn", "CloudWatch Logs log group"),
        ("cloudWatchLogsRoleArn", "CloudWatch Logs delivery role"),
        ("snsTopicName", "SNS notification topic"),
        ("s3KeyPrefix", "S3 key prefix of the log files"),
    ] {
        match value_at(request, &[key]) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => f.changed.push(format!("{what} removed")),
            Some(v) => f.changed.push(format!(
                "{what} set to {}",
                excerpt(v.as_str().unwrap_or("(unreadable)"))
            )),
        }
    }
    f
}

/// `PutEventSelectors`: the management events the trail still records.
fn event_selectors(request: &Value) -> (Findings, BTreeMap<String, Value>) {
    let mut f = Findings {
        weakened: Vec::new(),
        changed: Vec::new(),
        parsed: true,
    };
    let mut ev = BTreeMap::new();
    let Some(c) = management_coverage(request) else {
        f.parsed = false;
        f.weakened.push(
            "the event selectors could not be read; management events may be off".to_string(),
        );
        return (f, ev);
    };
    ev.insert("managementWritesRecorded".to_string(), json!(c.writes));
    ev.insert("managementReadsRecorded".to_string(), json!(c.reads));
    match (c.writes, c.reads) {
        (false, false) => f
            .weakened
            .push("management events are no longer recorded".into()),
        (false, true) => f.weakened.push(
            "write management events are no longer recorded (selectors narrowed to read-only)"
                .into(),
        ),
        (true, false) => f.weakened.push(
            "read-only management events are no longer recorded (selectors narrowed to \
             write-only)"
                .into(),
        ),
        (true, true) => {}
    }
    if (c.writes || c.reads) && !c.other_restrictions.is_empty() {
        f.weakened.push(format!(
            "management events are narrowed by field selectors ({})",
            listed(&c.other_restrictions)
        ));
        ev.insert("selectorRestrictions".into(), json!(c.other_restrictions));
    }
    if (c.writes || c.reads) && !c.excluded_sources.is_empty() {
        f.changed.push(format!(
            "management events from {} are no longer recorded",
            listed(&c.excluded_sources)
        ));
        ev.insert(
            "excludedManagementSources".into(),
            json!(c.excluded_sources),
        );
    }
    (f, ev)
}

/// `a, b, c`, each shortened for a message.
fn listed(items: &[String]) -> String {
    items
        .iter()
        .map(|i| excerpt(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The last segment of a trail ARN (`arn:…:trail/NAME` → `NAME`), or the bare name.
fn short_name(trail: Option<&str>) -> &str {
    trail
        .map(|t| t.rsplit('/').next().unwrap_or(t))
        .unwrap_or("(unknown)")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn update_trail_findings() {
        let f = update_trail(
            &json!({"name": "t", "isMultiRegionTrail": false, "enableLogFileValidation": false}),
        );
        assert_eq!(f.weakened.len(), 1, "{:?}", f.weakened);
        assert_eq!(f.changed.len(), 1, "{:?}", f.changed);
        let f = update_trail(
            &json!({"name": "t", "isMultiRegionTrail": true, "includeGlobalServiceEvents": "true", "enableLogFileValidation": true}),
        );
        assert!(f.weakened.is_empty() && f.changed.is_empty());
        let f = update_trail(&json!({"name": "t", "s3BucketName": "attacker-bucket"}));
        assert!(
            f.weakened[0].contains("attacker-bucket"),
            "{:?}",
            f.weakened
        );
        let f = update_trail(&json!({"name": "t", "kmsKeyId": ""}));
        assert_eq!(f.changed, ["KMS key encrypting the logs removed"]);
        let f = update_trail(&Value::Null);
        assert!(!f.parsed && !f.weakened.is_empty());
    }
}
