//! The IAM credential report (`GetCredentialReport`'s CSV), read robustly.
//!
//! The report is RFC 4180 CSV with a header row. Columns are found by name, so their order
//! and any columns AWS adds later do not matter; only `user`, `arn`, `password_enabled`
//! and `mfa_active` are required. Quoted fields (with `""` escapes and embedded commas or
//! newlines), CRLF line ends, a UTF-8 byte-order mark and a missing final newline are all
//! read. Values IAM writes for "nothing": `N/A`, `no_information`, `not_supported` (and an
//! empty field). The root user's row is `<root_account>`, whose `password_enabled` is
//! `not_supported`. A row that cannot be read is reported in [`CredentialReport::problems`]
//! and skipped: one bad row never hides the others.
use chrono::{DateTime, Utc};

use crate::event::parse_iso8601;

/// The `user` value of the root user's row.
pub const ROOT_USER: &str = "<root_account>";

/// Why a report cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the credential report is empty")]
    Empty,
    #[error("the credential report's header has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("the credential report is not valid CSV: {0}")]
    Csv(String),
}

/// One access key's columns (`access_key_<n>_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyColumns {
    pub active: bool,
    pub last_rotated: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The user name, or [`ROOT_USER`].
    pub user: String,
    pub arn: String,
    pub created: Option<DateTime<Utc>>,
    /// `None` for `not_supported` (the root user).
    pub password_enabled: Option<bool>,
    pub password_last_used: Option<DateTime<Utc>>,
    pub mfa_active: bool,
    /// Access keys 1 and 2.
    pub keys: [KeyColumns; 2],
}

impl ReportRow {
    pub fn is_root(&self) -> bool {
        self.user == ROOT_USER
    }
}

/// The report, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialReport {
    pub rows: Vec<ReportRow>,
    /// Rows that could not be read, each with its line and why.
    pub problems: Vec<String>,
}

impl CredentialReport {
    /// Reads the CSV text of a credential report.
    pub fn parse(text: &str) -> Result<CredentialReport, ReportError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let records = records(text)?;
        let mut records = records.into_iter().filter(|(_, r)| !is_blank(r));
        let (_, header) = records.next().ok_or(ReportError::Empty)?;
        let column = |name: &'static str| header.iter().position(|h| h.trim() == name);
        let required = |name: &'static str| column(name).ok_or(ReportError::MissingColumn(name));
        let user = required("user")?;
        let arn = required("arn")?;
        let password_enabled = required("password_enabled")?;
        let mfa_active = required("mfa_active")?;
        let created = column("user_creation_time");
        let password_last_used = column("password_last_used");
        let key = |n: u8, what: &str| -> Option<usize> {
            header
                .iter()
                .position(|h| h.trim() == format!("access_key_{n}_{what}"))
        };
        let mut report = CredentialReport::default();
        for (line, record) in records {
            let get = |i: Option<usize>| i.and_then(|i| record.get(i)).map(|s| s.trim());
            let (Some(u), Some(a)) = (get(Some(user)), get(Some(arn))) else {
                report.problems.push(format!(
                    "line {line}: {} fields, the header has {}",
                    record.len(),
                    header.len()
                ));
                continue;
            };
            if u.is_empty() {
                report.problems.push(format!("line {line}: no user name"));
                continue;
            }
            let Some(mfa) = get(Some(mfa_active)).and_then(boolean) else {
                report.problems.push(format!(
                    "line {line} ({u}): mfa_active is {:?}, not true or false",
                    get(Some(mfa_active)).unwrap_or("")
                ));
                continue;
            };
            let password = match get(Some(password_enabled)) {
                Some(v) if is_nothing(v) => None,
                Some(v) => match boolean(v) {
                    Some(b) => Some(b),
                    None => {
                        report.problems.push(format!(
                            "line {line} ({u}): password_enabled is {v:?}, not true or false"
                        ));
                        continue;
                    }
                },
                None => None,
            };
            let keys = [1, 2].map(|n| KeyColumns {
                active: get(key(n, "active")).and_then(boolean).unwrap_or(false),
                last_rotated: get(key(n, "last_rotated")).and_then(time),
                last_used: get(key(n, "last_used_date")).and_then(time),
            });
            report.rows.push(ReportRow {
                user: u.to_string(),
                arn: a.to_string(),
                created: get(created).and_then(time),
                password_enabled: password,
                password_last_used: get(password_last_used).and_then(time),
                mfa_active: mfa,
                keys,
            });
        }
        Ok(report)
    }
}

