//! Failed console sign-ins counted per user and per source IP, and what the counts mean
//! (reference S0, extended). The counting itself is the record task's (an atomic DynamoDB
//! counter per key, `cordon_aws::failures`); this is the domain around it.
//!
//! - **Keys.** A failed sign-in counts against its source IP address and, when the user is
//!   known, against the user (IAM user names are unique case-insensitively; the root user
//!   is `root`). A masked user name (`HIDDEN_DUE_TO_SECURITY_REASONS`, a user that does not
//!   exist) counts against the IP alone. A source that is not an IP address (`AWS
//!   Internal`) is not a key.
//! - **Window.** Each key's window opens at its first failure and lasts the response
//!   policy's `failure_window_seconds`; a failure after that opens the next window.
//! - **One incident per user or IP per window.** The first failure opens the incident; a
//!   later failure whose user or IP already has one in its window is appended to that
//!   incident's timeline with the count, and opens nothing.
//! - **Escalation.** The failure that brings a key's count to `failure_threshold` (and
//!   the one that brings it to twice that) escalates the incident: the workflow assesses
//!   it again with the count, and the response policy says what follows. Crossing by IP
//!   (a spray over many users) names no user to contain; crossing by user does.
//! - **Success after failures.** A successful sign-in without MFA from an IP, or for a
//!   user, with at least `failure_threshold` failures in the window is
//!   `signin.console-login-after-failures`: a guessed password.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::classify::rules;
use crate::model::{Detection, PrincipalKind};

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "camelCase")]
pub enum FailureKey {
    /// A source IP address (canonical text).
    Ip(String),
    /// An IAM user name (lower-case), or `root`.
    User(String),
}

impl FailureKey {
    /// The counter's key: `ip#<address>` or `user#<name>`.
    pub fn as_key(&self) -> String {
        match self {
            FailureKey::Ip(ip) => format!("ip#{ip}"),
            FailureKey::User(u) => format!("user#{u}"),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            FailureKey::Ip(ip) => format!("from IP address {ip}"),
            FailureKey::User(u) if u == "root" => "for the root user".to_string(),
            FailureKey::User(u) => format!("for IAM user {u}"),
        }
    }
}

/// A key's count after one failure (or before a success).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCount {
    pub key: FailureKey,
    /// Failures in the key's current window, this one included.
    pub count: u64,
    pub window_start: DateTime<Utc>,
}

/// The sliding window and threshold of the response policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub seconds: u64,
    pub threshold: u32,
}

/// The detection is a failed sign-in that is counted.
pub fn is_counted_failure(d: &Detection) -> bool {
    d.rule == rules::CONSOLE_LOGIN_FAILED || d.rule == rules::ROOT_CONSOLE_LOGIN_FAILED
}

/// The detection is a successful sign-in that is checked against the failures before it.
pub fn is_checked_success(d: &Detection) -> bool {
    d.rule == rules::CONSOLE_LOGIN_NO_MFA || d.rule == rules::ROOT_CONSOLE_LOGIN
}

/// The keys a sign-in counts against: its source IP first, then its user.
pub fn failure_keys(d: &Detection) -> Vec<FailureKey> {
    let mut keys = Vec::new();
    if let Some(ip) = d
        .source_ip
        .as_deref()
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
    {
        keys.push(FailureKey::Ip(ip.to_string()));
    }
    match &d.principal {
        Some(p) if p.kind == PrincipalKind::Root => keys.push(FailureKey::User("root".into())),
        Some(p) if p.kind == PrincipalKind::IamUser => {
            if let Some(n) = p.name.as_deref().filter(|n| !n.is_empty()) {
                keys.push(FailureKey::User(n.to_ascii_lowercase()));
            }
        }
        _ => {}
    }
    keys
}

/// How far a failure escalates its incident: the key whose count reached the threshold (1)
/// or twice the threshold (2) with this very failure. A user key wins over an IP key that
/// crossed at the same time (it names who to contain).
pub fn escalation(counts: &[KeyCount], window: FailureWindow) -> Option<(u8, &KeyCount)> {
    let threshold = u64::from(window.threshold.max(1));
    let level = |c: &KeyCount| {
        if c.count == threshold * 2 {
            Some(2)
        } else if c.count == threshold {
            Some(1)
        } else {
            None
        }
    };
    counts
        .iter()
        .filter_map(|c| level(c).map(|l| (l, c)))
        .max_by_key(|(l, c)| (*l, matches!(c.key, FailureKey::User(_))))
}

