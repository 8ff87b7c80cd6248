//! One CloudTrail call being classified, and the builders every detector shares: the
//! account and region, principals, the requested user, and the incident itself.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::classification::{Classification, Dismissal};
use super::home::Home;
use super::identity::{actor_from_record, validate_iam_user_name};
use crate::error::TaskError;
use crate::event::{CloudTrailRecord, Envelope, json_type_name, value_at};
use crate::incident::incident_id_for_event;
use crate::model::{Actor, Detection, Inspect, Principal, PrincipalKind};

/// What a detector returns: a classification, or `InvalidEvent` for a malformed record.
pub(super) type Verdict = Result<Classification, TaskError>;

/// User agents of offensive-security distributions (an attacker signal).
const SUSPICIOUS_USER_AGENT_MARKERS: &[&str] = &[
    "distrib#kali",
    "kali-linux",
    "kali linux",
    "distrib#parrot",
    "parrot os",
    "pentoo",
    "blackarch",
];

/// A CloudTrail record from the home account, with its envelope and the actor already
/// worked out.
pub(super) struct Call<'a> {
    pub(super) env: &'a Envelope,
    pub(super) rec: &'a CloudTrailRecord,
    pub(super) actor: Actor,
    /// The account the record was checked to come from (see `home.rs`), and the stack.
    pub(super) home: &'a Home,
}

impl<'a> Call<'a> {
    /// `rec` must already have passed the home-account check.
    pub(super) fn new(env: &'a Envelope, rec: &'a CloudTrailRecord, home: &'a Home) -> Self {
        Call {
            env,
            rec,
            actor: actor_from_record(rec),
            home,
        }
    }

    /// The home account: the record named no other.
    pub(super) fn account(&self) -> String {
        self.home.account.to_string()
    }

    fn region(&self) -> String {
        self.rec
            .aws_region
            .clone()
            .or_else(|| self.env.region.clone())
            .unwrap_or_else(|| "unknown".to_string())
    }

    pub(super) fn is_root(&self) -> bool {
        self.actor.kind == PrincipalKind::Root
    }

    pub(super) fn actor_name(&self) -> String {
        self.actor.display_name()
    }

    /// Judged: understood, and no incident.
    pub(super) fn none(&self, reason: impl Into<String>) -> Verdict {
        Ok(Classification::NotAnIncident {
            reason: reason.into(),
            dismissal: Dismissal::Judged,
        })
    }

    /// Not an incident unless the failed sign-in counter says otherwise
    /// ([`Dismissal::SignedInWithMfa`]).
    pub(super) fn signed_in_with_mfa(&self, reason: impl Into<String>) -> Verdict {
        Ok(Classification::NotAnIncident {
            reason: reason.into(),
            dismissal: Dismissal::SignedInWithMfa,
        })
    }

    /// No detection covers this call.
    pub(super) fn no_rule(&self, reason: impl Into<String>) -> Verdict {
        Ok(Classification::NotAnIncident {
            reason: reason.into(),
            dismissal: Dismissal::NoRule,
        })
    }

    /// A call that failed (`errorCode` set) changed nothing: no incident.
    pub(super) fn failed_call(&self) -> Verdict {
        self.none(format!(
            "{} by {} failed with {}; nothing changed",
            self.rec.event_name,
            self.actor_name(),
            self.rec.error_code.as_deref().unwrap_or("an error")
        ))
    }

    pub(super) fn user_principal(
        &self,
        name: String,
        arn: Option<String>,
        id: Option<String>,
    ) -> Principal {
        Principal {
            kind: PrincipalKind::IamUser,
            name: Some(name),
            arn,
            account_id: Some(self.account()),
            principal_id: id,
        }
    }

    pub(super) fn root_principal(&self) -> Principal {
        Principal {
            kind: PrincipalKind::Root,
            name: None,
            arn: self.rec.user_identity.arn.clone(),
            account_id: Some(self.account()),
            principal_id: self.rec.user_identity.principal_id.clone(),
        }
    }

