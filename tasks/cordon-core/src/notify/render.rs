//! Rendering one notification: subject, plain-text body and message attributes.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::SecondsFormat;

use super::actions::recommended_actions;
use super::failure::{recovery_steps, standing_line};
use super::message::{Notification, NotificationContext, NotificationKind, attributes};
use super::sanitize::{
    MAX_BODY_LEN, MAX_VALUE_LEN, is_secret_key, safe_link, sanitize_line, sanitize_subject,
    value_text,
};
use crate::event::EventEssentials;
use crate::model::{Detection, Severity};

/// Renders one notification.
pub fn render(kind: NotificationKind, ctx: &NotificationContext) -> Notification {
    Notification {
        subject: subject(kind, ctx),
        body: body(kind, ctx),
        attributes: message_attributes(kind, ctx),
    }
}

/// One line: `[Cordon] [SEVERITY] what happened`.
fn subject(kind: NotificationKind, ctx: &NotificationContext) -> String {
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
        NotificationKind::Failure => match ctx.failure.as_ref().map(|f| f.step.as_str()) {
            Some(step) if !step.is_empty() => format!(
                "[Cordon] Response FAILED at {step} for {}: {title}",
                ctx.incident_id
            ),
            _ => format!("[Cordon] Response FAILED for {}: {title}", ctx.incident_id),
        },
        NotificationKind::Rejected => {
            format!("[Cordon] Rejected malformed event {}", ctx.incident_id)
        }
        NotificationKind::Released => {
            format!("[Cordon] Released {principal_short} ({})", ctx.incident_id)
        }
    };
    sanitize_subject(&subject)
}

/// Plain text: headline, what happened, evidence, assessment, actions taken, links and
/// recommended actions, capped at [`MAX_BODY_LEN`].
fn body(kind: NotificationKind, ctx: &NotificationContext) -> String {
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
            "FAILURE: Cordon could not complete its response. See WHAT TO DO NOW."
        }
        NotificationKind::Rejected => {
            "REJECTED: an event could not be parsed and was recorded as rejected."
        }
        NotificationKind::Released => {
            "RELEASED: the containment below was lifted; only what Cordon changed was undone."
        }
    };
    let _ = writeln!(b, "{headline}");
    let _ = writeln!(b);
    let _ = writeln!(b, "Incident:    {}", sanitize_line(&ctx.incident_id, 200));
    if let Some(f) = &ctx.failure {
        let _ = writeln!(b, "Failed step: {}", sanitize_line(&f.step, 200));
    }
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

    if ctx.detection.is_none()
        && let Some(e) = ctx.event.as_ref().filter(|e| !e.is_empty())
    {
        write_essentials(&mut b, e);
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
    if !ctx.manual_actions.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "STILL TO DO BY HAND");
        for a in &ctx.manual_actions {
            let _ = writeln!(b, "  - {}", sanitize_line(a, MAX_VALUE_LEN));
        }
    }
    if !ctx.drift.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "CHANGED SINCE CONTAINMENT (reported, not reverted)");
        for a in &ctx.drift {
            let _ = writeln!(b, "  - {}", sanitize_line(a, MAX_VALUE_LEN));
        }
    }
    if let Some(who) = &ctx.decided_by {
        let label = match kind {
            NotificationKind::Released => "Released by",
            _ => "Decided by",
        };
        let _ = writeln!(b, "{label}: {}", sanitize_line(who, 300));
    }
    if let Some(note) = &ctx.note {
        let label = match kind {
            NotificationKind::Released => "Reason",
            _ => "Note",
        };
        let _ = writeln!(b, "{label}: {}", sanitize_line(note, MAX_VALUE_LEN));
    }
    if let Some(err) = &ctx.error {
        let _ = writeln!(b);
        let _ = writeln!(b, "ERROR");
        let _ = writeln!(b, "  {}", sanitize_line(err, 4000));
    }
    if kind == NotificationKind::Failure
        && let Some(report) = &ctx.failure
    {
        let _ = writeln!(b);
        let _ = writeln!(b, "WHERE IT STANDS");
        let _ = writeln!(b, "  {}", standing_line(report));
        let _ = writeln!(b);
        let _ = writeln!(b, "WHAT TO DO NOW");
        for (i, step) in recovery_steps(ctx, report).iter().enumerate() {
            let _ = writeln!(b, "  {}. {}", i + 1, step);
        }
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
    b
}

/// SNS message attributes, for subscription filter policies.
fn message_attributes(
    kind: NotificationKind,
    ctx: &NotificationContext,
) -> BTreeMap<String, String> {
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
    attrs
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
    if let Some(d) = &ctx.detection {
        return d.title.clone();
    }
    let essentials = ctx.event.as_ref();
    match (
        essentials.and_then(|e| e.event_name.as_deref()),
        essentials.and_then(|e| e.target.as_deref()),
    ) {
        (Some(name), Some(target)) => format!("{name} {target}"),
        (Some(name), None) => name.to_string(),
        _ => ctx.incident_id.clone(),
    }
}

/// WHAT HAPPENED from the raw event, when there is no detection to tell it.
fn write_essentials(b: &mut String, e: &EventEssentials) {
    let or_unknown = |v: &Option<String>| {
        v.as_deref()
            .map(|s| sanitize_line(s, MAX_VALUE_LEN))
            .unwrap_or_else(|| "unknown".into())
    };
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "WHAT HAPPENED (from the raw event; it was not classified)"
    );
    let _ = writeln!(
        b,
        "  Event:      {} {} (eventID {})",
        or_unknown(&e.event_source),
        or_unknown(&e.event_name),
        or_unknown(&e.event_id)
    );
    let _ = writeln!(b, "  When:       {}", or_unknown(&e.time));
    let _ = writeln!(
        b,
        "  Where:      account {}, region {}",
        or_unknown(&e.account),
        or_unknown(&e.region)
    );
    let _ = writeln!(b, "  Actor:      {}", or_unknown(&e.actor));
    let _ = writeln!(b, "  Target:     {}", or_unknown(&e.target));
    let _ = writeln!(b, "  Source IP:  {}", or_unknown(&e.source_ip));
}

fn severity_label(ctx: &NotificationContext) -> Option<&'static str> {
    ctx.assessment.as_ref().map(|a| match a.severity {
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    })
}
