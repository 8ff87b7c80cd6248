//! CloudTrail itself: someone turning off the audit trail.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::rules;

/// `StopLogging` or `DeleteTrail`. The trail is not a principal, so the actor is the one
/// to contain.
pub(super) const LOGGING_STOPPED: Detector = Detector {
    event_source: sources::CLOUDTRAIL,
    event_names: &["StopLogging", "DeleteTrail"],
    rules: &[rules::LOGGING_STOPPED],
    examines_failed_calls: false,
    detect: logging_stopped,
};

fn logging_stopped(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let trail = rec.request_str("name");
    let mut ev = BTreeMap::new();
    ev.insert("trail".to_string(), json!(trail));
    ev.insert("trailAction".to_string(), json!(rec.event_name));
    let title = format!(
        "CloudTrail trail {} {} by {}",
        trail
            .map(|t| t.rsplit('/').next().unwrap_or(t))
            .unwrap_or("(unknown)"),
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
