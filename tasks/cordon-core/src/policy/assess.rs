//! The verdict on one detection: severity and disposition from the rule table, then the
//! adjustments listed in the module docs, each with its reason.
//!
//! Evidence this reads (written by the detections in [`mod@crate::classify`]):
//! `suspiciousUserAgent`, `mfaUsed`, `adminPolicyConfirmed`, `trustPolicyParsed`,
//! `trailSettingsParsed`, and `failureCount`/`failureThresholdReached` from the failed
//! sign-in counter ([`crate::failures`]). What enrich read comes as [`Facts`].
use serde_json::Value;

use super::facts::{
    Facts, Judged, holds_admin_rights, judge_inspection, not_held, role_not_containable,
    role_principal,
};
use super::identities::TrustedIds;
use super::settings::ResponsePolicy;
use crate::classify::rules;
use crate::error::TaskError;
use crate::model::{Assessment, Detection, Disposition, PrincipalKind, Severity, UserFacts};

impl ResponsePolicy {
    /// Severity and disposition for a detection, knowing only the target user's facts
    /// (see [`ResponsePolicy::assess_with`]).
    pub fn assess(
        &self,
        detection: &Detection,
        facts: Option<&UserFacts>,
        ids: &TrustedIds,
    ) -> Assessment {
        let facts = Facts {
            user: facts,
            ..Facts::default()
        };
        self.assess_with(detection, &facts, ids)
    }

