//! The audit trail turned off or narrowed. The CLI speaks no CloudTrail API, so these
//! deliver the events alone.
use serde_json::{Value, json};

use super::cloudtrail::{ApiCall, Story};
use super::scenario::Target;

/// The trail the attacker goes after, as in the fixture story.
const TRAIL: &str = "org-management-events";

fn trail_arn(story: &Story) -> String {
    format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/{TRAIL}",
        story.account()
    )
}

/// `StopLogging` on the organisation's trail, as `cloudtrail-stop-logging.json`.
pub fn stopped_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("cloudtrail", "StopLogging")
            .request(json!({ "name": trail_arn(story) }))
            .event(story),
    ]
}

/// `UpdateTrail` making the trail single-Region: calls in every other Region go unlogged.
pub fn weakened_events(story: &Story, _: &Target) -> Vec<Value> {
    let account = story.account();
    vec![
        ApiCall::new("cloudtrail", "UpdateTrail")
            .request(json!({ "name": TRAIL, "isMultiRegionTrail": false }))
            .response(json!({
                "name": TRAIL,
                "s3BucketName": format!("org-cloudtrail-logs-{account}"),
                "includeGlobalServiceEvents": true,
                "isMultiRegionTrail": false,
                "trailARN": trail_arn(story),
                "logFileValidationEnabled": true,
                "isOrganizationTrail": false,
            }))
            .event(story),
    ]
}

/// `UpdateTrail` turning log file validation off: the trail still records everything, but
/// its logs can be edited unnoticed.
pub fn changed_events(story: &Story, _: &Target) -> Vec<Value> {
    let account = story.account();
    vec![
        ApiCall::new("cloudtrail", "UpdateTrail")
            .request(json!({ "name": TRAIL, "enableLogFileValidation": false }))
            .response(json!({
                "name": TRAIL,
                "s3BucketName": format!("org-cloudtrail-logs-{account}"),
                "includeGlobalServiceEvents": true,
                "isMultiRegionTrail": true,
                "trailARN": trail_arn(story),
                "logFileValidationEnabled": false,
                "isOrganizationTrail": false,
            }))
            .event(story),
    ]
}
