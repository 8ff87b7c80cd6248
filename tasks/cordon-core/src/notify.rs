//! Rendering of SNS notifications (subject, body, message attributes).
//!
//! SNS rules enforced here: the subject is printable ASCII, has no line breaks or
//! control characters, starts with a letter/digit/punctuation and is at most
//! [`MAX_SUBJECT_LEN`] characters (truncated with `...`). The body is plain text, with
//! every event-derived value stripped of control characters and capped in length.
//!
//! Never rendered: task tokens, passwords, secrets. Evidence keys that look secret are
//! redacted, and a link that carries a token parameter is withheld: the approval link must
//! only hold an opaque approval id.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::rules;
use crate::model::{Assessment, Detection, PrincipalKind};

/// SNS subjects must be under 100 characters.
pub const MAX_SUBJECT_LEN: usize = 99;
/// Cap for one rendered value (evidence entry, user agent, …).
pub const MAX_VALUE_LEN: usize = 1000;
/// Cap for the whole body (SNS allows 256 KiB).
pub const MAX_BODY_LEN: usize = 200_000;

/// Message attribute names.
pub mod attributes {
    pub const SEVERITY: &str = "severity";
    pub const RULE: &str = "rule";
    pub const INCIDENT_ID: &str = "incident_id";
    pub const DISPOSITION: &str = "disposition";
    pub const KIND: &str = "kind";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotificationKind {
    /// An incident that is only reported (disposition notify).
    Alert,
    /// A human must approve containment (carries the approval link).
    ApprovalRequest,
    /// The principal was contained.
    Contained,
    /// A human rejected containment, or the approval timed out without action.
    Dismissed,
    /// The workflow failed.
    Failure,
    /// The event was malformed and rejected.
    Rejected,
    /// A contained principal was released.
    Released,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alert => "alert",
            NotificationKind::ApprovalRequest => "approvalRequest",
            NotificationKind::Contained => "contained",
            NotificationKind::Dismissed => "dismissed",
            NotificationKind::Failure => "failure",
            NotificationKind::Rejected => "rejected",
            NotificationKind::Released => "released",
        }
    }
}

/// Everything a notification may mention. Build with `..Default::default()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationContext {
    pub incident_id: String,
    /// `None` for rejected events.
    pub detection: Option<Detection>,
    pub assessment: Option<Assessment>,
    /// Link to the approval page (opaque approval id only; never a task token).
    pub approval_url: Option<String>,
    pub approval_expires_at: Option<DateTime<Utc>>,
    /// Link to release a contained principal.
    pub release_url: Option<String>,
    /// Error text for `Failure` and `Rejected`.
    pub error: Option<String>,
    /// What containment did (`Contained`), e.g. "attached AutomatedSecurityQuarantine".
    pub actions_taken: Vec<String>,
    /// Who approved, rejected or released.
    pub decided_by: Option<String>,
    /// Free-text note (e.g. "approval timed out after 3600 s").
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// SNS message attributes (`String` data type): severity, rule, incident_id,
    /// disposition, kind.
    pub attributes: BTreeMap<String, String>,
}

/// Printable ASCII, one line, ≤ [`MAX_SUBJECT_LEN`], never empty.
pub fn sanitize_subject(s: &str) -> String {
    let mut out = String::new();
    let mut last_space = true;
    for c in s.chars() {
        let c = if c.is_ascii_graphic() {
            c
        } else if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            '?'
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let mut out = out.trim().to_string();
    if out.is_empty() {
        out = "Cordon notification".to_string();
    }
    if out.len() > MAX_SUBJECT_LEN {
        out.truncate(MAX_SUBJECT_LEN - 3);
        out = out.trim_end().to_string();
        out.push_str("...");
    }
    out
}

/// One line of event-derived text: control characters become spaces, capped length.
pub fn sanitize_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push_str("...");
    }
    out
}

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "privatekey",
        "sessionkey",
    ]
    .iter()
    .any(|m| k.contains(m))
}

