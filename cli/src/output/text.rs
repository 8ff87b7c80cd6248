//! Times, durations and ages as people read them, the same in every rendering.
use chrono::{DateTime, SecondsFormat, Utc};

/// `2024-09-27T14:06:00Z` (seconds; the JSON keeps milliseconds).
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `-` for nothing.
pub fn opt_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "-".into())
}

/// `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    if secs < 60 {
        return format!("{}.{}s", secs, (ms % 1000) / 100);
    }
    let (mins, s) = (secs / 60, secs % 60);
    if mins < 60 {
        return format!("{mins}m{s:02}s");
    }
    let (hours, m) = (mins / 60, mins % 60);
    if hours < 24 {
        return format!("{hours}h{m:02}m");
    }
    format!("{}d{:02}h", hours / 24, hours % 24)
}

/// Shortens `text` to `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The display width of `text` (characters; Cordon's values are ASCII in practice).
pub fn width(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(12_345), "12.3s");
        assert_eq!(duration(245_000), "4m05s");
        assert_eq!(duration(7_380_000), "2h03m");
        assert_eq!(duration(273_600_000), "3d04h");
        assert_eq!(duration(-5), "0ms");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("support-admin", 20), "support-admin");
        assert_eq!(truncate("support-admin", 8), "support…");
        assert_eq!(truncate("x", 0), "");
    }
}
