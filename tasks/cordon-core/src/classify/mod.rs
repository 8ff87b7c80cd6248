//! Detection rules: one EventBridge event in, one [`Classification`] out.
//!
//! Pure and total: every JSON input yields `Ok` or `Err(TaskError::InvalidEvent)`,
//! never a panic. `Err` means the event is malformed or not from the home account and
//! must be recorded as rejected (never dropped silently); `Ok(NotAnIncident)` means the
//! event was understood and needs no incident, and says whether a detection judged it or
//! none covers it ([`Dismissal`]).
//!
//! # How an event is classified
//!
//! 1. The event must be readable (a malformed envelope or CloudTrail record is rejected
//!    as such) and from the home account (`home.rs`): the envelope's `account`, and a
//!    CloudTrail record's `recipientAccountId`. Another account's event is rejected.
//! 2. A scheduled event is the MFA audit trigger; anything that is not a CloudTrail
//!    record has no rule.
//! 3. Data, network activity and Insights events are not incidents (Cordon acts on
//!    management events), nor are read-only calls: they change nothing, and EventBridge
//!    does not even deliver read-only management events to Cordon's rules (state
//!    `ENABLED`).
//! 4. The [`Detector`] in [`DETECTORS`] that claims the call's `eventSource` and
//!    `eventName` examines it. A failed call (`errorCode` set) changed nothing, unless the
//!    detector says it examines failures.
//! 5. A call no detector claims: sign-in steps are understood and ignored, failed calls
//!    changed nothing, a write by the root user is `root.api-call` (`root.rs`), and
//!    anything else has no rule.
//!
//! The EventBridge rules in `infra/template.yaml` route exactly what this decides on:
//! `tests/tests/agreement` checks both directions for every rule id and every rule.
//!
//! # Adding a detection
//!
//! Add its rule id to [`rules`] (and `INCIDENT_RULES`), write its `Detector` const and
//! function in the file of its family (or a new file), list it in [`DETECTORS`], give it
//! a default response in [`crate::policy`] and recommended actions in
//! [`crate::notify`], route its calls in `infra/template.yaml`, and add a positive
//! example under `tasks/cordon-core/tests/fixtures/`. The tests below check that every
//! incident rule has a home and no call is claimed twice; the agreement test fails until
//! the template routes it.
//!
//! Files: `call.rs` (the record being classified and the builders detectors share),
//! `home.rs` (the home account and stack), `own.rs` (Cordon's own resources, by the
//! stack's name), `identity.rs` (the actor, IAM user names), one file per family
//! (`signin.rs`, `users.rs`, `credentials.rs`, `admin_grants.rs`, `roles.rs`,
//! `providers.rs`, `tampering.rs`, `cloudtrail.rs` with `event_selectors.rs`, `root.rs`),
//! and `audit.rs` (the MFA audit's findings, which reach the workflow as events of their
//! own). What an IAM policy document grants is [`crate::policy_document`].
use serde_json::Value;

use crate::error::TaskError;
use crate::event::{excerpt, parse_cloudtrail, parse_envelope};
use crate::model::{AccountId, Detection};

mod admin_grants;
mod audit;
mod call;
mod classification;
mod cloudtrail;
mod credentials;
mod detector;
mod event_selectors;
mod home;
mod identity;
mod own;
mod providers;
mod roles;
mod root;
pub mod rules;
mod signin;
mod tampering;
mod users;

use call::{Call, Verdict};
use detector::sources;

pub use audit::{FINDING_DETAIL_TYPE, FINDING_SOURCE, finding_event};
pub use classification::{Classification, Dismissal};
pub use detector::Detector;
pub use home::{ACCOUNT_FIELDS, Home, is_other_account};
pub use identity::{HIDDEN_USER_NAME, actor_from_record, validate_iam_user_name};

/// Every detector, by family. Each claims its own calls; see [`Detector`].
pub const DETECTORS: &[Detector] = &[
    signin::CONSOLE_LOGIN,
    signin::ROOT_PASSWORD,
    users::CREATE_USER,
    users::DELETE_USER,
    users::UPDATE_USER,
    credentials::CREATE_ACCESS_KEY,
    credentials::CREATE_LOGIN_PROFILE,
    credentials::UPDATE_LOGIN_PROFILE,
    credentials::DEACTIVATE_MFA_DEVICE,
    credentials::DELETE_VIRTUAL_MFA_DEVICE,
    admin_grants::GRANT_POLICY,
    admin_grants::ADD_USER_TO_GROUP,
    admin_grants::POLICY_VERSION,
    roles::EXTERNAL_TRUST,
    providers::IDENTITY_PROVIDERS,
    tampering::CONTAINMENT_REMOVED,
    tampering::RULES,
    tampering::WORKFLOW,
    cloudtrail::LOGGING_STOPPED,
    cloudtrail::TRAIL_SETTINGS,
];

/// The detector that claims `event_name` calls to `event_source`, if any.
pub fn detector_for(event_source: &str, event_name: &str) -> Option<&'static Detector> {
    DETECTORS
        .iter()
        .find(|d| d.claims(event_source, event_name))
}

