//! The force-MFA remediation for MFA findings (`cordon_core::quarantine::Plan`): the
//! stack's force-MFA managed policy (`ForceMfaPolicy` in `infra/template.yaml`, passed as
//! `CORDON_FORCE_MFA_POLICY_ARN`) attached to the user. Without MFA in its session the user
//! can only manage its own password and MFA device; release detaches it.
//!
//! The task never creates or looks up the policy by name: a policy an attacker created
//! under that name first would otherwise be attached in its place, and the function's role
//! may attach exactly the stack's policy and nothing else.
use cordon_core::TaskError;
use cordon_core::model::UserFacts;

use crate::deps::Deps;

/// Attaches the force-MFA policy once; returns its ARN and whether this run attached it.
pub(crate) async fn attach(facts: &UserFacts, deps: &Deps) -> Result<(String, bool), TaskError> {
    let arn = deps.force_mfa_policy_arn.clone().ok_or_else(|| {
        TaskError::Config(
            "the response policy attaches the force-MFA policy, but CORDON_FORCE_MFA_POLICY_ARN \
             is not set (the template sets it to the stack's ForceMfaPolicy)"
                .into(),
        )
    })?;
    if facts.attached_policies.iter().any(|p| p.arn == arn) {
        return Ok((arn, false));
    }
    deps.identity
        .attach_user_policy(&facts.user_name, &arn)
        .await?;
    Ok((arn, true))
}