/// The detection that escalates incident `incident_id`: `failure` with the count, under
/// the incident's id. Crossing by IP names no one to contain.
pub fn escalated(
    failure: &Detection,
    incident_id: &str,
    crossed: &KeyCount,
    window: FailureWindow,
) -> Detection {
    let mut d = failure.clone();
    d.incident_id = incident_id.to_string();
    d.title = format!(
        "{} failed console sign-ins {} within {} seconds",
        crossed.count,
        crossed.key.describe(),
        window.seconds
    );
    if matches!(crossed.key, FailureKey::Ip(_)) {
        d.principal = None;
    }
    annotate(&mut d, std::slice::from_ref(crossed), window);
    d.evidence
        .insert("failureThresholdReached".into(), json!(true));
    d
}

/// A successful sign-in after at least `threshold` failures from its IP or for its user:
/// an IAM user's becomes `signin.console-login-after-failures`; the root user's keeps its
/// rule and gains the counts. `None` when there were fewer failures.
pub fn after_failures(
    success: &Detection,
    counts: &[KeyCount],
    window: FailureWindow,
) -> Option<Detection> {
    let threshold = u64::from(window.threshold.max(1));
    let burst = counts
        .iter()
        .filter(|c| c.count >= threshold)
        .max_by_key(|c| c.count)?;
    let mut d = success.clone();
    annotate(&mut d, counts, window);
    d.evidence
        .insert("failureThresholdReached".into(), json!(true));
    d.evidence
        .insert("successAfterFailures".into(), json!(true));
    if d.rule == rules::CONSOLE_LOGIN_NO_MFA {
        d.rule = rules::CONSOLE_LOGIN_AFTER_FAILURES.to_string();
        d.title = format!(
            "IAM user {} signed in to the console after {} failed sign-ins {}",
            d.actor.display_name(),
            burst.count,
            burst.key.describe()
        );
    } else {
        d.title = format!(
            "{} after {} failed sign-ins {}",
            d.title,
            burst.count,
            burst.key.describe()
        );
    }
    Some(d)
}

/// The escalation a detection carries (`escalationLevel` evidence), if it escalates an
/// incident: its notifications are new ones, not repeats of the incident's first.
pub fn escalation_level(d: &Detection) -> Option<u8> {
    d.evidence
        .get("escalationLevel")
        .and_then(serde_json::Value::as_u64)
        .and_then(|l| u8::try_from(l).ok())
}

/// The notification marker of `kind` for `d`: `kind`, or `kind#escalation-<level>` for an
/// escalation (so the escalated incident's notification is sent, once per level).
pub fn notification_marker(kind: &str, d: Option<&Detection>) -> String {
    match d.and_then(escalation_level) {
        Some(level) => format!("{kind}#escalation-{level}"),
        None => kind.to_string(),
    }
}

/// Adds the counts to a detection's evidence: `failureCount` (the highest), and each key's.
fn annotate(d: &mut Detection, counts: &[KeyCount], window: FailureWindow) {
    if let Some(max) = counts.iter().map(|c| c.count).max() {
        d.evidence.insert("failureCount".into(), json!(max));
    }
    d.evidence.insert("failureCounts".into(), json!(counts));
    d.evidence
        .insert("failureWindowSeconds".into(), json!(window.seconds));
    d.evidence
        .insert("failureThreshold".into(), json!(window.threshold));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(key: FailureKey, count: u64) -> KeyCount {
        KeyCount {
            key,
            count,
            window_start: DateTime::<Utc>::default(),
        }
    }

    #[test]
    fn escalates_once_at_the_threshold_and_at_twice_it() {
        let w = FailureWindow {
            seconds: 900,
            threshold: 5,
        };
        let ip = |n| count(FailureKey::Ip("203.0.113.66".into()), n);
        let user = |n| count(FailureKey::User("jdoe".into()), n);
        assert!(escalation(&[ip(4), user(4)], w).is_none());
        assert!(escalation(&[ip(6), user(1)], w).is_none());
        let both = [ip(5), user(5)];
        let (level, key) = escalation(&both, w).expect("crossed");
        assert_eq!(level, 1);
        assert_eq!(key.key, FailureKey::User("jdoe".into()));
        let twice = [ip(10), user(5)];
        let (level, key) = escalation(&twice, w).expect("crossed");
        assert_eq!(
            (level, &key.key),
            (2, &FailureKey::Ip("203.0.113.66".into()))
        );
    }
}