/// Refuses links that carry a token-like query parameter.
fn safe_link(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let query = lower.split_once('?').map(|(_, q)| q).unwrap_or("");
    let leaks = query
        .split('&')
        .any(|kv| kv.split('=').next().is_some_and(|k| k.contains("token")));
    if leaks {
        "[link withheld: it carried a token parameter]".to_string()
    } else {
        sanitize_line(url, 2000)
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => sanitize_line(s, MAX_VALUE_LEN),
        other => sanitize_line(&other.to_string(), MAX_VALUE_LEN),
    }
}

fn principal_label(d: &Detection) -> String {
    match &d.principal {
        None => "unknown (the event does not identify one)".to_string(),
        Some(p) => {
            let mut s = format!("{} ({})", p.display_name(), p.kind.as_str());
            if let Some(a) = p.arn.as_deref() {
                let _ = write!(s, " {a}");
            }
            sanitize_line(&s, MAX_VALUE_LEN)
        }
    }
}

fn actor_label(d: &Detection) -> String {
    let a = &d.actor;
    let mut s = format!("{} ({})", a.display_name(), a.kind.as_str());
    if let Some(arn) = a.arn.as_deref() {
        let _ = write!(s, " {arn}");
    }
    if let Some(i) = a.session_issuer_arn.as_deref() {
        let _ = write!(s, ", session issuer {i}");
    }
    if let Some(k) = a.access_key_id.as_deref() {
        let _ = write!(s, ", access key {k}");
    }
    if let Some(m) = a.mfa_authenticated {
        let _ = write!(s, ", MFA {}", if m { "yes" } else { "no" });
    }
    sanitize_line(&s, MAX_VALUE_LEN)
}

fn short_title(ctx: &NotificationContext) -> String {
    ctx.detection
        .as_ref()
        .map(|d| d.title.clone())
        .unwrap_or_else(|| ctx.incident_id.clone())
}

fn severity_label(ctx: &NotificationContext) -> Option<&'static str> {
    ctx.assessment.as_ref().map(|a| match a.severity {
        crate::model::Severity::Low => "LOW",
        crate::model::Severity::Medium => "MEDIUM",
        crate::model::Severity::High => "HIGH",
        crate::model::Severity::Critical => "CRITICAL",
    })
}

