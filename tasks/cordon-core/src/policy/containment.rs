//! Who may be contained and whose actions are expected: allowlisted actors, protected
//! (break-glass) principals, the root user and Cordon's own roles, each matched by IAM
//! unique id ([`TrustedIds`], see `identities.rs`), never by name.
use super::identities::TrustedIds;
use super::settings::ResponsePolicy;
use crate::error::TaskError;
use crate::model::{Actor, Principal, PrincipalKind};

impl ResponsePolicy {
    /// `true` when the actor's unique id (the user's, or the role's for an assumed-role
    /// session) is one of the resolved `allowlisted_actors`. Root is never allowlisted.
    pub fn is_actor_allowlisted(&self, actor: &Actor, ids: &TrustedIds) -> bool {
        ids.is_allowlisted(actor)
    }

    /// `true` when the principal's unique id is one of the resolved `protected_principals`.
    pub fn is_protected(&self, principal: &Principal, ids: &TrustedIds) -> bool {
        principal
            .unique_id()
            .is_some_and(|id| ids.protected.contains(&id))
    }

    /// Refuses root, Cordon's own roles (and their sessions) and protected principals, by
    /// unique id.
    pub fn check_containable(
        &self,
        principal: &Principal,
        ids: &TrustedIds,
    ) -> Result<(), TaskError> {
        let who = principal
            .arn
            .clone()
            .unwrap_or_else(|| principal.display_name());
        let protected = |reason: &str| TaskError::ProtectedPrincipal {
            principal: who.clone(),
            reason: reason.to_string(),
        };
        if principal.kind == PrincipalKind::Root
            || principal
                .arn
                .as_deref()
                .is_some_and(|a| a.ends_with(":root"))
        {
            return Err(protected("the root user is never contained"));
        }
        if is_own_role(principal, ids) {
            return Err(protected(
                "it is one of Cordon's own roles; containing it would disable incident response",
            ));
        }
        if self.is_protected(principal, ids) {
            return Err(protected(
                "it is on the response policy's protected_principals list (break-glass)",
            ));
        }
        if principal.name.is_none() && principal.arn.is_none() {
            return Err(TaskError::PrincipalNotFound(
                "(unknown: the event does not identify the principal)".to_string(),
            ));
        }
        Ok(())
    }
}

/// The principal is one of Cordon's own roles, or a session of one, by unique id.
pub(super) fn is_own_role(principal: &Principal, ids: &TrustedIds) -> bool {
    principal
        .unique_id()
        .is_some_and(|id| ids.own_roles.contains(&id))
}
