//! The MFA compliance audit (reference S3): a console user without MFA, really created,
//! then the daily schedule's event delivered.
//!
//! The audit itself is a scheduled Lambda (`tasks/cordon-mfa-audit`) that reads the
//! credential report and starts one execution per non-compliant user. `cordon local up`
//! routes only the template's event-pattern rules, not its schedules, and runs no audit
//! function, so the schedule's event is delivered as `scheduled-daily-audit-trigger.json`
//! shapes it, for a stack that does.
use serde_json::Value;

use super::cloudtrail::{Story, scheduled_event};
use super::scenario::{Lab, Pending, Target};

pub fn noncompliant_user(lab: &Lab) -> Pending<'_> {
    Box::pin(lab.console_user("sim-no-mfa"))
}

pub fn schedule_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![scheduled_event(
        story.account(),
        &format!("{}-daily-mfa-audit", story.stack),
        story.at,
    )]
}