/// `N/A`, `no_information`, `not_supported` or empty: IAM's ways of saying "nothing".
fn is_nothing(v: &str) -> bool {
    v.is_empty()
        || v.eq_ignore_ascii_case("N/A")
        || v.eq_ignore_ascii_case("no_information")
        || v.eq_ignore_ascii_case("not_supported")
}

fn boolean(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn time(v: &str) -> Option<DateTime<Utc>> {
    if is_nothing(v) {
        return None;
    }
    parse_iso8601(v)
}

fn is_blank(record: &[String]) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

/// The records of RFC 4180 CSV text, each with the line it starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, ReportError> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') | (false, '\r') => {
                record.push(std::mem::take(&mut field));
                out.push((start, std::mem::take(&mut record)));
                line += 1;
                start = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(ReportError::Csv(format!(
            "a quoted field starting on line {start} is never closed"
        )));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        out.push((start, record));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\r\n\
<root_account>,arn:aws:iam::111122223333:root,2019-04-02T10:12:00+00:00,not_supported,2024-09-01T08:00:00+00:00,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n\
carol,arn:aws:iam::111122223333:user/carol,2024-01-05T09:00:00+00:00,true,no_information,2024-01-05T09:00:00+00:00,N/A,false,true,2024-01-05T09:01:00+00:00,2024-09-20T10:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\r\n";

    #[test]
    fn reads_the_report_aws_writes() {
        let r = CredentialReport::parse(AWS).expect("report");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.rows.len(), 2);
        let root = &r.rows[0];
        assert!(root.is_root());
        assert_eq!(root.password_enabled, None);
        assert!(!root.mfa_active);
        let carol = &r.rows[1];
        assert_eq!(carol.password_enabled, Some(true));
        assert_eq!(carol.password_last_used, None);
        assert!(carol.keys[0].active && !carol.keys[1].active);
        assert!(carol.keys[0].last_used.is_some());
    }

    #[test]
    fn columns_by_name_quotes_and_bad_rows() {
        let text = "\u{feff}mfa_active,arn,\"user\",password_enabled,extra\n\
                    false,arn:aws:iam::1:user/a,\"a\",true,\"x, \"\"quoted\"\"\nline\"\n\
                    maybe,arn:aws:iam::1:user/b,b,true,\n\
                    true,arn:aws:iam::1:user/c,c,false";
        let r = CredentialReport::parse(text).expect("report");
        assert_eq!(r.rows.len(), 2, "{r:?}");
        assert_eq!(r.rows[0].user, "a");
        assert_eq!(r.rows[1].user, "c");
        assert!(r.rows[1].mfa_active);
        assert_eq!(r.problems.len(), 1);
        assert!(r.problems[0].contains("line 4 (b)"), "{:?}", r.problems);
    }

    #[test]
    fn unreadable_reports() {
        assert_eq!(CredentialReport::parse(""), Err(ReportError::Empty));
        assert_eq!(
            CredentialReport::parse("user,arn,password_enabled\n"),
            Err(ReportError::MissingColumn("mfa_active"))
        );
        assert!(matches!(
            CredentialReport::parse("user,arn,password_enabled,mfa_active\n\"a,b"),
            Err(ReportError::Csv(_))
        ));
        // A short row is a problem, not a crash.
        let r = CredentialReport::parse("user,arn,password_enabled,mfa_active\nonly\n")
            .expect("report");
        assert!(r.rows.is_empty() && r.problems.len() == 1);
    }
}