    /// Severity and disposition for a detection, from everything enrich read. Never drops
    /// an incident: the lowest outcome is `ignore` (recorded, no notification), only for
    /// allowlisted actors, grants that turned out to grant nothing, or when configured.
    pub fn assess_with(
        &self,
        detection: &Detection,
        all: &Facts<'_>,
        ids: &TrustedIds,
    ) -> Assessment {
        let facts = all.user;
        let d = detection;
        let mut reasons = Vec::new();
        let base = self.rule_response(&d.rule);
        let mut severity = base.severity;
        let mut disposition = base.disposition;
        let source = if self.rules.contains_key(&d.rule) {
            "rule"
        } else {
            "unknown rule, default_rule"
        };
        reasons.push(format!(
            "{source} {}: severity {}, disposition {}",
            d.rule,
            severity.as_str(),
            disposition.as_str()
        ));

        let ev_bool = |k: &str| d.evidence.get(k).and_then(Value::as_bool);

        // What enrich read of a grant the event did not carry.
        let mut inspection_uncertain = false;
        match judge_inspection(d, all) {
            None => {}
            Some(Judged::Confirmed(why)) => reasons.push(why),
            Some(Judged::Harmless(why)) => {
                let to = if ev_bool("adminPolicyConfirmed") == Some(true) {
                    Disposition::Notify
                } else {
                    Disposition::Ignore
                };
                if rank(to) < rank(disposition) {
                    disposition = to;
                }
                severity = severity.min(Severity::Low);
                reasons.push(format!("{why}: {}", disposition.as_str()));
            }
            Some(Judged::Unattached(why)) => {
                if rank(Disposition::Notify) < rank(disposition) {
                    disposition = Disposition::Notify;
                }
                reasons.push(format!("{why}: notify"));
            }
            Some(Judged::Uncertain(why)) => {
                inspection_uncertain = true;
                reasons.push(why);
            }
        }

        // Containment undone: contain again what Cordon holds contained.
        if let Some(why) = not_held(d, all) {
            severity = severity.min(Severity::Medium);
            if rank(Disposition::Notify) < rank(disposition) {
                disposition = Disposition::Notify;
            }
            reasons.push(why);
        } else if d.rule == rules::QUARANTINE_TAMPERED {
            reasons.push(format!(
                "held contained by incident {}: contained again",
                all.contained_by.unwrap_or("(unknown)")
            ));
        }

        // Severity adjustments.
        if d.rule == rules::CONSOLE_LOGIN_FAILED
            && d.principal.is_none()
            && severity > Severity::Low
        {
            severity = Severity::Low;
            reasons.push("failed sign-in for an unknown user name: low".to_string());
        }
        if d.root_activity {
            let root_login_with_mfa =
                d.rule == rules::ROOT_CONSOLE_LOGIN && ev_bool("mfaUsed") == Some(true);
            if d.rule != rules::ROOT_CONSOLE_LOGIN_FAILED && !root_login_with_mfa {
                if severity < Severity::Critical {
                    reasons.push("root activity: escalated to critical".to_string());
                }
                severity = Severity::Critical;
            }
        }
        if let Some(marker) = d
            .evidence
            .get("suspiciousUserAgent")
            .and_then(Value::as_str)
        {
            severity = severity.escalated();
            reasons.push(format!(
                "user agent indicates an offensive-security distribution ({marker}): escalated to {}",
                severity.as_str()
            ));
        }
        if let Some(f) = facts
            && holds_admin_rights(f)
        {
            severity = severity.escalated();
            reasons.push(format!(
                "{} already holds administrator rights: escalated to {}",
                f.user_name,
                severity.as_str()
            ));
        }
        if let Some(n) = d.evidence.get("failureCount").and_then(Value::as_u64) {
            reasons.push(format!("{n} failed sign-ins in the failure window"));
            if ev_bool("failureThresholdReached") == Some(true) {
                let escalated = failure_escalation(severity, n, self.failure_threshold);
                if escalated > severity {
                    severity = escalated;
                    reasons.push(format!(
                        "failure threshold ({}) reached: escalated to {}",
                        self.failure_threshold,
                        severity.as_str()
                    ));
                }
                if rank(disposition) < rank(Disposition::Approve) {
                    disposition = Disposition::Approve;
                    reasons.push("repeated failures: ask a human (approve)".to_string());
                }
            }
        }

        // Uncertain detections go to a human.
        let uncertain = inspection_uncertain
            || (d.inspect.is_none() && ev_bool("adminPolicyConfirmed") == Some(false))
            || ev_bool("trustPolicyParsed") == Some(false)
            || ev_bool("trailSettingsParsed") == Some(false);
        if uncertain && disposition == Disposition::Auto {
            disposition = Disposition::Approve;
            reasons.push(
                "detection is uncertain (document or settings not parseable): approve, not auto"
                    .to_string(),
            );
        }

        // Allowlisted actors, by unique id: a role named like one of Cordon's own, or a
        // re-created user with an allowlisted name, is not trusted. An attack on Cordon is
        // judged on what it did, never on who says they did it.
        let own_actor = d.actor.kind != PrincipalKind::Root && ids.is_own_actor(&d.actor);
        let allowlisted = d.actor.kind != PrincipalKind::Root
            && !rules::TAMPER_RULES.contains(&d.rule.as_str())
            && (own_actor || self.is_actor_allowlisted(&d.actor, ids));
        if allowlisted {
            if rank(self.allowlisted_disposition) < rank(disposition) {
                disposition = self.allowlisted_disposition;
            }
            reasons.push(format!(
                "actor {} is {}: {}",
                d.actor.allowlist_identity().unwrap_or("(unknown)"),
                if own_actor {
                    "one of Cordon's own roles"
                } else {
                    "allowlisted"
                },
                disposition.as_str()
            ));
        }

        // Containability.
        let (containable, protected_reason) = match &d.principal {
            None => (
                false,
                Some("the event does not identify a principal to contain".to_string()),
            ),
            Some(p) => {
                let mut p = p.clone();
                if let Some(f) = facts
                    && p.arn.is_none()
                    && !f.arn.is_empty()
                {
                    p.arn = Some(f.arn.clone());
                }
                // The event may not carry the target's id (AttachUserPolicy names the user
                // only): the user's id as enrich read it then.
                if let Some(f) = facts
                    && p.unique_id().is_none()
                    && !f.user_id.is_empty()
                {
                    p.principal_id = Some(f.user_id.clone());
                }
                let role = matches!(p.kind, PrincipalKind::Role | PrincipalKind::AssumedRole);
                let checked = if role {
                    self.check_containable(&p, ids)
                        .and_then(|()| self.check_containable(&role_principal(&p, all), ids))
                } else {
                    self.check_containable(&p, ids)
                };
                match checked {
                    Err(TaskError::ProtectedPrincipal { reason, .. }) => (false, Some(reason)),
                    Err(e) => (false, Some(e.to_string())),
                    Ok(()) if role => match role_not_containable(&p, all, &d.account) {
                        Some(why) => (false, Some(why)),
                        None => (true, None),
                    },
                    Ok(()) if p.kind != PrincipalKind::IamUser => (
                        false,
                        Some(format!(
                            "{} is a {}; Cordon contains IAM users and roles' sessions only",
                            p.display_name(),
                            p.kind.as_str()
                        )),
                    ),
                    Ok(()) => (true, None),
                }
            }
        };
        if !containable && matches!(disposition, Disposition::Auto | Disposition::Approve) {
            reasons.push(format!(
                "principal cannot be contained ({}): {} downgraded to notify",
                protected_reason.as_deref().unwrap_or("unknown reason"),
                disposition.as_str()
            ));
            disposition = Disposition::Notify;
        }
        if d.root_activity && disposition == Disposition::Ignore {
            disposition = Disposition::Notify;
            reasons.push("root activity is never ignored: notify".to_string());
        }

        Assessment {
            severity,
            disposition,
            reasons,
            actor_allowlisted: allowlisted,
            containable,
            protected_reason,
        }
    }
}

fn rank(d: Disposition) -> u8 {
    match d {
        Disposition::Ignore => 0,
        Disposition::Notify => 1,
        Disposition::Approve => 2,
        Disposition::Auto => 3,
    }
}

/// Severity once the failed sign-in count reached the threshold: at least `High`,
/// `Critical` at twice the threshold.
fn failure_escalation(base: Severity, failures: u64, threshold: u32) -> Severity {
    let floor = if failures >= u64::from(threshold.saturating_mul(2)) {
        Severity::Critical
    } else {
        Severity::High
    };
    base.max(floor)
}
