//! Console sign-ins: failures, root sign-ins, and IAM user sign-ins without MFA.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::classification::Classification;
use super::detector::{Detector, sources};
use super::identity::{HIDDEN_USER_NAME, is_valid_iam_name};
use super::rules;
use crate::event::{excerpt, str_at, value_at};
use crate::model::{Detection, PrincipalKind};

/// `ConsoleLogin`: the result of a console sign-in. Failed sign-ins are the signal here,
/// so failed calls are examined.
pub(super) const CONSOLE_LOGIN: Detector = Detector {
    event_source: sources::SIGNIN,
    event_names: &["ConsoleLogin"],
    rules: &[
        rules::ROOT_CONSOLE_LOGIN,
        rules::ROOT_CONSOLE_LOGIN_FAILED,
        rules::CONSOLE_LOGIN_FAILED,
        rules::CONSOLE_LOGIN_NO_MFA,
    ],
    examines_failed_calls: true,
    detect: console_login,
};

fn console_login(call: &Call<'_>) -> Verdict {
    console_login_as(call, false)
}

/// The detection an IAM user's console sign-in with MFA becomes after a burst of failed
/// sign-ins (`signin.console-login-after-failures`, before the counts are added); `None` for
/// any other event.
pub(super) fn with_mfa(call: &Call<'_>) -> Option<Detection> {
    match console_login_as(call, true) {
        Ok(Classification::Incident(d)) if d.rule == rules::CONSOLE_LOGIN_AFTER_FAILURES => Some(d),
        _ => None,
    }
}

/// `PasswordUpdated` and `PasswordRecoveryCompleted`: the root user's password changed in
/// the console, or reset through "Forgot password". Whoever did it controls the account.
pub(super) const ROOT_PASSWORD: Detector = Detector {
    event_source: sources::SIGNIN,
    event_names: &["PasswordUpdated", "PasswordRecoveryCompleted"],
    rules: &[rules::ROOT_PASSWORD_CHANGED],
    examines_failed_calls: false,
    detect: root_password,
};

fn root_password(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let result = str_at(&rec.response_elements, &[&rec.event_name]);
    if !call.is_root() {
        return call.none(format!(
            "{} by a {} identity (only the root user's password changes are watched)",
            rec.event_name,
            call.actor.kind.as_str()
        ));
    }
    if !result.is_some_and(|r| r.eq_ignore_ascii_case("success")) {
        return call.none(format!(
            "{} for the root user did not succeed ({}); nothing changed",
            rec.event_name,
            result.map(excerpt).unwrap_or_else(|| "no result".into())
        ));
    }
    let mut ev = BTreeMap::new();
    ev.insert("passwordAction".to_string(), json!(rec.event_name));
    let title = if rec.event_name == "PasswordRecoveryCompleted" {
        "Root user password reset through password recovery"
    } else {
        "Root user password changed"
    };
    call.incident(
        rules::ROOT_PASSWORD_CHANGED,
        title.to_string(),
        Some(call.root_principal()),
        ev,
    )
}

/// Whether the sign-in used MFA, as `infra/template.yaml`'s `ConsoleSignInRule` reads it:
/// `additionalEventData.MFAUsed` says `Yes` (any case); without `MFAUsed`, an
/// `MFAIdentifier` shows the device used. Anything else (`No`, a missing field, a value
/// that is not a yes) is a sign-in without MFA: MFA that cannot be confirmed is not MFA.
fn mfa_was_used(additional_event_data: &Value) -> bool {
    match value_at(additional_event_data, &["MFAUsed"]) {
        None | Some(Value::Null) => str_at(additional_event_data, &["MFAIdentifier"]).is_some(),
        Some(Value::String(s)) => s.eq_ignore_ascii_case("yes"),
        Some(v) => v.as_bool() == Some(true),
    }
}

/// Any other sign-in event (`CheckMfa`, `CredentialVerification`, …) is a step of a
/// sign-in, not its result: understood, never an incident.
pub(super) fn sign_in_step(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    let result = str_at(&rec.service_event_details, &[&rec.event_name])
        .or_else(|| str_at(&rec.response_elements, &[&rec.event_name]))
        .unwrap_or("unknown");
    call.none(format!(
        "{} ({result}) is a sign-in step, not a console login result; \
         no incident (failures may feed the per-IP failure counter)",
        rec.event_name
    ))
}

