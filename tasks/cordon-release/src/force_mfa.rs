//! Releasing the force-MFA remediation: the force-MFA policy quarantine attached (named by
//! its timeline entry, `details.forceMfaPolicyArn`) is detached, unless the user had it
//! before containment.
use cordon_aws::incidents::TimelineEntry;
use cordon_core::TaskError;
use cordon_core::model::{Snapshot, UserFacts};
use serde_json::Value;

use crate::deps::Deps;
use crate::output::ReleaseOutput;

/// The force-MFA policy quarantine attached for this incident, if it did.
pub(crate) fn attached_by_quarantine(timeline: &[TimelineEntry]) -> Option<String> {
    timeline
        .iter()
        .filter(|e| e.step == crate::steps::QUARANTINE_STEP)
        .find_map(|e| {
            e.details
                .as_ref()?
                .get("forceMfaPolicyArn")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
        })
}

/// Detaches `arn` from the user, unless it was attached before containment.
pub(crate) async fn detach(
    arn: &str,
    facts: &UserFacts,
    snapshot: &Snapshot,
    deps: &Deps,
    out: &mut ReleaseOutput,
) -> Result<(), TaskError> {
    if snapshot.attached_policy_arns.iter().any(|a| a == arn) {
        out.actions_taken.push(format!(
            "left {arn} attached: it was attached before containment"
        ));
        return Ok(());
    }
    if !facts.attached_policies.iter().any(|p| p.arn == arn) {
        return Ok(());
    }
    if deps
        .identity
        .detach_user_policy(&snapshot.user_name, arn)
        .await?
    {
        out.actions_taken
            .push(format!("detached the force-MFA policy {arn}"));
    }
    Ok(())
}
