//! Who may decide an incident.
//!
//! - With sign-in configured, only a signed-in approver on the allowlist (a verified email,
//!   or a member of a listed group) decides from the pages; whoever merely holds the link
//!   does not.
//! - `cordon approve`/`reject`/`release` decide with AWS credentials: IAM already says who
//!   may (the same power as `states:SendTaskSuccess`), so the allowlist does not apply.
//! - Nobody decides an incident they are part of: its actor (the identity that made the
//!   call) and its target (the user to contain or release) are refused, matched by ARN and
//!   unique id for AWS identities, and by user or session name against a signed-in email,
//!   its local part, the verified name, or a typed name.
use cordon_aws::links::{LinkRecord, Party};
use cordon_core::model::VerifiedIdentity;

use crate::oidc::OidcConfig;

/// Who asks to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    /// Signed in with the configured identity provider (a verified ID token).
    Oidc {
        identity: VerifiedIdentity,
        groups: Vec<String>,
        email_verified: Option<bool>,
    },
    /// `cordon approve`/`reject`/`release`: the caller as `sts:GetCallerIdentity` reports it.
    Aws {
        arn: String,
        unique_id: Option<String>,
    },
    /// Link-only mode: whoever holds the link, and the name they typed.
    LinkHolder { name: Option<String> },
}

impl Approver {
    /// The verified identity, if any.
    pub fn verified(&self) -> Option<VerifiedIdentity> {
        match self {
            Approver::Oidc { identity, .. } => Some(identity.clone()),
            Approver::Aws { arn, .. } => Some(VerifiedIdentity {
                method: "aws".into(),
                issuer: "aws:sts".into(),
                subject: arn.clone(),
                email: None,
                name: None,
            }),
            Approver::LinkHolder { .. } => None,
        }
    }

    /// The name recorded with the decision.
    pub fn name(&self) -> Option<String> {
        match self {
            Approver::Oidc { identity, .. } => identity
                .email
                .clone()
                .or_else(|| identity.name.clone())
                .or_else(|| Some(identity.subject.clone())),
            Approver::Aws { arn, .. } => Some(arn.clone()),
            Approver::LinkHolder { name } => name.clone(),
        }
    }
}

/// Why a decision was refused (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Sign-in is configured and the request is not signed in.
    SignInRequired,
    /// Signed in, but not on the approver allowlist.
    NotAnApprover(String),
    /// The approver is the incident's actor or target.
    OwnIncident(String),
    /// A release whose typed user name does not match.
    ConfirmationMismatch,
    /// A decision that does not fit the link (`release` on an approval link, …).
    WrongDecision,
}

impl Refusal {
    /// The page's text.
    pub fn text(&self) -> String {
        match self {
            Refusal::SignInRequired => {
                "Sign in with your identity provider to decide; nothing was changed.".into()
            }
            Refusal::NotAnApprover(who) => format!(
                "{who} is not on the list of people who may decide Cordon incidents; nothing \
                 was changed. Ask your security team to add you."
            ),
            Refusal::OwnIncident(why) => format!(
                "You cannot decide an incident you are part of ({why}); nothing was changed. \
                 Ask another approver."
            ),
            Refusal::ConfirmationMismatch => {
                "The user name you typed does not match the user to release; nothing was \
                 changed."
                    .into()
            }
            Refusal::WrongDecision => "Unknown decision; nothing was changed.".into(),
        }
    }
}

/// Whether `approver` may decide `link` (see the module docs).
pub fn authorize(
    oidc: Option<&OidcConfig>,
    link: &LinkRecord,
    approver: &Approver,
) -> Result<(), Refusal> {
    match (oidc, approver) {
        (Some(_), Approver::LinkHolder { .. }) => return Err(Refusal::SignInRequired),
        (
            Some(config),
            Approver::Oidc {
                identity,
                groups,
                email_verified,
            },
        ) => {
            let email = identity
                .email
                .as_deref()
                .filter(|_| *email_verified != Some(false))
                .map(str::to_ascii_lowercase);
            let by_email = email
                .as_deref()
                .is_some_and(|e| config.approvers.emails.contains(e));
            let by_group = groups.iter().any(|g| config.approvers.groups.contains(g));
            if !(by_email || by_group) {
                return Err(Refusal::NotAnApprover(identity.display()));
            }
        }
        _ => {}
    }
    for party in &link.summary.parties {
        if let Some(why) = same_party(approver, party) {
            return Err(Refusal::OwnIncident(why));
        }
    }
    Ok(())
}

