//! The MFA audit's findings as events: the audit starts one incident execution per
//! non-compliant user per day, with the finding as its input, and the workflow's
//! OpenIncident reads it here like any event.
//!
//! The event is an EventBridge-shaped envelope (`source` [`FINDING_SOURCE`],
//! `detail-type` [`FINDING_DETAIL_TYPE`], the home `account`) around a
//! [`UserFinding`]. No EventBridge rule routes it (Cordon's rules match `aws.*` sources
//! only, which no customer can put): only the audit, which may start executions, sends it.
//! It is read strictly, and a malformed one is rejected like any malformed event.
//!
//! The incident id is one per user per day (`incident_id_for_audit`), so a second audit
//! on the same day opens nothing new.
use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::classification::Classification;
use super::identity::validate_iam_user_name;
use super::rules;
use crate::audit::{FindingKind, ROOT_USER, UserFinding};
use crate::error::TaskError;
use crate::event::Envelope;
use crate::incident::incident_id_for_audit;
use crate::model::{AccountId, Actor, Detection, Principal, PrincipalKind};

/// The `source` of an audit finding.
pub const FINDING_SOURCE: &str = "cordon.mfa-audit";
/// The `detail-type` of an audit finding.
pub const FINDING_DETAIL_TYPE: &str = "Cordon MFA Audit Finding";

/// `env` is an audit finding.
pub(super) fn is_finding(env: &Envelope) -> bool {
    env.source.as_deref() == Some(FINDING_SOURCE)
        || env.detail_type.as_deref() == Some(FINDING_DETAIL_TYPE)
}

/// The event the audit starts an incident execution with, for `finding` in `account`
/// (whose audit runs in `region`).
pub fn finding_event(finding: &UserFinding, account: &AccountId, region: &str) -> Value {
    json!({
        "version": "0",
        "id": incident_id_for_audit(&finding.user, finding.audit_day),
        "detail-type": FINDING_DETAIL_TYPE,
        "source": FINDING_SOURCE,
        "account": account.as_str(),
        "time": finding.report_generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": region,
        "resources": [],
        "detail": finding,
    })
}

/// The incident for an audit finding.
pub(super) fn finding(env: &Envelope, home: &AccountId) -> Result<Classification, TaskError> {
    if env.source.as_deref() != Some(FINDING_SOURCE)
        || env.detail_type.as_deref() != Some(FINDING_DETAIL_TYPE)
    {
        return Err(TaskError::invalid(
            "source",
            format!(
                "an MFA audit finding has source {FINDING_SOURCE:?} and detail-type \
                 {FINDING_DETAIL_TYPE:?}"
            ),
        ));
    }
    let f: UserFinding = serde_json::from_value(env.detail.clone())
        .map_err(|e| TaskError::invalid("detail", format!("is not an MFA audit finding: {e}")))?;
    if f.findings.is_empty() {
        return Err(TaskError::invalid("detail.findings", "is empty"));
    }
    let root = f.user == ROOT_USER;
    if !root {
        validate_iam_user_name(&f.user, "detail.user")?;
    }
    let expected_arn = |arn: &str| -> bool {
        let Some((account, resource)) = crate::policy_document::iam_arn(arn) else {
            return false;
        };
        account == home.as_str()
            && if root {
                resource == "root"
            } else {
                resource.starts_with("user/") && resource.rsplit('/').next() == Some(&f.user)
            }
    };
    if !expected_arn(&f.arn) {
        return Err(TaskError::invalid(
            "detail.arn",
            format!(
                "{:?} is not the ARN of {} in the home account {home}",
                crate::event::excerpt(&f.arn),
                if root { "the root user" } else { "that user" }
            ),
        ));
    }
    let kinds: Vec<FindingKind> = f.findings.iter().map(|x| x.kind).collect();
    let rule = if root {
        if kinds.contains(&FindingKind::RootWithoutMfa) {
            rules::AUDIT_ROOT_MFA_MISSING
        } else {
            rules::AUDIT_ACCESS_KEY_STALE
        }
    } else if kinds.contains(&FindingKind::ConsoleWithoutMfa) {
        rules::AUDIT_MFA_MISSING
    } else {
        rules::AUDIT_ACCESS_KEY_STALE
    };
    let who = if root {
        "The root user".to_string()
    } else {
        format!("IAM user {}", f.user)
    };
    let title = format!(
        "{who} is not compliant: {}",
        f.findings
            .iter()
            .map(|x| x.detail.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let principal = Principal {
        kind: if root {
            PrincipalKind::Root
        } else {
            PrincipalKind::IamUser
        },
        name: (!root).then(|| f.user.clone()),
        arn: Some(f.arn.clone()),
        account_id: Some(home.to_string()),
        principal_id: None,
    };
    let incident_id = incident_id_for_audit(&f.user, f.audit_day);
    let mut evidence = BTreeMap::new();
    evidence.insert("auditDay".to_string(), json!(f.audit_day.to_string()));
    evidence.insert(
        "reportGeneratedAt".to_string(),
        json!(f.report_generated_at.to_rfc3339()),
    );
    evidence.insert("findings".to_string(), json!(f.findings));
    if let Some(used) = f.password_last_used {
        evidence.insert("passwordLastUsed".to_string(), json!(used.to_rfc3339()));
    }
    Ok(Classification::Incident(Detection {
        incident_id: incident_id.clone(),
        rule: rule.to_string(),
        title,
        event_id: incident_id,
        event_name: "CredentialReportAudit".to_string(),
        event_source: FINDING_SOURCE.to_string(),
        event_time: f.report_generated_at,
        region: env.region.clone().unwrap_or_else(|| "unknown".to_string()),
        account: home.to_string(),
        principal: Some(principal),
        actor: Actor {
            kind: PrincipalKind::AWSService,
            arn: None,
            name: Some("cordon-mfa-audit".to_string()),
            principal_id: None,
            account_id: Some(home.to_string()),
            access_key_id: None,
            session_issuer_arn: None,
            mfa_authenticated: None,
        },
        source_ip: None,
        user_agent: None,
        evidence,
        root_activity: false,
        inspect: None,
    }))
}
