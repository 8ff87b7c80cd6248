//! The root user: any successful write call it makes that no detector claims.
use std::collections::BTreeMap;

use serde_json::json;

use super::call::{Call, Verdict};
use super::rules;
use crate::event::excerpt;

/// The fallback for calls no detector claims, once failed and read-only calls are
/// dismissed: a call by the root user is `root.api-call`, in any service; anything else
/// has no rule.
pub(super) fn api_call(call: &Call<'_>) -> Verdict {
    let rec = call.rec;
    if call.is_root() {
        let mut ev = BTreeMap::new();
        ev.insert("readOnly".to_string(), json!(rec.read_only));
        if let Some(t) = rec.event_type.as_deref() {
            ev.insert("eventType".to_string(), json!(t));
        }
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
    call.no_rule(format!(
        "no rule for {} {} by a {} identity",
        excerpt(&rec.event_source),
        excerpt(&rec.event_name),
        call.actor.kind.as_str()
    ))
}

/// `iam.amazonaws.com` → `iam`.
fn service_prefix(event_source: &str) -> &str {
    event_source.split('.').next().unwrap_or(event_source)
}