    /// The actor as the one to contain (when the target is gone or is the trail itself).
    pub(super) fn actor_principal(&self) -> Principal {
        if self.is_root() {
            self.root_principal()
        } else {
            self.actor.as_principal()
        }
    }

    /// Opens an incident under `rule`. Adds the evidence every rule shares: a suspicious
    /// user agent and whether the actor's session used MFA.
    pub(super) fn incident(
        &self,
        rule: &str,
        title: String,
        principal: Option<Principal>,
        evidence: BTreeMap<String, Value>,
    ) -> Verdict {
        self.incident_inspecting(rule, title, principal, evidence, None)
    }

    /// [`Call::incident`], asking enrich to read `inspect` before it is judged.
    pub(super) fn incident_inspecting(
        &self,
        rule: &str,
        title: String,
        principal: Option<Principal>,
        mut evidence: BTreeMap<String, Value>,
        inspect: Option<Inspect>,
    ) -> Verdict {
        if let Some(ua) = self.rec.user_agent.as_deref() {
            let lower = ua.to_ascii_lowercase();
            if let Some(marker) = SUSPICIOUS_USER_AGENT_MARKERS
                .iter()
                .find(|m| lower.contains(*m))
            {
                evidence.insert("suspiciousUserAgent".into(), json!(marker));
            }
        }
        if let Some(mfa) = self.actor.mfa_authenticated {
            evidence
                .entry("actorMfaAuthenticated".into())
                .or_insert(json!(mfa));
        }
        Ok(Classification::Incident(
            Detection {
                incident_id: incident_id_for_event(&self.rec.event_id),
                rule: rule.to_string(),
                title,
                event_id: self.rec.event_id.clone(),
                event_name: self.rec.event_name.clone(),
                event_source: self.rec.event_source.clone(),
                event_time: self.rec.event_time,
                region: self.region(),
                account: self.account(),
                principal,
                actor: self.actor.clone(),
                source_ip: self.rec.source_ip_address.clone(),
                user_agent: self.rec.user_agent.clone(),
                evidence,
                root_activity: self.is_root(),
                inspect,
            }
            .bounded(),
        ))
    }

    /// `requestParameters.<key>` as a validated IAM user name. `None` when absent/null.
    pub(super) fn request_user_name(&self, key: &str) -> Result<Option<String>, TaskError> {
        let field = format!("detail.requestParameters.{key}");
        match value_at(&self.rec.request_parameters, &[key]) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                validate_iam_user_name(s, &field)?;
                Ok(Some(s.clone()))
            }
            Some(other) => Err(TaskError::invalid(
                field,
                format!("must be a string, got {}", json_type_name(other)),
            )),
        }
    }

    /// The user a call targets: `requestParameters.userName`, else the caller (IAM API
    /// calls without `userName` act on the calling user).
    pub(super) fn target_user(&self) -> Result<Option<String>, TaskError> {
        Ok(self.request_user_name("userName")?.or_else(|| {
            (self.actor.kind == PrincipalKind::IamUser)
                .then(|| self.actor.name.clone())
                .flatten()
        }))
    }

    /// A role of the home account by name, as the one to contain.
    pub(super) fn role_principal(&self, name: String, arn: Option<String>) -> Principal {
        Principal {
            kind: PrincipalKind::Role,
            name: Some(name),
            arn,
            account_id: Some(self.account()),
            principal_id: None,
        }
    }

    /// The call was made by CloudFormation on someone's behalf (a stack deployment):
    /// `userIdentity.invokedBy` or `sourceIPAddress` is `cloudformation.amazonaws.com`.
    pub(super) fn by_cloudformation(&self) -> bool {
        const CFN: &str = "cloudformation.amazonaws.com";
        self.rec.user_identity.invoked_by.as_deref() == Some(CFN)
            || self.rec.source_ip_address.as_deref() == Some(CFN)
    }

    /// The caller is the IAM user `target` (case-insensitive, as IAM user names are).
    pub(super) fn is_self(&self, target: &str) -> bool {
        self.actor.kind == PrincipalKind::IamUser
            && self
                .actor
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(target))
    }
}