/// Renders one notification.
pub fn render(kind: NotificationKind, ctx: &NotificationContext) -> Notification {
    let sev = severity_label(ctx);
    let sev_tag = sev.map(|s| format!(" [{s}]")).unwrap_or_default();
    let title = short_title(ctx);
    let principal_short = ctx
        .detection
        .as_ref()
        .and_then(|d| d.principal.as_ref())
        .map(|p| p.display_name())
        .unwrap_or_else(|| "principal".to_string());
    let subject = match kind {
        NotificationKind::Alert => format!("[Cordon]{sev_tag} {title}"),
        NotificationKind::ApprovalRequest => format!("[Cordon]{sev_tag} Approval needed: {title}"),
        NotificationKind::Contained => {
            format!("[Cordon]{sev_tag} Contained {principal_short}: {title}")
        }
        NotificationKind::Dismissed => format!("[Cordon] Dismissed: {title}"),
        NotificationKind::Failure => {
            format!("[Cordon] Response FAILED for {}: {title}", ctx.incident_id)
        }
        NotificationKind::Rejected => {
            format!("[Cordon] Rejected malformed event {}", ctx.incident_id)
        }
        NotificationKind::Released => {
            format!("[Cordon] Released {principal_short} ({})", ctx.incident_id)
        }
    };
    let subject = sanitize_subject(&subject);

    let mut b = String::new();
    let headline = match kind {
        NotificationKind::Alert => {
            "ALERT: a security incident was detected (no automatic containment)."
        }
        NotificationKind::ApprovalRequest => {
            "APPROVAL NEEDED: Cordon proposes to contain the principal below."
        }
        NotificationKind::Contained => "CONTAINED: the principal below was quarantined.",
        NotificationKind::Dismissed => "DISMISSED: containment was not performed.",
        NotificationKind::Failure => {
            "FAILURE: Cordon could not complete its response. Act manually."
        }
        NotificationKind::Rejected => {
            "REJECTED: an event could not be parsed and was recorded as rejected."
        }
        NotificationKind::Released => {
            "RELEASED: the principal below was restored from its pre-containment snapshot."
        }
    };
    let _ = writeln!(b, "{headline}");
    let _ = writeln!(b);
    let _ = writeln!(b, "Incident:    {}", sanitize_line(&ctx.incident_id, 200));
    if let Some(d) = &ctx.detection {
        let _ = writeln!(b, "Summary:     {}", sanitize_line(&d.title, MAX_VALUE_LEN));
        let _ = writeln!(b, "Rule:        {}", sanitize_line(&d.rule, 200));
    }
    if let Some(a) = &ctx.assessment {
        let _ = writeln!(
            b,
            "Severity:    {}   Disposition: {}",
            a.severity.as_str(),
            a.disposition.as_str()
        );
    }

    if let Some(d) = &ctx.detection {
        let _ = writeln!(b);
        let _ = writeln!(b, "WHAT HAPPENED");
        let _ = writeln!(
            b,
            "  Event:      {} {} (eventID {})",
            sanitize_line(&d.event_source, 200),
            sanitize_line(&d.event_name, 200),
            sanitize_line(&d.event_id, 200)
        );
        let _ = writeln!(
            b,
            "  When:       {}",
            d.event_time.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let _ = writeln!(
            b,
            "  Where:      account {}, region {}",
            sanitize_line(&d.account, 100),
            sanitize_line(&d.region, 100)
        );
        let _ = writeln!(b, "  Principal:  {}", principal_label(d));
        let _ = writeln!(b, "  Actor:      {}", actor_label(d));
        let _ = writeln!(
            b,
            "  Source IP:  {}",
            d.source_ip
                .as_deref()
                .map(|s| sanitize_line(s, 200))
                .unwrap_or_else(|| "unknown".into())
        );
        let _ = writeln!(
            b,
            "  User agent: {}",
            d.user_agent
                .as_deref()
                .map(|s| sanitize_line(s, MAX_VALUE_LEN))
                .unwrap_or_else(|| "unknown".into())
        );
        if d.root_activity {
            let _ = writeln!(b, "  ROOT USER ACTIVITY");
        }
        if !d.evidence.is_empty() {
            let _ = writeln!(b);
            let _ = writeln!(b, "EVIDENCE");
            for (k, v) in &d.evidence {
                let shown = if is_secret_key(k) {
                    "[redacted]".to_string()
                } else {
                    value_text(v)
                };
                let _ = writeln!(b, "  {}: {shown}", sanitize_line(k, 100));
            }
        }
    }

    if let Some(a) = &ctx.assessment {
        let _ = writeln!(b);
        let _ = writeln!(b, "ASSESSMENT");
        for r in &a.reasons {
            let _ = writeln!(b, "  - {}", sanitize_line(r, MAX_VALUE_LEN));
        }
        let _ = writeln!(
            b,
            "  Actor allowlisted: {}",
            if a.actor_allowlisted { "yes" } else { "no" }
        );
        match &a.protected_reason {
            None if a.containable => {
                let _ = writeln!(b, "  Containable: yes");
            }
            reason => {
                let _ = writeln!(
                    b,
                    "  Containable: no ({})",
                    sanitize_line(reason.as_deref().unwrap_or("unknown"), MAX_VALUE_LEN)
                );
            }
        }
    }

    if !ctx.actions_taken.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "ACTIONS TAKEN");
        for a in &ctx.actions_taken {
            let _ = writeln!(b, "  - {}", sanitize_line(a, MAX_VALUE_LEN));
        }
    }
    if let Some(who) = &ctx.decided_by {
        let _ = writeln!(b, "Decided by: {}", sanitize_line(who, 300));
    }
    if let Some(note) = &ctx.note {
        let _ = writeln!(b, "Note: {}", sanitize_line(note, MAX_VALUE_LEN));
    }
    if let Some(err) = &ctx.error {
        let _ = writeln!(b);
        let _ = writeln!(b, "ERROR");
        let _ = writeln!(b, "  {}", sanitize_line(err, 4000));
    }

    if let Some(url) = &ctx.approval_url {
        let _ = writeln!(b);
        let _ = writeln!(b, "APPROVAL");
        let _ = writeln!(
            b,
            "  Review and approve or reject containment (the page asks for confirmation):"
        );
        let _ = writeln!(b, "  {}", safe_link(url));
        if let Some(exp) = ctx.approval_expires_at {
            let _ = writeln!(
                b,
                "  The link expires at {}.",
                exp.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
        }
    }
    if let Some(url) = &ctx.release_url {
        let _ = writeln!(b);
        let _ = writeln!(b, "RELEASE");
        let _ = writeln!(
            b,
            "  To restore the principal after investigation: {}",
            safe_link(url)
        );
    }

    let _ = writeln!(b);
    let _ = writeln!(b, "RECOMMENDED ACTIONS");
    for (i, step) in recommended_actions(kind, ctx).iter().enumerate() {
        let _ = writeln!(b, "  {}. {}", i + 1, step);
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "-- Cordon automated incident response");

    if b.len() > MAX_BODY_LEN {
        let mut cut = MAX_BODY_LEN;
        while !b.is_char_boundary(cut) {
            cut -= 1;
        }
        b.truncate(cut);
        b.push_str("\n[truncated]\n");
    }

    let mut attrs = BTreeMap::new();
    attrs.insert(
        attributes::SEVERITY.to_string(),
        ctx.assessment
            .as_ref()
            .map(|a| a.severity.as_str().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
    );
    attrs.insert(
        attributes::RULE.to_string(),
        ctx.detection
            .as_ref()
            .map(|d| sanitize_subject(&d.rule))
            .unwrap_or_else(|| match kind {
                NotificationKind::Rejected => "invalid-event".to_string(),
                _ => "none".to_string(),
            }),
    );
    attrs.insert(
        attributes::INCIDENT_ID.to_string(),
        if ctx.incident_id.is_empty() {
            "unknown".to_string()
        } else {
            sanitize_subject(&ctx.incident_id)
        },
    );
    attrs.insert(
        attributes::DISPOSITION.to_string(),
        ctx.assessment
            .as_ref()
            .map(|a| a.disposition.as_str().to_string())
            .unwrap_or_else(|| "notify".to_string()),
    );
    attrs.insert(attributes::KIND.to_string(), kind.as_str().to_string());

    Notification {
        subject,
        body: b,
        attributes: attrs,
    }
}

/// Concrete next steps for a notification (rule-specific, then kind-specific).
pub fn recommended_actions(kind: NotificationKind, ctx: &NotificationContext) -> Vec<String> {
    let mut out = Vec::new();
    let Some(d) = &ctx.detection else {
        out.push(
            "Inspect the rejected event in the Cordon audit table (status REJECTED) and the \
             CloudTrail event history; a forged or corrupted record may indicate tampering \
             with the event pipeline."
                .to_string(),
        );
        out.push(
            "If the event was legitimate, replay it with `cordon replay <incident-id>` once the \
             cause is fixed."
                .to_string(),
        );
        return out;
    };
    let target = d
        .principal
        .as_ref()
        .and_then(|p| p.name.clone())
        .map(|n| sanitize_line(&n, 128))
        .unwrap_or_else(|| "<user>".to_string());
    let actor = sanitize_line(&d.actor.display_name(), 256);
    let ip = d
        .source_ip
        .as_deref()
        .map(|s| sanitize_line(s, 100))
        .unwrap_or_else(|| "<source-ip>".to_string());
    let ev = |k: &str| {
        d.evidence
            .get(k)
            .and_then(Value::as_str)
            .map(|s| sanitize_line(s, 300))
    };
    let actor_step = match d.actor.kind {
        PrincipalKind::IamUser => format!(
            "Verify with the owner of {actor} that they made this call; if not, treat {actor} as \
             compromised: `aws iam list-access-keys --user-name {actor}` and deactivate its keys, \
             and review its other activity from {ip} in CloudTrail \
             (`aws cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue={actor}`)."
        ),
        PrincipalKind::AssumedRole | PrincipalKind::Role => format!(
            "Verify that role {actor} was expected to make this call; if not, revoke its active \
             sessions (IAM console: Roles > {actor} > Revoke active sessions) and review its trust \
             policy (`aws iam get-role --role-name {actor}`) and its activity from {ip} in CloudTrail."
        ),
        PrincipalKind::Root => format!(
            "The root user made this call from {ip}: confirm with the root credential custodians; \
             if unplanned, reset the root password and MFA and delete any root access keys."
        ),
        _ => format!(
            "Identify the caller ({actor}) and review its activity from {ip} in CloudTrail."
        ),
    };
    match d.rule.as_str() {
        rules::USER_CREATED => {
            out.push(format!(
                "Confirm whether user {target} is expected (change ticket, IaC). If not, delete it \
                 after the investigation: `aws iam list-access-keys --user-name {target}`, \
                 `aws iam delete-login-profile --user-name {target}`, then `aws iam delete-user`."
            ));
            out.push(format!(
                "Check what {target} was given: `aws iam list-attached-user-policies --user-name {target}`, \
                 `aws iam list-user-policies --user-name {target}`, `aws iam list-groups-for-user --user-name {target}`."
            ));
            out.push(actor_step);
        }
        rules::ACCESS_KEY_FOR_OTHER_USER => {
            let key = ev("accessKeyId").unwrap_or_else(|| "<key-id>".into());
            out.push(format!(
                "Deactivate the new key unless it is expected: `aws iam update-access-key --user-name {target} \
                 --access-key-id {key} --status Inactive`."
            ));
            out.push(format!(
                "Search CloudTrail for use of {key} (`AttributeKey=AccessKeyId,AttributeValue={key}`)."
            ));
            out.push(actor_step);
        }
        rules::LOGIN_PROFILE_CREATED | rules::LOGIN_PROFILE_UPDATED => {
            out.push(format!(
                "If {target} should not have console access, remove it: `aws iam delete-login-profile --user-name {target}`; \
                 otherwise reset the password and require a change at next sign-in."
            ));
            out.push(format!(
                "Review console sign-ins of {target} (eventName ConsoleLogin) since the change."
            ));
            out.push(actor_step);
        }
        rules::ADMIN_POLICY_ATTACHED => {
            let arn = ev("policyArn").unwrap_or_else(|| "<policy-arn>".into());
            out.push(format!(
                "Detach the policy unless approved: `aws iam detach-user-policy --user-name {target} --policy-arn {arn}`."
            ));
            out.push(actor_step);
        }
        rules::INLINE_ADMIN_POLICY => {
            let name = ev("policyName").unwrap_or_else(|| "<policy-name>".into());
            out.push(format!(
                "Delete the inline policy unless approved: `aws iam delete-user-policy --user-name {target} --policy-name {name}`."
            ));
            out.push(actor_step);
        }
        rules::ADDED_TO_ADMIN_GROUP => {
            let group = ev("groupName").unwrap_or_else(|| "<group>".into());
            out.push(format!(
                "Remove the membership unless approved: `aws iam remove-user-from-group --user-name {target} --group-name {group}`."
            ));
            out.push(actor_step);
        }
        rules::MFA_DEACTIVATED => {
            out.push(format!(
                "Contact {target} and re-enroll an MFA device (`aws iam enable-mfa-device`); until then \
                 consider the force-MFA policy (`CordonForceMFA`)."
            ));
            out.push(actor_step);
        }
        rules::USER_DELETED => {
            let deleted = ev("deletedUserName").unwrap_or_else(|| "<user>".into());
            out.push(format!(
                "Find out why {deleted} was deleted; recreate it from IaC if it was a monitoring or \
                 break-glass identity."
            ));
            out.push(actor_step);
        }
        rules::ROLE_EXTERNAL_TRUST => {
            let role = d
                .principal
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "<role>".into());
            out.push(format!(
                "Review the trust policy: `aws iam get-role --role-name {role}`. If the external account is \
                 not a known vendor, delete the role or replace the trust policy \
                 (`aws iam update-assume-role-policy`)."
            ));
            out.push(format!(
                "Search CloudTrail for AssumeRole calls on {role} from other accounts."
            ));
            out.push(actor_step);
        }
        rules::LOGGING_STOPPED => {
            let trail = ev("trail").unwrap_or_else(|| "<trail>".into());
            out.push(format!(
                "Restart logging immediately: `aws cloudtrail start-logging --name {trail}`."
            ));
            out.push(
                "Treat the gap as a blind spot: review activity in other Regions, AWS Config and \
                 S3 server access logs for the period."
                    .to_string(),
            );
            out.push(actor_step);
        }
        rules::CONSOLE_LOGIN_FAILED => {
            out.push(format!(
                "Look for other failed sign-ins from {ip}; block the address at the network edge if it \
                 is not corporate."
            ));
            if d.principal.is_some() {
                out.push(format!(
                    "Confirm with {target} whether they mistyped their password; make sure MFA is \
                     enabled (`aws iam list-mfa-devices --user-name {target}`)."
                ));
            } else {
                out.push(
                    "The user name did not exist: this is likely enumeration or password spraying."
                        .to_string(),
                );
            }
        }
        rules::CONSOLE_LOGIN_NO_MFA => {
            out.push(format!(
                "Confirm with {target} that the sign-in from {ip} was theirs; if not, reset the \
                 password and deactivate keys."
            ));
            out.push(format!(
                "Enforce MFA for {target} (`aws iam enable-mfa-device`, or the `CordonForceMFA` policy)."
            ));
        }
        rules::ROOT_CONSOLE_LOGIN
        | rules::ROOT_CONSOLE_LOGIN_FAILED
        | rules::ROOT_ACCESS_KEY_CREATED
        | rules::ROOT_API_CALL => {
            out.push(
                "Confirm with the root credential custodians that this was planned; root is never \
                 contained automatically."
                    .to_string(),
            );
            out.push(
                "If not planned: reset the root password, rotate the root MFA device, delete any \
                 root access keys (`aws iam list-access-keys` as root), and review root activity in \
                 CloudTrail (`userIdentity.type = Root`)."
                    .to_string(),
            );
        }
        rules::AUDIT_MFA_MISSING => {
            out.push(format!(
                "Ask {target} to enroll an MFA device, or remove the console password \
                 (`aws iam delete-login-profile --user-name {target}`) if it is a programmatic user."
            ));
        }
        _ => {
            out.push(format!(
                "Review the {} call in CloudTrail (eventID {}).",
                sanitize_line(&d.event_name, 200),
                sanitize_line(&d.event_id, 200)
            ));
            out.push(actor_step);
        }
    }
    match kind {
        NotificationKind::Contained => out.push(format!(
            "The quarantine is in place (deny-all policy `{}`, tag SecurityStatus=Quarantined). \
             Release with the link above or `cordon release {}` once the investigation is done.",
            crate::quarantine::QUARANTINE_POLICY_NAME,
            sanitize_line(&ctx.incident_id, 100)
        )),
        NotificationKind::ApprovalRequest => out.push(
            "Approve to quarantine the principal (deny-all policy and tags); reject to only \
             record the incident."
                .to_string(),
        ),
        NotificationKind::Failure => out.push(format!(
            "Cordon did not finish: check the incident timeline (`cordon incidents show {}`) and \
             contain manually if needed with `aws iam put-user-policy --policy-name {}`.",
            sanitize_line(&ctx.incident_id, 100),
            crate::quarantine::QUARANTINE_POLICY_NAME
        )),
        _ => {}
    }
    if d.principal
        .as_ref()
        .is_some_and(|p| p.kind == PrincipalKind::Root)
        && !out.iter().any(|s| s.contains("root"))
    {
        out.push("Root is never contained automatically; act manually.".to_string());
    }
    out
}
