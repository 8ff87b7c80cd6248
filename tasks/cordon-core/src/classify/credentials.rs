//! Credentials of IAM users: access keys minted for someone else (or for root), console
//! passwords created or reset, MFA devices removed.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::identity::is_valid_iam_name;
use super::rules;
use crate::event::{parse_bool_lenient, str_at, value_at};

/// `CreateAccessKey` for another user (persistence), or for the root user. Self-service
/// rotation is not an incident.
pub(super) const CREATE_ACCESS_KEY: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["CreateAccessKey"],
    rules: &[
        rules::ACCESS_KEY_FOR_OTHER_USER,
        rules::ROOT_ACCESS_KEY_CREATED,
    ],
    examines_failed_calls: false,
    detect: create_access_key,
};

/// `CreateLoginProfile`: console access given to a (possibly programmatic) user.
pub(super) const CREATE_LOGIN_PROFILE: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["CreateLoginProfile"],
    rules: &[rules::LOGIN_PROFILE_CREATED],
    examines_failed_calls: false,
    detect: create_login_profile,
};

/// `UpdateLoginProfile`: a console password reset.
pub(super) const UPDATE_LOGIN_PROFILE: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["UpdateLoginProfile"],
    rules: &[rules::LOGIN_PROFILE_UPDATED],
    examines_failed_calls: false,
    detect: update_login_profile,
};

/// `DeactivateMFADevice`: a user's MFA device removed.
pub(super) const DEACTIVATE_MFA_DEVICE: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["DeactivateMFADevice"],
    rules: &[rules::MFA_DEACTIVATED],
    examines_failed_calls: false,
    detect: deactivate_mfa,
};

/// `DeleteVirtualMFADevice`: an MFA device deleted (IAM requires it to be deactivated
/// first, so this usually follows `DeactivateMFADevice`). The device's owner is not in the
/// record, so the actor is the one to look at.
pub(super) const DELETE_VIRTUAL_MFA_DEVICE: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["DeleteVirtualMFADevice"],
    rules: &[rules::MFA_DEVICE_DELETED],
    examines_failed_calls: false,
    detect: delete_virtual_mfa,
};

fn create_access_key(call: &Call<'_>) -> Verdict {
    let key = value_at(&call.rec.response_elements, &["accessKey"]);
    let key_id = key.and_then(|k| str_at(k, &["accessKeyId"]));
    let requested = call.request_user_name("userName")?;
    let target = requested.or_else(|| {
        key.and_then(|k| str_at(k, &["userName"]))
            .filter(|n| is_valid_iam_name(n))
            .map(str::to_string)
    });
    let mut ev = BTreeMap::new();
    ev.insert("accessKeyId".to_string(), json!(key_id));
    if let Some(s) = key.and_then(|k| str_at(k, &["status"])) {
        ev.insert("keyStatus".into(), json!(s));
    }
    let Some(target) = target else {
        if call.is_root() {
            return call.incident(
                rules::ROOT_ACCESS_KEY_CREATED,
                "Access key created for the root user".to_string(),
                Some(call.root_principal()),
                ev,
            );
        }
        return call.none(format!(
            "CreateAccessKey by {} for itself",
            call.actor_name()
        ));
    };
    if call.is_self(&target) {
        return call.none(format!("self-service access key rotation by {target}"));
    }
    ev.insert("targetUserName".into(), json!(target));
    let title = format!(
        "Access key {} created for IAM user {target} by {}",
        key_id.unwrap_or("(unknown id)"),
        call.actor_name()
    );
    let principal = call.user_principal(target, None, None);
    call.incident(rules::ACCESS_KEY_FOR_OTHER_USER, title, Some(principal), ev)
}

fn create_login_profile(call: &Call<'_>) -> Verdict {
    login_profile(call, rules::LOGIN_PROFILE_CREATED, "created")
}

fn update_login_profile(call: &Call<'_>) -> Verdict {
    login_profile(call, rules::LOGIN_PROFILE_UPDATED, "reset")
}

fn login_profile(call: &Call<'_>, rule: &str, verb: &str) -> Verdict {
    let target = call.target_user()?;
    let mut ev = BTreeMap::new();
    // Never copy `password` from requestParameters.
    if let Some(v) = value_at(&call.rec.request_parameters, &["passwordResetRequired"])
        .and_then(parse_bool_lenient)
    {
        ev.insert("passwordResetRequired".to_string(), json!(v));
    }
    ev.insert("targetUserName".to_string(), json!(target));
    ev.insert(
        "selfService".to_string(),
        json!(target.as_deref().is_some_and(|t| call.is_self(t))),
    );
    let title = format!(
        "Console password {verb} for IAM user {} by {}",
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident(rule, title, principal, ev)
}

fn deactivate_mfa(call: &Call<'_>) -> Verdict {
    let target = call.target_user()?;
    let mut ev = BTreeMap::new();
    ev.insert(
        "serialNumber".to_string(),
        json!(call.rec.request_str("serialNumber")),
    );
    ev.insert("targetUserName".to_string(), json!(target));
    let title = format!(
        "MFA device deactivated for IAM user {} by {}",
        target.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = target.map(|t| call.user_principal(t, None, None));
    call.incident(rules::MFA_DEACTIVATED, title, principal, ev)
}

fn delete_virtual_mfa(call: &Call<'_>) -> Verdict {
    let serial = call.rec.request_str("serialNumber");
    let mut ev = BTreeMap::new();
    ev.insert("serialNumber".to_string(), json!(serial));
    let title = format!(
        "MFA device {} deleted by {}",
        serial
            .map(|s| s.rsplit('/').next().unwrap_or(s))
            .unwrap_or("(unknown)"),
        call.actor_name()
    );
    call.incident(
        rules::MFA_DEVICE_DELETED,
        title,
        Some(call.actor_principal()),
        ev,
    )
}
