//! The domain metrics of the record function, which sees every milestone of an incident
//! (`lib.rs`'s `measure` picks the milestones):
//! incidents opened (per rule, and in all; enrich counts them per rule and severity, once
//! it knows the severity), and how incidents end the first time they are
//! closed (a retried close that changes nothing counts nothing): containments (with the
//! time from the event to containment) and responses that failed, in all and per rule and
//! severity; and what happened to approval requests, from the timeline entries the
//! workflow appends the first time (a retried append counts nothing): approved, rejected,
//! timed out.
use chrono::{DateTime, Utc};
use cordon_aws::incidents::IncidentRecord;
use cordon_core::metrics::{MetricsLine, NAMESPACE, Unit, dimension, metric};
use cordon_core::model::{IncidentStatus, timeline_step};
use serde_json::Value;

/// What the metrics need of an incident that was just closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub rule: Option<String>,
    pub severity: Option<String>,
    /// When the event that opened the incident happened.
    pub event_time: Option<DateTime<Utc>>,
}

impl Closing {
    pub(crate) fn of(record: &IncidentRecord) -> Closing {
        Closing {
            rule: record.rule.clone(),
            severity: record.severity.map(|s| s.as_str().to_owned()),
            event_time: record
                .detection
                .as_ref()
                .map(|d| d.event_time)
                .or(record.opened_at),
        }
    }
}

/// An incident opened for the first time (not a duplicate, not a replay), by `rule`.
pub(crate) fn opened(rule: Option<&str>, at: DateTime<Utc>) -> Vec<MetricsLine> {
    let mut lines = Vec::new();
    if let Some(rule) = rule
        && let Ok(mut line) = MetricsLine::new(NAMESPACE, at).dimension(dimension::RULE, rule)
    {
        let _ = line.count(metric::INCIDENTS_OPENED);
        lines.push(line);
    }
    let mut total = MetricsLine::new(NAMESPACE, at);
    let _ = total.count(metric::INCIDENTS_OPENED);
    lines.push(total);
    lines
}

/// An incident this call closed as `status` (nothing for a close that changed nothing:
/// the caller does not call this then).
pub(crate) fn closed(
    status: IncidentStatus,
    closing: Option<&Closing>,
    at: DateTime<Utc>,
) -> Vec<MetricsLine> {
    let mut lines = Vec::new();
    let name = match status {
        IncidentStatus::Contained => metric::CONTAINMENTS,
        IncidentStatus::Failed => metric::RESPONSE_FAILURES,
        _ => return lines,
    };
    let mut total = MetricsLine::new(NAMESPACE, at);
    let _ = total.count(name);
    if status == IncidentStatus::Contained
        && let Some(event_time) = closing.and_then(|c| c.event_time)
    {
        let seconds = (at - event_time).num_milliseconds().max(0) as f64 / 1000.0;
        let _ = total.record(metric::TIME_TO_CONTAIN, Unit::Seconds, seconds);
    }
    lines.push(total);
    if let Some(Closing {
        rule: Some(rule),
        severity: Some(severity),
        ..
    }) = closing
        && let Ok(mut line) = MetricsLine::new(NAMESPACE, at)
            .dimension(dimension::RULE, rule)
            .and_then(|l| l.dimension(dimension::SEVERITY, severity))
    {
        let _ = line.count(name);
        lines.push(line);
    }
    lines
}

/// The metric a timeline entry counts under, if any: a human decision (its `details` are
/// the approval function's output, `decision` `approve` or `reject`), or a timeout.
pub(crate) fn counted_entry(step: &str, details: Option<&Value>) -> Option<&'static str> {
    match step {
        timeline_step::APPROVAL => {
            match details
                .and_then(|d| d.get("decision"))
                .and_then(Value::as_str)
            {
                Some("approve") => Some(metric::APPROVALS),
                Some("reject") => Some(metric::REJECTIONS),
                _ => None,
            }
        }
        timeline_step::APPROVAL_TIMEOUT => Some(metric::APPROVAL_TIMEOUTS),
        _ => None,
    }
}

/// One count of `name`, in all.
pub(crate) fn count(name: &str, at: DateTime<Utc>) -> Vec<MetricsLine> {
    let mut line = MetricsLine::new(NAMESPACE, at);
    let _ = line.count(name);
    vec![line]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_core::metrics::validate;

    fn rendered(lines: &[MetricsLine]) -> Vec<String> {
        let out: Vec<String> = lines.iter().flat_map(MetricsLine::render).collect();
        for line in &out {
            validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        out
    }

    fn closing() -> Closing {
        Closing {
            rule: Some("iam.user-created".into()),
            severity: Some("critical".into()),
            event_time: DateTime::from_timestamp(1_764_000_000, 0),
        }
    }

    #[test]
    fn a_first_containment_counts_with_its_time_to_contain() {
        let at = DateTime::from_timestamp(1_764_000_042, 500_000_000).unwrap();
        let lines = rendered(&closed(IncidentStatus::Contained, Some(&closing()), at));
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[0].contains("\"Containments\":1.0"), "{}", lines[0]);
        assert!(lines[0].contains("\"TimeToContain\":42.5"), "{}", lines[0]);
        assert!(
            lines[1].contains("\"Rule\":\"iam.user-created\""),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].contains("\"Severity\":\"critical\""),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn other_endings_count_what_they_are() {
        let at = Utc::now();
        assert!(closed(IncidentStatus::Notified, Some(&closing()), at).is_empty());
        let opened = rendered(&opened(Some("iam.user-created"), at));
        assert_eq!(opened.len(), 2, "{opened:?}");
        assert!(
            opened[0].contains("\"Rule\":\"iam.user-created\""),
            "{opened:?}"
        );
        // A rejected event is not closed by the workflow (OpenIncident fails with it).
        assert!(closed(IncidentStatus::Rejected, None, at).is_empty());
    }

    #[test]
    fn decisions_and_timeouts_count_what_they_are() {
        let decided = |d: &str| {
            counted_entry(
                timeline_step::APPROVAL,
                Some(&serde_json::json!({"decision": d})),
            )
        };
        assert_eq!(decided("approve"), Some(metric::APPROVALS));
        assert_eq!(decided("reject"), Some(metric::REJECTIONS));
        assert_eq!(decided("maybe"), None);
        assert_eq!(counted_entry(timeline_step::APPROVAL, None), None);
        assert_eq!(
            counted_entry(timeline_step::APPROVAL_TIMEOUT, None),
            Some(metric::APPROVAL_TIMEOUTS)
        );
        assert_eq!(counted_entry("Enrich", None), None);
        let line = rendered(&count(metric::APPROVAL_TIMEOUTS, Utc::now()));
        assert!(line[0].contains("\"ApprovalTimeouts\":1.0"), "{line:?}");
    }
}