/// `ConsoleLogin`; with `mfa_candidate`, a sign-in with MFA is returned as the detection
/// [`with_mfa`] needs instead of being dismissed.
fn console_login_as(call: &Call<'_>, mfa_candidate: bool) -> Verdict {
    let rec = call.rec;
    let result = str_at(&rec.response_elements, &["ConsoleLogin"]);
    let failed = result.is_some_and(|r| r.eq_ignore_ascii_case("failure"));
    let succeeded = result.is_some_and(|r| r.eq_ignore_ascii_case("success"));
    let aed = &rec.additional_event_data;
    let mfa_identifier = str_at(aed, &["MFAIdentifier"]);
    let mfa_used = mfa_was_used(aed);

    let mut ev = BTreeMap::new();
    ev.insert("loginResult".to_string(), json!(result));
    ev.insert("mfaUsed".to_string(), json!(mfa_used));
    if let Some(m) = mfa_identifier {
        ev.insert("mfaIdentifier".into(), json!(m));
    }
    if let Some(m) = rec.error_message.as_deref() {
        ev.insert("errorMessage".into(), json!(m));
    }
    if let Some(l) = str_at(aed, &["LoginTo"]) {
        ev.insert("loginTo".into(), json!(l));
    }
    if let Some(s) = str_at(aed, &["SamlProviderArn"]) {
        ev.insert("samlProviderArn".into(), json!(s));
    }

    if call.is_root() {
        if failed {
            return call.incident(
                rules::ROOT_CONSOLE_LOGIN_FAILED,
                "Failed root user console sign-in".to_string(),
                Some(call.root_principal()),
                ev,
            );
        }
        let title = if mfa_used {
            "Root user signed in to the console (with MFA)"
        } else {
            "Root user signed in to the console WITHOUT MFA"
        };
        return call.incident(
            rules::ROOT_CONSOLE_LOGIN,
            title.to_string(),
            Some(call.root_principal()),
            ev,
        );
    }

    if failed {
        let ui = &call.rec.user_identity;
        let hidden = ui.user_name.as_deref() == Some(HIDDEN_USER_NAME);
        if let Some(n) = ui.user_name.as_deref() {
            ev.insert("attemptedUserName".into(), json!(excerpt(n)));
        }
        let principal = match (ui.kind, ui.user_name.as_deref()) {
            (PrincipalKind::IamUser, Some(n)) if !hidden && is_valid_iam_name(n) => {
                Some(call.user_principal(n.to_string(), ui.arn.clone(), ui.principal_id.clone()))
            }
            _ => None,
        };
        let title = match &principal {
            Some(p) => format!("Failed console sign-in for IAM user {}", p.display_name()),
            None => "Failed console sign-in for an unknown user name".to_string(),
        };
        ev.insert("knownUser".into(), json!(principal.is_some()));
        return call.incident(rules::CONSOLE_LOGIN_FAILED, title, principal, ev);
    }

    let federated = matches!(
        call.actor.kind,
        PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
    ) || str_at(aed, &["SamlProviderArn"]).is_some();
    if federated {
        let via = if str_at(aed, &["SamlProviderArn"]).is_some() {
            "SAML"
        } else if call
            .actor
            .session_issuer_arn
            .as_deref()
            .is_some_and(|a| a.contains("/aws-reserved/sso.amazonaws.com/"))
        {
            "IAM Identity Center"
        } else {
            "federation"
        };
        return call.none(format!(
            "federated console sign-in via {via} by {}; MFA is enforced at the identity \
             provider, so MFAUsed=No is expected",
            call.actor_name()
        ));
    }
    if !succeeded {
        return call.no_rule(format!(
            "ConsoleLogin with unrecognised result {:?}; no rule applies",
            result.map(excerpt).unwrap_or_else(|| "none".into())
        ));
    }
    if call.actor.kind != PrincipalKind::IamUser {
        return call.no_rule(format!(
            "console sign-in by a {} identity; no rule applies",
            call.actor.kind.as_str()
        ));
    }
    if mfa_used && !mfa_candidate {
        return call
            .signed_in_with_mfa(format!("console sign-in with MFA by {}", call.actor_name()));
    }
    let ui = &call.rec.user_identity;
    let principal = ui
        .user_name
        .clone()
        .filter(|n| is_valid_iam_name(n))
        .map(|n| call.user_principal(n, ui.arn.clone(), ui.principal_id.clone()));
    if mfa_used {
        return call.incident(
            rules::CONSOLE_LOGIN_AFTER_FAILURES,
            format!(
                "IAM user {} signed in to the console with MFA",
                call.actor_name()
            ),
            principal,
            ev,
        );
    }
    call.incident(
        rules::CONSOLE_LOGIN_NO_MFA,
        format!(
            "IAM user {} signed in to the console without MFA",
            call.actor_name()
        ),
        principal,
        ev,
    )
}
