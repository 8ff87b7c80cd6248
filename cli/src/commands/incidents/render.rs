//! The table and text renderings of incidents (pure: golden-tested in
//! `tests/tests/cli/golden.rs`).
use std::fmt::Write as _;

use cordon_aws::incidents::TimelineEntry;
use serde_json::Value;

use super::view::{IncidentDetail, IncidentSummary};
use crate::output::table::{Column, Table};
use crate::output::text::{opt_time, time};

/// The last segment of an ARN (`…:user/support-admin` → `user/support-admin`), which is
/// what fits a column; the JSON keeps the whole ARN.
fn short_arn(arn: &str) -> String {
    if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).unwrap_or(arn).to_string()
    } else {
        arn.to_string()
    }
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// `incidents list` as a table.
pub fn list_table(incidents: &[IncidentSummary], width: Option<usize>) -> String {
    // The id is never cut (it is what the other commands take); optional columns go
    // from the right on a narrow terminal.
    let id_width = incidents
        .iter()
        .map(|i| i.incident_id.chars().count())
        .max()
        .unwrap_or(8);
    let mut table = Table::new(vec![
        Column::new("INCIDENT", id_width),
        Column::new("OPENED", 16),
        Column::new("STATUS", 9),
        Column::optional("SEVERITY", 8),
        Column::optional("PRINCIPAL", 12),
        Column::optional("RULE", 10),
        Column::optional("ACTOR", 10),
        Column::optional("TITLE", 12),
    ]);
    for i in incidents {
        table.push(vec![
            i.incident_id.clone(),
            i.opened_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "-".into()),
            i.status.clone(),
            or_dash(&i.severity),
            i.principal
                .as_deref()
                .map(short_arn)
                .unwrap_or_else(|| "-".into()),
            or_dash(&i.rule),
            i.actor
                .as_deref()
                .map(short_arn)
                .unwrap_or_else(|| "-".into()),
            or_dash(&i.title),
        ]);
    }
    table.render(width)
}

fn field(out: &mut String, name: &str, value: impl AsRef<str>) {
    let _ = writeln!(out, "  {name:<14}{}", value.as_ref());
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `incidents show` as text.
pub fn show_text(d: &IncidentDetail) -> String {
    let i = &d.incident;
    let mut out = String::new();
    let _ = writeln!(out, "Incident {}  {}", i.incident_id, i.status);
    field(&mut out, "title", or_dash(&i.title));
    field(&mut out, "rule", or_dash(&i.rule));
    field(
        &mut out,
        "severity",
        format!(
            "{} (disposition {})",
            or_dash(&i.severity),
            or_dash(&i.disposition)
        ),
    );
    field(&mut out, "principal", or_dash(&i.principal));
    field(&mut out, "actor", or_dash(&i.actor));
    field(&mut out, "opened", opt_time(i.opened_at));
    field(&mut out, "updated", opt_time(i.updated_at));
    field(&mut out, "closed", opt_time(i.closed_at));
    if let Some(at) = d.replayed_at {
        field(&mut out, "replayed", time(at));
    }
    if let Some(e) = &d.error {
        field(&mut out, "error", e);
    }
    if let Some(s) = &d.summary {
        field(&mut out, "summary", s);
    }

    if let Some(det) = &d.detection {
        let _ = writeln!(out, "\nDetection");
        field(
            &mut out,
            "event",
            format!("{} ({})", det.event_name, det.event_source),
        );
        field(&mut out, "event id", &det.event_id);
        field(&mut out, "event time", time(det.event_time));
        field(
            &mut out,
            "where",
            format!("{} / account {}", det.region, det.account),
        );
        field(&mut out, "source ip", or_dash(&det.source_ip));
        field(&mut out, "user agent", or_dash(&det.user_agent));
        for (k, v) in &det.evidence {
            field(&mut out, k, value_text(v));
        }
    }

    if let Some(a) = &d.assessment {
        let _ = writeln!(out, "\nAssessment");
        field(
            &mut out,
            "verdict",
            format!("{} / {}", a.severity.as_str(), a.disposition.as_str()),
        );
        field(
            &mut out,
            "containable",
            if a.containable { "yes" } else { "no" },
        );
        if let Some(why) = &a.protected_reason {
            field(&mut out, "protected", why);
        }
        for reason in &a.reasons {
            let _ = writeln!(out, "  - {reason}");
        }
    }

    if let Some(s) = &d.snapshot {
        let _ = writeln!(out, "\nSnapshot before containment ({})", time(s.taken_at));
        field(&mut out, "user", &s.user_arn);
        field(&mut out, "active keys", list(&s.active_access_key_ids));
        field(&mut out, "inactive keys", list(&s.inactive_access_key_ids));
        field(&mut out, "policies", list(&s.attached_policy_arns));
        field(&mut out, "groups", list(&s.groups));
        field(&mut out, "inline", list(&s.inline_policies));
        field(
            &mut out,
            "console login",
            if s.login_profile { "yes" } else { "no" },
        );
        field(&mut out, "mfa devices", list(&s.mfa_devices));
    }

    if let Some(a) = &d.approval {
        let _ = writeln!(out, "\nApproval");
        field(&mut out, "decision", a.decision.as_str());
        let by = a
            .decided_by
            .verified
            .as_ref()
            .map(verified)
            .or_else(|| {
                a.decided_by
                    .name
                    .as_ref()
                    .map(|n| format!("{n} (typed on the page, not verified)"))
            })
            .unwrap_or_else(|| "unknown (link only)".into());
        field(&mut out, "by", by);
        field(&mut out, "at", time(a.decided_at));
        field(&mut out, "from ip", or_dash(&a.decided_by.ip));
        field(&mut out, "user agent", or_dash(&a.decided_by.user_agent));
    }

    if let Some(r) = &d.release {
        let _ = writeln!(out, "\nRelease");
        field(&mut out, "by", r.released_by.display());
        field(&mut out, "at", time(r.released_at));
        field(&mut out, "reason", or_dash(&r.reason));
        if let Some(p) = &r.restored.policy_detached {
            field(&mut out, "detached", p);
        }
        field(&mut out, "reactivated", list(&r.restored.reactivated_keys));
        for a in &r.manual_actions {
            let _ = writeln!(out, "  to do by hand: {a}");
        }
        for drift in &r.drift {
            let _ = writeln!(out, "  drift: {drift}");
        }
    }

    let _ = writeln!(out, "\nTimeline");
    if d.timeline.is_empty() {
        let _ = writeln!(out, "  (empty)");
    }
    for e in &d.timeline {
        out.push_str(&timeline_line(e));
    }
    if let Some(x) = &d.execution {
        let _ = writeln!(out, "\nExecution");
        field(&mut out, "arn", &x.arn);
        field(&mut out, "console", &x.console_url);
        field(&mut out, "graph", format!("cordon graph {}", i.incident_id));
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(", ")
    }
}

/// One timeline entry as a line (also what `watch` prints).
pub fn timeline_line(e: &TimelineEntry) -> String {
    format!("  {}  {:<16}{}\n", time(e.at), e.step, e.message)
}

/// "arn:…:user/bob (verified: AWS credentials)", "alice@example.com (verified: sign-in)".
fn verified(v: &cordon_core::model::VerifiedIdentity) -> String {
    let who = v
        .email
        .as_deref()
        .filter(|e| !e.is_empty())
        .unwrap_or(&v.subject);
    let how = match v.method.as_str() {
        "aws" => "AWS credentials",
        "oidc" => "sign-in",
        other => other,
    };
    format!("{who} (verified: {how})")
}
