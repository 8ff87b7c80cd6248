//! Tags Cordon puts on a contained principal.
use chrono::{DateTime, SecondsFormat, Utc};

pub const SECURITY_STATUS: &str = "SecurityStatus";
pub const QUARANTINED: &str = "Quarantined";
/// `SecurityStatus` value after release.
pub const RELEASED: &str = "Released";
pub const INCIDENT: &str = "CordonIncident";
pub const QUARANTINED_AT: &str = "QuarantinedAt";

/// Every tag key Cordon sets (what release removes).
pub const TAG_KEYS: &[&str] = &[SECURITY_STATUS, INCIDENT, QUARANTINED_AT];

/// IAM tag values: at most 256 characters.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// Makes `value` a valid IAM tag value: letters, digits, spaces and `_.:/=+-@`; anything
/// else becomes `_`; at most 256 characters.
pub fn sanitize_tag_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_TAG_VALUE_LEN)
        .collect()
}

/// `SecurityStatus=Quarantined`, `CordonIncident=<id>`, `QuarantinedAt=<RFC 3339 UTC>`.
pub fn quarantine_tags(incident_id: &str, at: DateTime<Utc>) -> Vec<(String, String)> {
    vec![
        (SECURITY_STATUS.to_string(), QUARANTINED.to_string()),
        (INCIDENT.to_string(), sanitize_tag_value(incident_id)),
        (
            QUARANTINED_AT.to_string(),
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tags_are_valid() {
        let at = Utc
            .with_ymd_and_hms(2024, 9, 27, 14, 5, 2)
            .single()
            .unwrap_or_default();
        let tags = quarantine_tags("ct-8592029f-6c1e", at);
        assert_eq!(
            tags,
            vec![
                ("SecurityStatus".into(), "Quarantined".into()),
                ("CordonIncident".into(), "ct-8592029f-6c1e".into()),
                ("QuarantinedAt".into(), "2024-09-27T14:05:02Z".into()),
            ]
        );
        let hostile = format!("a<b>\n{}", "é".repeat(400));
        let t = quarantine_tags(&hostile, at);
        assert_eq!(t[1].1.chars().count(), 256);
        assert!(t[1].1.starts_with("a_b__"));
    }
}
