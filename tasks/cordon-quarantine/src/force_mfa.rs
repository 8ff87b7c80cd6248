//! The force-MFA remediation for MFA findings (`cordon_core::quarantine::Plan`): the
//! stack's force-MFA managed policy (`CORDON_FORCE_MFA_POLICY_ARN`, else one created as
//! `CordonForceMFA`) attached to the user. Without MFA in its session the user can only
//! manage its own password and MFA device; release detaches it.
use cordon_core::TaskError;
use cordon_core::model::UserFacts;
use cordon_core::quarantine::{FORCE_MFA_POLICY_NAME, force_mfa_policy_document};

use crate::deps::Deps;

/// Attaches the force-MFA policy once; returns its ARN and whether this run attached it.
pub(crate) async fn attach(facts: &UserFacts, deps: &Deps) -> Result<(String, bool), TaskError> {
    let arn = match &deps.force_mfa_policy_arn {
        Some(arn) => arn.clone(),
        None => {
            deps.identity
                .ensure_managed_policy(
                    FORCE_MFA_POLICY_NAME,
                    &force_mfa_policy_document().to_string(),
                )
                .await?
        }
    };
    if facts.attached_policies.iter().any(|p| p.arn == arn) {
        return Ok((arn, false));
    }
    deps.identity
        .attach_user_policy(&facts.user_name, &arn)
        .await?;
    Ok((arn, true))
}
