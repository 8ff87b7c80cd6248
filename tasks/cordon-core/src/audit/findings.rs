//! What the audit finds in a credential report, per user.
//!
//! - A user with a console password (`password_enabled` true) and no MFA device
//!   (`mfa_active` false): [`FindingKind::ConsoleWithoutMfa`].
//! - The root user without MFA: [`FindingKind::RootWithoutMfa`]; with an active access
//!   key: [`FindingKind::RootAccessKeyActive`].
//! - Optionally (when the response policy sets a limit), an active access key last
//!   rotated more than `key_max_age_days` ago ([`FindingKind::AccessKeyTooOld`]), or not
//!   used for `key_max_unused_days` (never used: counted from when it was created)
//!   ([`FindingKind::AccessKeyUnused`]).
//!
//! One [`UserFinding`] per non-compliant user, holding all of its findings: that is one
//! incident per user per day.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::report::{CredentialReport, ReportRow};

/// The audit's optional limits (from the response policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditSettings {
    pub key_max_age_days: Option<u32>,
    pub key_max_unused_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingKind {
    ConsoleWithoutMfa,
    RootWithoutMfa,
    RootAccessKeyActive,
    AccessKeyTooOld,
    AccessKeyUnused,
}

impl FindingKind {
    pub const ALL: [FindingKind; 5] = [
        FindingKind::ConsoleWithoutMfa,
        FindingKind::RootWithoutMfa,
        FindingKind::RootAccessKeyActive,
        FindingKind::AccessKeyTooOld,
        FindingKind::AccessKeyUnused,
    ];

    /// The CloudWatch metric counting this kind (namespace `SecurityAudit`).
    pub fn metric(self) -> &'static str {
        match self {
            FindingKind::ConsoleWithoutMfa => "ConsoleUsersWithoutMFA",
            FindingKind::RootWithoutMfa => "RootWithoutMFA",
            FindingKind::RootAccessKeyActive => "RootAccessKeysActive",
            FindingKind::AccessKeyTooOld => "AccessKeysTooOld",
            FindingKind::AccessKeyUnused => "AccessKeysUnused",
        }
    }

    /// It is an MFA failure (counted in `SecurityAudit/MFAFailures`).
    pub fn is_mfa_failure(self) -> bool {
        matches!(
            self,
            FindingKind::ConsoleWithoutMfa | FindingKind::RootWithoutMfa
        )
    }
}

/// One thing wrong with a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    /// A sentence for the notification.
    pub detail: String,
    /// Access key 1 or 2, for key findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u8>,
    /// Age or days unused, for key findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
}

/// Everything wrong with one user on one audit day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserFinding {
    /// The user name, or `<root_account>`.
    pub user: String,
    pub arn: String,
    /// The audit's day (UTC): the incident is one per user per day.
    pub audit_day: NaiveDate,
    /// When IAM generated the report the audit read (a report is reused for up to four
    /// hours).
    pub report_generated_at: DateTime<Utc>,
    #[serde(default)]
    pub password_last_used: Option<DateTime<Utc>>,
    pub findings: Vec<Finding>,
}

impl UserFinding {
    pub fn is_root(&self) -> bool {
        self.user == super::report::ROOT_USER
    }

    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }
}

