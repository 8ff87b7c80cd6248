//! Deterministic incident ids.
//!
//! An incident id is also the Step Functions execution name, so it is at most 80
//! characters of `[A-Za-z0-9_-]`. Duplicate deliveries of one CloudTrail event share
//! an id (it comes from `detail.eventID`, never from the envelope `id`), which is what
//! makes OpenIncident's conditional put idempotent.
use chrono::NaiveDate;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Maximum length of a Step Functions execution name.
pub const MAX_ID_LEN: usize = 80;

fn is_safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `true` when `s` is non-empty, ≤ `max` chars and only `[A-Za-z0-9_-]`.
fn is_safe(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(is_safe_char)
}

/// Lowercase hex of SHA-256, truncated to `n` hex chars.
pub(crate) fn sha256_hex(data: &[u8], n: usize) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out.truncate(n);
    out
}

fn id_with_prefix(prefix: &str, raw: &str) -> String {
    if is_safe(raw, MAX_ID_LEN - prefix.len()) {
        format!("{prefix}{raw}")
    } else {
        // Unsafe or oversized ids are hashed: still deterministic, always valid.
        format!("{prefix}h-{}", sha256_hex(raw.as_bytes(), 32))
    }
}

/// Incident id for a CloudTrail event: `ct-<eventID>` (hashed when the eventID is not a
/// safe execution name).
pub fn incident_id_for_event(event_id: &str) -> String {
    id_with_prefix("ct-", event_id.trim())
}

/// Incident id for an MFA audit finding: one per user per day,
/// `mfa-YYYYMMDD-<16 hex of sha256(user name)>`.
pub fn incident_id_for_audit(user_name: &str, day: NaiveDate) -> String {
    format!(
        "mfa-{}-{}",
        day.format("%Y%m%d"),
        sha256_hex(user_name.as_bytes(), 16)
    )
}

/// Incident id for a malformed (rejected) event: `rej-<eventID>` if present and safe,
/// else `rej-<envelope id>`, else `rej-h-<hash of the canonical JSON>`.
pub fn rejected_incident_id(raw: &Value) -> String {
    const PREFIX: &str = "rej-";
    let max = MAX_ID_LEN - PREFIX.len();
    let event_id = raw
        .get("detail")
        .and_then(|d| d.get("eventID"))
        .and_then(Value::as_str)
        .map(str::trim);
    if let Some(id) = event_id.filter(|s| is_safe(s, max)) {
        return format!("{PREFIX}{id}");
    }
    let envelope_id = raw.get("id").and_then(Value::as_str).map(str::trim);
    if let Some(id) = envelope_id.filter(|s| is_safe(s, max)) {
        return format!("{PREFIX}{id}");
    }
    let mut canonical = String::new();
    write_canonical(raw, &mut canonical);
    format!("{PREFIX}h-{}", sha256_hex(canonical.as_bytes(), 32))
}

/// The id of the incident a raw event is (or would be) recorded under when it was never
/// classified, for example because its OpenIncident step failed: `ct-<eventID>` as for any
/// detection when the record has an `eventID`, else the rejected id
/// ([`rejected_incident_id`]). Record and notify derive it the same way, so a failure
/// recorded with the table down and notified is the incident a replay opens.
pub fn incident_id_for_raw_event(raw: &Value) -> String {
    match raw
        .get("detail")
        .and_then(|d| d.get("eventID"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        Some(event_id) => incident_id_for_event(event_id),
        None => rejected_incident_id(raw),
    }
}

/// JSON with object keys sorted, no whitespace: equal values give equal text.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(val) = map.get(k) {
                    write_canonical(val, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid_name(s: &str) -> bool {
        is_safe(s, MAX_ID_LEN)
    }

    #[test]
    fn event_id_is_deterministic_and_safe() {
        let a = incident_id_for_event("8592029f-6c1e-4f4a-9d3b-2a0c5e7b1d44");
        assert_eq!(a, "ct-8592029f-6c1e-4f4a-9d3b-2a0c5e7b1d44");
        assert_eq!(
            a,
            incident_id_for_event("8592029f-6c1e-4f4a-9d3b-2a0c5e7b1d44")
        );
        for hostile in ["a/b", "", &"x".repeat(500), "ünï", "a b", "id\n"] {
            let id = incident_id_for_event(hostile);
            assert!(valid_name(&id), "{id}");
            assert_eq!(id, incident_id_for_event(hostile));
        }
        assert_ne!(incident_id_for_event("a/b"), incident_id_for_event("a/c"));
    }

    #[test]
    fn audit_id_is_per_user_per_day() {
        let d = NaiveDate::from_ymd_opt(2024, 9, 27).unwrap_or_default();
        let a = incident_id_for_audit("carol", d);
        assert!(a.starts_with("mfa-20240927-"), "{a}");
        assert_eq!(a.len(), "mfa-20240927-".len() + 16);
        assert_eq!(a, incident_id_for_audit("carol", d));
        assert_ne!(a, incident_id_for_audit("bob", d));
        let next = d.succ_opt().unwrap_or_default();
        assert_ne!(a, incident_id_for_audit("carol", next));
        assert!(valid_name(&incident_id_for_audit(&"ü".repeat(300), d)));
    }

    #[test]
    fn an_unclassified_event_gets_the_id_its_detection_would_have() {
        let raw = json!({"id": "env", "detail": {"eventID": "8592029f-6c1e"}});
        assert_eq!(
            incident_id_for_raw_event(&raw),
            incident_id_for_event("8592029f-6c1e")
        );
        let no_event_id = json!({"id": "env", "detail": {"eventID": " "}});
        assert_eq!(
            incident_id_for_raw_event(&no_event_id),
            rejected_incident_id(&no_event_id)
        );
        assert!(valid_name(&incident_id_for_raw_event(&json!(null))));
    }

    #[test]
    fn rejected_id_fallbacks() {
        assert_eq!(
            rejected_incident_id(&json!({"id": "env", "detail": {"eventID": "ev"}})),
            "rej-ev"
        );
        assert_eq!(
            rejected_incident_id(&json!({"id": "env", "detail": "{\"eventID\":\"x\"}"})),
            "rej-env"
        );
        let a = rejected_incident_id(&json!({"b": 1, "a": [1, {"y": 2, "x": 1}]}));
        let b = rejected_incident_id(&json!({"a": [1, {"x": 1, "y": 2}], "b": 1}));
        assert_eq!(a, b);
        assert!(a.starts_with("rej-h-"));
        assert!(valid_name(&a));
        assert!(valid_name(&rejected_incident_id(&json!(null))));
        assert!(valid_name(&rejected_incident_id(
            &json!({"id": "x".repeat(200)})
        )));
    }
}
