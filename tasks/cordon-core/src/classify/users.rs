//! The IAM user lifecycle: users created (possible backdoors) and deleted.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::call::{Call, Verdict};
use super::detector::{Detector, sources};
use super::identity::validate_iam_user_name;
use super::rules;
use crate::error::TaskError;
use crate::event::{excerpt, json_type_name, str_at, value_at};

/// `CreateUser`: a new IAM user (the backdoor-user case). A denied `CreateUser` is
/// examined too: it names the informational rule `iam.user-create-denied`.
pub(super) const CREATE_USER: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["CreateUser"],
    rules: &[rules::USER_CREATED],
    examines_failed_calls: true,
    detect: create_user,
};

/// `DeleteUser`: an identity removed (possibly a monitoring or break-glass one). The
/// target is gone, so the actor is the one to contain.
pub(super) const DELETE_USER: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["DeleteUser"],
    rules: &[rules::USER_DELETED],
    examines_failed_calls: false,
    detect: delete_user,
};

/// `UpdateUser` with `newUserName`: a user renamed. A rename slips past lists that name
/// users, and dresses a backdoor in a familiar name; the renamed user is the one to
/// contain, under its new name. A path change alone is not an incident.
pub(super) const UPDATE_USER: Detector = Detector {
    event_source: sources::IAM,
    event_names: &["UpdateUser"],
    rules: &[rules::USER_RENAMED],
    examines_failed_calls: false,
    detect: update_user,
};

fn create_user(call: &Call<'_>) -> Verdict {
    if let Some(code) = call.rec.error_code.as_deref() {
        return call.none(format!(
            "{}: CreateUser by {} failed with {code}; nothing was created \
             (informational, may feed a denied-attempt counter)",
            rules::USER_CREATE_DENIED,
            call.actor_name()
        ));
    }
    let requested = call.request_user_name("userName")?;
    let user = value_at(&call.rec.response_elements, &["user"]);
    let responded = match user.and_then(|u| u.get("userName")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            validate_iam_user_name(s, "detail.responseElements.user.userName")?;
            Some(s.clone())
        }
        Some(other) => {
            return Err(TaskError::invalid(
                "detail.responseElements.user.userName",
                format!("must be a string, got {}", json_type_name(other)),
            ));
        }
    };
    let name = match (requested, responded) {
        (Some(a), Some(b)) if a != b => {
            return Err(TaskError::invalid(
                "detail.responseElements.user.userName",
                format!(
                    "\"{}\" does not match requestParameters.userName \"{}\"",
                    excerpt(&b),
                    excerpt(&a)
                ),
            ));
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => {
            return Err(TaskError::invalid(
                "detail.requestParameters.userName",
                "is missing (a successful CreateUser always names the user)",
            ));
        }
    };
    let arn = user.and_then(|u| str_at(u, &["arn"])).map(str::to_string);
    let user_id = user
        .and_then(|u| str_at(u, &["userId"]))
        .map(str::to_string);
    let mut ev = BTreeMap::new();
    ev.insert("userName".to_string(), json!(name));
    ev.insert("userArn".to_string(), json!(arn));
    if let Some(p) = user
        .and_then(|u| str_at(u, &["path"]))
        .or_else(|| call.rec.request_str("path"))
    {
        ev.insert("path".into(), json!(p));
    }
    if let Some(tags) = value_at(&call.rec.request_parameters, &["tags"]).filter(|t| t.is_array()) {
        ev.insert("tags".into(), tags.clone());
    }
    if let Some(k) = call.actor.access_key_id.as_deref() {
        ev.insert("actorAccessKeyId".into(), json!(k));
    }
    let title = format!("IAM user {name} created by {}", call.actor_name());
    let principal = call.user_principal(name, arn, user_id);
    call.incident(rules::USER_CREATED, title, Some(principal), ev)
}

fn delete_user(call: &Call<'_>) -> Verdict {
    let deleted = call.request_user_name("userName")?;
    let mut ev = BTreeMap::new();
    ev.insert("deletedUserName".to_string(), json!(deleted));
    let title = format!(
        "IAM user {} deleted by {}",
        deleted.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    // The target no longer exists: the one to contain is the actor.
    call.incident(rules::USER_DELETED, title, Some(call.actor_principal()), ev)
}

fn update_user(call: &Call<'_>) -> Verdict {
    let old = call.request_user_name("userName")?;
    let Some(new) = call.request_user_name("newUserName")? else {
        return call.none(format!(
            "UpdateUser of {} by {} does not rename it",
            old.as_deref().unwrap_or("(unknown)"),
            call.actor_name()
        ));
    };
    let mut ev = BTreeMap::new();
    ev.insert("oldUserName".to_string(), json!(old));
    ev.insert("newUserName".to_string(), json!(new));
    if let Some(p) = call.rec.request_str("newPath") {
        ev.insert("newPath".into(), json!(p));
    }
    let title = format!(
        "IAM user {} renamed to {new} by {}",
        old.as_deref().unwrap_or("(unknown)"),
        call.actor_name()
    );
    let principal = call.user_principal(new, None, None);
    call.incident(rules::USER_RENAMED, title, Some(principal), ev)
}