/// The findings of `report`, generated at `generated_at`, on `now`'s day.
pub fn audit(
    report: &CredentialReport,
    settings: AuditSettings,
    generated_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<UserFinding> {
    report
        .rows
        .iter()
        .filter_map(|row| {
            let findings = row_findings(row, settings, now);
            (!findings.is_empty()).then(|| UserFinding {
                user: row.user.clone(),
                arn: row.arn.clone(),
                audit_day: now.date_naive(),
                report_generated_at: generated_at,
                password_last_used: row.password_last_used,
                findings,
            })
        })
        .collect()
}

fn row_findings(row: &ReportRow, settings: AuditSettings, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    let finding = |kind, detail: String| Finding {
        kind,
        detail,
        key: None,
        days: None,
    };
    if row.is_root() {
        if !row.mfa_active {
            out.push(finding(
                FindingKind::RootWithoutMfa,
                "the root user has no MFA device".to_string(),
            ));
        }
        for (i, k) in row.keys.iter().enumerate() {
            if k.active {
                out.push(Finding {
                    key: Some(i as u8 + 1),
                    ..finding(
                        FindingKind::RootAccessKeyActive,
                        format!("the root user has an active access key ({})", i + 1),
                    )
                });
            }
        }
        return out;
    }
    if row.password_enabled == Some(true) && !row.mfa_active {
        out.push(finding(
            FindingKind::ConsoleWithoutMfa,
            format!("{} can sign in to the console without MFA", row.user),
        ));
    }
    for (i, k) in row.keys.iter().enumerate().filter(|(_, k)| k.active) {
        let n = i as u8 + 1;
        if let (Some(max), Some(rotated)) = (settings.key_max_age_days, k.last_rotated) {
            let age = (now - rotated).num_days();
            if age > i64::from(max) {
                out.push(Finding {
                    key: Some(n),
                    days: Some(age),
                    ..finding(
                        FindingKind::AccessKeyTooOld,
                        format!(
                            "access key {n} of {} is {age} days old (limit {max})",
                            row.user
                        ),
                    )
                });
            }
        }
        if let Some(max) = settings.key_max_unused_days {
            // Never used: counted from when it was last rotated (created).
            if let Some(since) = k.last_used.or(k.last_rotated) {
                let idle = (now - since).num_days();
                if idle > i64::from(max) {
                    let what = if k.last_used.is_some() {
                        "unused for"
                    } else {
                        "never used in"
                    };
                    out.push(Finding {
                        key: Some(n),
                        days: Some(idle),
                        ..finding(
                            FindingKind::AccessKeyUnused,
                            format!(
                                "access key {n} of {} {what} {idle} days (limit {max})",
                                row.user
                            ),
                        )
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::KeyColumns;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn row(user: &str, password: Option<bool>, mfa: bool, keys: [KeyColumns; 2]) -> ReportRow {
        ReportRow {
            user: user.into(),
            arn: format!("arn:aws:iam::111122223333:user/{user}"),
            created: None,
            password_enabled: password,
            password_last_used: None,
            mfa_active: mfa,
            keys,
        }
    }

    #[test]
    fn findings_per_user() {
        let now = at("2024-09-27T06:00:00Z");
        let old = KeyColumns {
            active: true,
            last_rotated: Some(at("2024-01-01T00:00:00Z")),
            last_used: None,
        };
        let report = CredentialReport {
            rows: vec![
                row("compliant", Some(true), true, Default::default()),
                row("programmatic", Some(false), false, Default::default()),
                row("carol", Some(true), false, Default::default()),
                row("ci", Some(false), false, [old.clone(), Default::default()]),
                row(
                    super::super::report::ROOT_USER,
                    None,
                    false,
                    [old, Default::default()],
                ),
            ],
            problems: vec![],
        };
        let none = audit(&report, AuditSettings::default(), now, now);
        let users: Vec<&str> = none.iter().map(|f| f.user.as_str()).collect();
        assert_eq!(users, ["carol", "<root_account>"]);
        assert!(none[1].has(FindingKind::RootWithoutMfa));
        assert!(none[1].has(FindingKind::RootAccessKeyActive));
        let limits = AuditSettings {
            key_max_age_days: Some(90),
            key_max_unused_days: Some(30),
        };
        let all = audit(&report, limits, now, now);
        let ci = all.iter().find(|f| f.user == "ci").expect("ci");
        assert!(ci.has(FindingKind::AccessKeyTooOld));
        assert!(ci.has(FindingKind::AccessKeyUnused));
        assert_eq!(ci.audit_day.to_string(), "2024-09-27");
    }
}
