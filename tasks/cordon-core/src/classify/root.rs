//! The root user: any successful write call it makes that no detector claims.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::rules;
use crate::event::excerpt;

/// The fallback for calls no detector claims: a successful, not read-only call by the
/// root user is `root.api-call`; anything else has no rule.
pub(super) fn api_call(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    if call.is_root() && rec.error_code.is_none() && rec.read_only != Some(true) {
        let mut ev = BTreeMap::new();
        ev.insert("readOnly".to_string(), json!(rec.read_only));
        return call.incident(
            rules::ROOT_API_CALL,
            format!(
                "Root user called {}:{}",
                service_prefix(&rec.event_source),
                rec.event_name
            ),
            Some(call.root_principal()),
            ev,
        );
    }
    call.none(format!(
        "no rule for {} {}",
        excerpt(&rec.event_source),
        excerpt(&rec.event_name)
    ))
}

/// `iam.amazonaws.com` → `iam`.
fn service_prefix(event_source: &str) -> &str {
    event_source.split('.').next().unwrap_or(event_source)
}