/// Why `approver` is `party`, if it is.
fn same_party(approver: &Approver, party: &Party) -> Option<String> {
    let names: Vec<String> = party.names.iter().map(|n| n.to_ascii_lowercase()).collect();
    let named = |candidate: &str| {
        let c = candidate.trim().to_ascii_lowercase();
        (!c.is_empty() && names.contains(&c)).then_some(c)
    };
    match approver {
        Approver::Aws { arn, unique_id } => {
            if party.arn.as_deref() == Some(arn.as_str()) {
                return Some(format!("{arn} is its actor or target"));
            }
            if let (Some(a), Some(b)) = (unique_id, &party.unique_id)
                && a == b
            {
                return Some(format!("unique id {a} is its actor or target"));
            }
            // A user's name, or an assumed role's session name, from the caller's ARN.
            let last = arn.rsplit('/').next().unwrap_or_default();
            named(last).map(|n| format!("{n} is its actor or target"))
        }
        Approver::Oidc { identity, .. } => {
            let email = identity.email.as_deref().unwrap_or_default();
            let local = email.split('@').next().unwrap_or_default();
            [email, local, identity.name.as_deref().unwrap_or_default()]
                .into_iter()
                .find_map(named)
                .map(|n| format!("{n} is its actor or target"))
        }
        Approver::LinkHolder { name } => named(name.as_deref().unwrap_or_default())
            .map(|n| format!("{n} is its actor or target")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use cordon_aws::links::{LinkHash, LinkKind, LinkStatus, LinkSummary};

    fn link() -> LinkRecord {
        LinkRecord {
            kind: LinkKind::Approval,
            hash: LinkHash::parse(&"a".repeat(64)).expect("hash"),
            incident_id: "ct-1".into(),
            task_token: None,
            summary: LinkSummary {
                parties: vec![
                    Party {
                        arn: Some("arn:aws:sts::1:assumed-role/Admin/jdoe@example.com".into()),
                        unique_id: Some("AROAADMINROLE00000001".into()),
                        names: vec!["jdoe@example.com".into()],
                    },
                    Party {
                        arn: Some("arn:aws:iam::1:user/support-admin".into()),
                        unique_id: Some("AIDASUPPORT0000000001".into()),
                        names: vec!["support-admin".into()],
                    },
                ],
                ..LinkSummary::default()
            },
            created_at: Utc::now(),
            expires_at: Utc::now(),
            ttl: 0,
            status: LinkStatus::Pending,
            decision: None,
            decided_at: None,
            decided_by: None,
            delivered_at: None,
            closed_at: None,
            message_id: None,
        }
    }

    fn oidc() -> OidcConfig {
        OidcConfig {
            issuer: "https://idp".into(),
            client_id: "c".into(),
            client_secret: None,
            approvers: crate::oidc::Approvers::parse(
                &[
                    "alice@example.com".into(),
                    "jdoe@example.com".into(),
                    "group:sec".into(),
                ],
                "t",
            )
            .expect("approvers"),
            groups_claim: "groups".into(),
        }
    }

    fn signed_in(email: &str, groups: &[&str], verified: Option<bool>) -> Approver {
        Approver::Oidc {
            identity: VerifiedIdentity {
                method: "oidc".into(),
                issuer: "https://idp".into(),
                subject: format!("sub-{email}"),
                email: Some(email.into()),
                name: None,
            },
            groups: groups.iter().map(|g| g.to_string()).collect(),
            email_verified: verified,
        }
    }

    #[test]
    fn only_listed_signed_in_approvers_decide_when_sign_in_is_configured() {
        let l = link();
        let c = oidc();
        assert_eq!(
            authorize(
                Some(&c),
                &l,
                &signed_in("Alice@Example.com", &[], Some(true))
            ),
            Ok(())
        );
        assert_eq!(
            authorize(Some(&c), &l, &signed_in("bob@example.com", &["sec"], None)),
            Ok(())
        );
        assert!(matches!(
            authorize(Some(&c), &l, &signed_in("bob@example.com", &["dev"], None)),
            Err(Refusal::NotAnApprover(_))
        ));
        // An unverified email does not count.
        assert!(matches!(
            authorize(
                Some(&c),
                &l,
                &signed_in("alice@example.com", &[], Some(false))
            ),
            Err(Refusal::NotAnApprover(_))
        ));
        assert_eq!(
            authorize(Some(&c), &l, &Approver::LinkHolder { name: None }),
            Err(Refusal::SignInRequired)
        );
        assert_eq!(
            authorize(None, &l, &Approver::LinkHolder { name: None }),
            Ok(())
        );
    }

    #[test]
    fn the_actor_and_the_target_never_decide() {
        let l = link();
        let c = oidc();
        // jdoe is an approver, but made the call (its SSO session name is its email).
        assert!(matches!(
            authorize(
                Some(&c),
                &l,
                &signed_in("jdoe@example.com", &[], Some(true))
            ),
            Err(Refusal::OwnIncident(_))
        ));
        assert!(matches!(
            authorize(
                Some(&c),
                &l,
                &signed_in("support-admin@example.com", &["sec"], None)
            ),
            Err(Refusal::OwnIncident(_))
        ));
        assert!(matches!(
            authorize(
                None,
                &l,
                &Approver::Aws {
                    arn: "arn:aws:iam::1:user/support-admin".into(),
                    unique_id: None
                }
            ),
            Err(Refusal::OwnIncident(_))
        ));
        assert!(matches!(
            authorize(
                None,
                &l,
                &Approver::Aws {
                    arn: "arn:aws:sts::1:assumed-role/Other/x".into(),
                    unique_id: Some("AROAADMINROLE00000001".into())
                }
            ),
            Err(Refusal::OwnIncident(_))
        ));
        assert_eq!(
            authorize(
                None,
                &l,
                &Approver::Aws {
                    arn: "arn:aws:iam::1:user/alice".into(),
                    unique_id: None
                }
            ),
            Ok(())
        );
        assert!(matches!(
            authorize(
                None,
                &l,
                &Approver::LinkHolder {
                    name: Some("Support-Admin".into())
                }
            ),
            Err(Refusal::OwnIncident(_))
        ));
    }
}
