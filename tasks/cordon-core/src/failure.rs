//! S0 extension: count failed sign-ins per user and per source IP over a sliding window,
//! and escalate when a threshold is reached.
//!
//! Pure data: the caller loads the window (it is `Serialize`), feeds detections with
//! [`FailureWindow::observe`], and stores it again.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::classify::rules;
use crate::model::{Detection, PrincipalKind, Severity};

/// Timestamps kept per key at most (bounds memory under a flood).
pub const MAX_ENTRIES_PER_KEY: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureWindow {
    pub window_seconds: i64,
    pub threshold: u32,
    by_user: BTreeMap<String, Vec<DateTime<Utc>>>,
    by_ip: BTreeMap<String, Vec<DateTime<Utc>>>,
}

/// Failures inside the window, including the one just recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureCounts {
    pub user: u32,
    pub ip: u32,
    /// `user` or `ip` reached the threshold.
    pub threshold_reached: bool,
}

impl FailureCounts {
    /// The larger of the two counts.
    pub fn max(&self) -> u32 {
        self.user.max(self.ip)
    }
}

impl FailureWindow {
    pub fn new(window_seconds: u64, threshold: u32) -> Self {
        FailureWindow {
            window_seconds: i64::try_from(window_seconds.max(1)).unwrap_or(i64::MAX / 2),
            threshold: threshold.max(1),
            by_user: BTreeMap::new(),
            by_ip: BTreeMap::new(),
        }
    }

    pub fn from_policy(p: &crate::policy::ResponsePolicy) -> Self {
        Self::new(p.failure_window_seconds, p.failure_threshold)
    }

    fn window(&self) -> Duration {
        Duration::try_seconds(self.window_seconds).unwrap_or(Duration::MAX)
    }

    fn bump(
        map: &mut BTreeMap<String, Vec<DateTime<Utc>>>,
        key: &str,
        at: DateTime<Utc>,
        window: Duration,
    ) -> u32 {
        let entries = map.entry(key.to_string()).or_default();
        entries.push(at);
        let from = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        entries.retain(|t| *t > from && *t <= at);
        if entries.len() > MAX_ENTRIES_PER_KEY {
            entries.sort();
            let excess = entries.len() - MAX_ENTRIES_PER_KEY;
            entries.drain(..excess);
        }
        u32::try_from(entries.len()).unwrap_or(u32::MAX)
    }

    /// Records one failure for `user` (case-insensitive) and/or `ip` at `at`.
    pub fn record(
        &mut self,
        user: Option<&str>,
        ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> FailureCounts {
        let window = self.window();
        let user_count = user
            .filter(|u| !u.is_empty())
            .map(|u| Self::bump(&mut self.by_user, &u.to_ascii_lowercase(), at, window))
            .unwrap_or(0);
        let ip_count = ip
            .filter(|i| !i.is_empty())
            .map(|i| Self::bump(&mut self.by_ip, i, at, window))
            .unwrap_or(0);
        FailureCounts {
            user: user_count,
            ip: ip_count,
            threshold_reached: user_count >= self.threshold || ip_count >= self.threshold,
        }
    }

    /// Feeds a detection. Only failed sign-ins count; returns `None` for anything else.
    pub fn observe(&mut self, d: &Detection) -> Option<FailureCounts> {
        if d.rule != rules::CONSOLE_LOGIN_FAILED && d.rule != rules::ROOT_CONSOLE_LOGIN_FAILED {
            return None;
        }
        let user = match &d.principal {
            Some(p) if p.kind == PrincipalKind::Root => Some("root".to_string()),
            Some(p) => p.name.clone(),
            None => None,
        };
        Some(self.record(user.as_deref(), d.source_ip.as_deref(), d.event_time))
    }

    /// Drops entries older than the window ending at `now`, and empty keys.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let from = now
            .checked_sub_signed(self.window())
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        for map in [&mut self.by_user, &mut self.by_ip] {
            map.retain(|_, v| {
                v.retain(|t| *t > from);
                !v.is_empty()
            });
        }
    }

    /// Observes a detection and writes the counts into its evidence
    /// (`userFailureCount`, `ipFailureCount`, `failureCount`, `failureThresholdReached`),
    /// which [`crate::policy::ResponsePolicy::assess`] turns into an escalation.
    pub fn annotate(&mut self, d: &mut Detection) -> Option<FailureCounts> {
        let counts = self.observe(d)?;
        d.evidence
            .insert("userFailureCount".into(), json!(counts.user));
        d.evidence.insert("ipFailureCount".into(), json!(counts.ip));
        d.evidence
            .insert("failureCount".into(), json!(counts.max()));
        d.evidence.insert(
            "failureThresholdReached".into(),
            json!(counts.threshold_reached),
        );
        Some(counts)
    }
}

/// Severity after the failure counter: at least `High` once the threshold is reached,
/// `Critical` at twice the threshold.
pub fn escalate_severity(base: Severity, counts: &FailureCounts, threshold: u32) -> Severity {
    if !counts.threshold_reached {
        return base;
    }
    let floor = if counts.max() >= threshold.saturating_mul(2) {
        Severity::Critical
    } else {
        Severity::High
    };
    base.max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(sec: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_727_445_000 + sec, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn counts_slide_and_escalate() {
        let mut w = FailureWindow::new(60, 3);
        assert_eq!(w.record(Some("jdoe"), Some("203.0.113.66"), t(0)).user, 1);
        assert_eq!(w.record(Some("JDOE"), Some("203.0.113.66"), t(10)).user, 2);
        let c = w.record(Some("jdoe"), Some("203.0.113.66"), t(20));
        assert_eq!((c.user, c.ip, c.threshold_reached), (3, 3, true));
        assert_eq!(escalate_severity(Severity::Medium, &c, 3), Severity::High);
        // t(0) and t(10) fell out of the window.
        let c = w.record(Some("jdoe"), None, t(75));
        assert_eq!((c.user, c.ip, c.threshold_reached), (2, 0, false));
        assert_eq!(escalate_severity(Severity::Medium, &c, 3), Severity::Medium);
    }

    #[test]
    fn ip_only_counting_and_prune() {
        let mut w = FailureWindow::new(300, 2);
        w.record(None, Some("203.0.113.14"), t(0));
        let c = w.record(None, Some("203.0.113.14"), t(1));
        assert!(c.threshold_reached);
        assert_eq!(c.user, 0);
        w.prune(t(1000));
        assert_eq!(w, FailureWindow::new(300, 2));
        let json = serde_json::to_string(&w).unwrap_or_default();
        assert!(json.contains("windowSeconds"));
    }

    #[test]
    fn bounded_memory() {
        let mut w = FailureWindow::new(u64::MAX, 1);
        for i in 0..(MAX_ENTRIES_PER_KEY as i64 + 50) {
            w.record(Some("x"), None, t(i));
        }
        let c = w.record(Some("x"), None, t(5000));
        assert_eq!(c.user as usize, MAX_ENTRIES_PER_KEY);
        assert_eq!(escalate_severity(Severity::Low, &c, 1), Severity::Critical);
    }
}
