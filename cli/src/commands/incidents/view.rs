//! What `incidents list`, `show` and `export` print about an incident, in JSON: field
//! names are camelCase and stable (README "JSON output"); new fields may be added, none
//! renamed or removed.
use chrono::{DateTime, SecondsFormat, Utc};
use cordon_aws::incidents::{IncidentRecord, TimelineEntry};
use cordon_aws::links::ApprovalDecision;
use cordon_core::model::{Assessment, Detection, Snapshot};
use cordon_core::release::ReleaseRecord;
use serde::{Serialize, Serializer};

/// Times in JSON: RFC 3339, UTC, milliseconds (as the table stores them).
fn millis<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        None => s.serialize_none(),
    }
}

/// One incident in a list: `incidents list` rows and the `incident` of `show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    pub incident_id: String,
    pub status: String,
    pub severity: Option<String>,
    pub disposition: Option<String>,
    pub rule: Option<String>,
    pub title: Option<String>,
    /// The principal's ARN, else its name.
    pub principal: Option<String>,
    /// The actor's ARN, else its name.
    pub actor: Option<String>,
    #[serde(serialize_with = "millis")]
    pub opened_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "millis")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "millis")]
    pub closed_at: Option<DateTime<Utc>>,
    pub execution_arn: Option<String>,
}

impl IncidentSummary {
    pub fn of(r: &IncidentRecord) -> Self {
        Self {
            incident_id: r.incident_id.clone(),
            status: r.status.as_str().to_string(),
            severity: r.severity.map(|s| s.as_str().to_string()),
            disposition: r.disposition.map(|d| d.as_str().to_string()),
            rule: r.rule.clone(),
            title: r.title.clone(),
            principal: r
                .principal
                .as_ref()
                .and_then(|p| p.arn.clone().or_else(|| p.name.clone())),
            actor: r
                .actor
                .as_ref()
                .and_then(|a| a.arn.clone().or_else(|| a.name.clone())),
            opened_at: r.opened_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
            execution_arn: r.execution_arn.clone(),
        }
    }
}

/// `incidents list --output json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentList {
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `--starting-token` for the next page; `null` on the last.
    pub next_token: Option<String>,
}

/// The execution handling an incident, with the console link.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionLink {
    pub arn: String,
    /// The Step Functions console's page of the execution (its graph view).
    pub console_url: String,
}

impl ExecutionLink {
    pub fn of(arn: &str) -> Self {
        // arn:aws:states:<region>:<account>:execution:<machine>:<name>
        let region = arn.split(':').nth(3).unwrap_or("us-east-1");
        let domain = if arn.starts_with("arn:aws-cn:") {
            "console.amazonaws.cn"
        } else if arn.starts_with("arn:aws-us-gov:") {
            "console.amazonaws-us-gov.com"
        } else {
            "console.aws.amazon.com"
        };
        Self {
            arn: arn.to_string(),
            console_url: format!(
                "https://{region}.{domain}/states/home?region={region}#/v2/executions/details/{arn}"
            ),
        }
    }
}

/// `incidents show --output json`: everything about one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDetail {
    pub incident: IncidentSummary,
    pub detection: Option<Detection>,
    pub assessment: Option<Assessment>,
    pub snapshot: Option<Snapshot>,
    #[serde(serialize_with = "millis")]
    pub snapshot_at: Option<DateTime<Utc>>,
    /// The human decision, as the workflow recorded it (who, when, from where).
    pub approval: Option<ApprovalDecision>,
    pub release: Option<ReleaseRecord>,
    /// Why a rejected event was rejected, or why the response failed.
    pub error: Option<String>,
    pub summary: Option<String>,
    #[serde(serialize_with = "millis")]
    pub replayed_at: Option<DateTime<Utc>>,
    pub timeline: Vec<TimelineEntry>,
    pub execution: Option<ExecutionLink>,
}

impl IncidentDetail {
    pub fn of(record: &IncidentRecord, timeline: Vec<TimelineEntry>) -> Self {
        let approval = record.approval.clone().or_else(|| {
            timeline
                .iter()
                .rev()
                .filter(|e| e.step == cordon_core::model::timeline_step::APPROVAL)
                .find_map(|e| serde_json::from_value(e.details.clone()?).ok())
        });
        Self {
            incident: IncidentSummary::of(record),
            detection: record.detection.clone(),
            assessment: record.assessment.clone(),
            snapshot: record.snapshot.clone(),
            snapshot_at: record.snapshot_at,
            approval,
            release: record.release.clone(),
            error: record.error.clone(),
            summary: record.summary.clone(),
            replayed_at: record.replayed_at,
            timeline,
            execution: record.execution_arn.as_deref().map(ExecutionLink::of),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_link_opens_the_execution_in_its_region() {
        let link = ExecutionLink::of(
            "arn:aws:states:eu-west-1:123456789012:execution:cordon-incident:abc",
        );
        assert_eq!(
            link.console_url,
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:cordon-incident:abc"
        );
    }
}
