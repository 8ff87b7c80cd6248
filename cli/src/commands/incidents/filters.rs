//! The filters `incidents list` and `incidents export` share, and how operators write
//! statuses, severities and times on the command line.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args as ClapArgs;
use cordon_aws::IncidentQuery;
use cordon_core::model::{IncidentStatus, Severity};

/// The filters `list` and `export` share.
#[derive(Debug, Clone, ClapArgs)]
pub struct Filters {
    /// Only incidents with this status (open, awaiting_approval, contained, notified,
    /// dismissed, closed, released, rejected, failed).
    #[arg(long, value_parser = parse_status)]
    pub status: Option<IncidentStatus>,
    /// Only incidents about this principal: its ARN (or its name, when the event carried
    /// no ARN).
    #[arg(long)]
    pub principal: Option<String>,
    /// Only incidents of this rule id (iam.user-created, …).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only incidents of this severity (low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Opened at or after: RFC 3339, a date (2024-09-27), or an age (30m, 24h, 7d, 2w).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Opened before (same forms as --since).
    #[arg(long, value_parser = parse_since)]
    pub until: Option<DateTime<Utc>>,
}

impl Filters {
    pub fn query(&self) -> IncidentQuery {
        IncidentQuery {
            status: self.status,
            principal: self.principal.clone(),
            rule: self.rule.clone(),
            severity: self.severity,
            since: self.since,
            until: self.until,
        }
    }
}

pub fn parse_status(s: &str) -> Result<IncidentStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_uppercase())).map_err(|_| {
        format!(
            "{s:?} is not a status; use one of open, awaiting_approval, contained, notified, \
             dismissed, closed, released, rejected, failed"
        )
    })
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
        .map_err(|_| format!("{s:?} is not a severity; use low, medium, high or critical"))
}

/// RFC 3339, a date (midnight UTC), or an age before now (`30m`, `24h`, `7d`, `2w`).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, Utc::now())
}

fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| {
        format!(
            "{s:?} is not a time; use RFC 3339, a date (2024-09-27) or an age (30m, 24h, 7d, 2w)"
        )
    })?;
    let age = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => {
            return Err(format!(
                "{s:?}: an age ends in m, h, d or w (30m, 24h, 7d, 2w)"
            ));
        }
    };
    Ok(now - age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_operators_write_them() {
        let now = DateTime::parse_from_rfc3339("2024-09-27T14:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            parse_time("24h", now).expect("age"),
            now - Duration::hours(24)
        );
        assert_eq!(
            parse_time("2w", now).expect("age"),
            now - Duration::weeks(2)
        );
        assert_eq!(
            parse_time("2024-09-01", now).expect("date").to_rfc3339(),
            "2024-09-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday", now).is_err());
        assert_eq!(parse_status("contained"), Ok(IncidentStatus::Contained));
        assert_eq!(
            parse_status("awaiting_approval"),
            Ok(IncidentStatus::AwaitingApproval)
        );
        assert!(parse_status("gone").is_err());
        assert_eq!(parse_severity("HIGH"), Ok(Severity::High));
    }
}