/// Classifies one EventBridge event (the raw JSON a rule target receives) for the stack
/// whose account is `home`. An event of another account is rejected. Attacks on Cordon's
/// own resources need the stack's name: see [`classify_in`].
pub fn classify(raw: &Value, home: &AccountId) -> Result<Classification, TaskError> {
    classify_in(raw, &Home::new(home.clone()))
}

/// Classifies one EventBridge event for the stack `home` (its account, and its name, which
/// Cordon's own resources carry).
pub fn classify_in(raw: &Value, home: &Home) -> Result<Classification, TaskError> {
    let env = parse_envelope(raw)?;
    if audit::is_finding(&env) {
        home::check_envelope(&env, &home.account)?;
        return audit::finding(&env, &home.account);
    }
    if env.is_scheduled() || !env.is_cloudtrail() {
        home::check_envelope(&env, &home.account)?;
        if env.is_scheduled() {
            return Ok(Classification::AuditTrigger {
                rule_arn: env.resources.first().cloned(),
            });
        }
        return Ok(Classification::NotAnIncident {
            reason: format!(
                "not a CloudTrail event (detail-type {:?}, source {:?}); no rule applies",
                excerpt(env.detail_type.as_deref().unwrap_or("none")),
                excerpt(env.source.as_deref().unwrap_or("none"))
            ),
            dismissal: Dismissal::NoRule,
        });
    }
    // A record that cannot be read is rejected as such, whatever account it names.
    let rec = parse_cloudtrail(&env.detail)?;
    home::check_envelope(&env, &home.account)?;
    home::check_record(&rec, &home.account)?;
    classify_call(&Call::new(&env, &rec, home))
}

/// The detection an IAM user's console sign-in with MFA becomes when it follows a burst of
/// failed sign-ins (see [`Dismissal::SignedInWithMfa`]): rule
/// `signin.console-login-after-failures`, without the counts, which
/// [`crate::failures::after_failures`] adds. `None` for any other event.
pub fn sign_in_with_mfa(raw: &Value, home: &Home) -> Result<Option<Detection>, TaskError> {
    let env = parse_envelope(raw)?;
    if !env.is_cloudtrail() {
        return Ok(None);
    }
    let rec = parse_cloudtrail(&env.detail)?;
    home::check_envelope(&env, &home.account)?;
    home::check_record(&rec, &home.account)?;
    if rec.event_source != sources::SIGNIN || rec.event_name != "ConsoleLogin" {
        return Ok(None);
    }
    Ok(signin::with_mfa(&Call::new(&env, &rec, home)))
}

fn classify_call(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    if !rec.is_management_event() {
        let kind = match rec.event_category.as_deref() {
            Some(c) if c.eq_ignore_ascii_case("data") => "a data event".to_string(),
            Some(c) if c.eq_ignore_ascii_case("networkactivity") => {
                "a network activity event".to_string()
            }
            Some(c) if c.eq_ignore_ascii_case("insight") => "an Insights event".to_string(),
            Some(c) if !c.eq_ignore_ascii_case("management") => format!("a {} event", excerpt(c)),
            _ => "not a management event (managementEvent false)".to_string(),
        };
        return call.none(format!(
            "{} {} is {kind}; Cordon acts on management events",
            excerpt(&rec.event_source),
            excerpt(&rec.event_name),
        ));
    }
    if rec.is_read_only() {
        return call.none(format!(
            "{} {} is read-only (readOnly true) and changed nothing; EventBridge does not \
             deliver read-only management events to rules in state ENABLED",
            excerpt(&rec.event_source),
            excerpt(&rec.event_name)
        ));
    }
    match detector_for(&rec.event_source, &rec.event_name) {
        Some(d) if rec.is_error() && !d.examines_failed_calls => call.failed_call(),
        Some(d) => (d.detect)(call),
        None => unclaimed(call),
    }
}

/// A call no detector claims.
fn unclaimed(call: &Call<'_>) -> Verdict {
    match call.rec.event_source.as_str() {
        sources::SIGNIN => signin::sign_in_step(call),
        _ if call.rec.is_error() => call.failed_call(),
        _ => root::api_call(call),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn no_call_is_claimed_twice() {
        let mut seen = BTreeSet::new();
        for d in DETECTORS {
            assert!(!d.event_names.is_empty(), "{:?} claims no call", d.rules);
            for name in d.event_names {
                assert!(
                    seen.insert((d.event_source, *name)),
                    "{} {name} is claimed twice",
                    d.event_source
                );
            }
        }
    }

    #[test]
    fn every_incident_rule_has_one_home() {
        // Raised outside the detectors: the unclaimed-call fallback, the MFA audit's
        // findings and the failed sign-in counter.
        let mut homes: Vec<&str> = DETECTORS
            .iter()
            .flat_map(|d| d.rules.iter().copied())
            .collect();
        homes.push(rules::ROOT_API_CALL);
        homes.push(rules::CONSOLE_LOGIN_AFTER_FAILURES);
        homes.extend(rules::AUDIT_RULES);
        for rule in rules::INCIDENT_RULES {
            let n = homes.iter().filter(|r| *r == rule).count();
            assert_eq!(n, 1, "{rule} is raised by {n} detectors");
        }
        for rule in &homes {
            assert!(
                rules::INCIDENT_RULES.contains(rule),
                "{rule} is raised but not in INCIDENT_RULES"
            );
        }
    }
}
