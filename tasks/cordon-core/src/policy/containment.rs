//! Who may be contained and whose actions are expected: allowlisted actors, protected
//! (break-glass) principals, the root user and Cordon's own roles.
use super::settings::ResponsePolicy;
use crate::error::TaskError;
use crate::model::{Actor, Principal, PrincipalKind};

impl ResponsePolicy {
    /// `true` when the actor's allowlist identity (session issuer role ARN for assumed
    /// roles, else the ARN) matches `allowlisted_actors`. Root is never allowlisted.
    pub fn is_actor_allowlisted(&self, actor: &Actor) -> bool {
        if actor.kind == PrincipalKind::Root {
            return false;
        }
        let Some(id) = actor.allowlist_identity() else {
            return false;
        };
        self.allowlisted_actors
            .iter()
            .any(|p| pattern_matches(p, id))
    }

    /// `true` when the principal is on `protected_principals` (by ARN or user name).
    pub fn is_protected(&self, principal: &Principal) -> bool {
        self.protected_principals.iter().any(|entry| {
            if entry.starts_with("arn:") {
                principal
                    .arn
                    .as_deref()
                    .is_some_and(|a| pattern_matches(entry, a))
            } else {
                principal.name.as_deref().is_some_and(|n| {
                    match entry.strip_suffix('*') {
                        Some(prefix) => n
                            .to_ascii_lowercase()
                            .starts_with(&prefix.to_ascii_lowercase()),
                        // IAM user names are unique case-insensitively.
                        None => n.eq_ignore_ascii_case(entry),
                    }
                })
            }
        })
    }

    /// Refuses root, Cordon's own roles (and their sessions) and protected principals.
    pub fn check_containable(
        &self,
        principal: &Principal,
        own_role_arns: &[String],
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
        if is_own_role(principal, own_role_arns) {
            return Err(protected(
                "it is one of Cordon's own roles; containing it would disable incident response",
            ));
        }
        if self.is_protected(principal) {
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

/// Exact match, or prefix match when `pattern` ends with `*`.
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => value == pattern,
    }
}

/// `(account, role name)` of a role ARN (`arn:aws:iam::ACC:role/path/NAME`) or an
/// assumed-role session ARN (`arn:aws:sts::ACC:assumed-role/NAME/SESSION`).
fn role_of_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    match service {
        "iam" => resource
            .strip_prefix("role/")
            .and_then(|r| r.rsplit('/').next())
            .map(|n| (account, n)),
        "sts" => resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split('/').next())
            .map(|n| (account, n)),
        _ => None,
    }
    .filter(|(_, n)| !n.is_empty())
}

/// The principal is one of Cordon's own roles, or a session of one.
pub(super) fn is_own_role(principal: &Principal, own_role_arns: &[String]) -> bool {
    own_role_arns.iter().any(|own| {
        if principal.arn.as_deref() == Some(own.as_str()) {
            return true;
        }
        let Some((own_acc, own_name)) = role_of_arn(own) else {
            return false;
        };
        // `own_name` may end in `*` (the template protects every `<stack>-*` role).
        if let Some((acc, name)) = principal.arn.as_deref().and_then(role_of_arn) {
            return acc == own_acc && pattern_matches(own_name, name);
        }
        matches!(
            principal.kind,
            PrincipalKind::Role | PrincipalKind::AssumedRole
        ) && principal
            .name
            .as_deref()
            .is_some_and(|name| pattern_matches(own_name, name))
            && principal.account_id.as_deref().is_none_or(|a| a == own_acc)
    })
}
