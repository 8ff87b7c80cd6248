//! SNS limits, and the text rules that keep event-derived values inside them: subjects
//! of printable ASCII, single lines of capped length, secrets redacted, token-carrying
//! links withheld.
use serde_json::Value;

/// SNS subjects must be under 100 characters.
pub const MAX_SUBJECT_LEN: usize = 99;
/// Cap for one rendered value (evidence entry, user agent, …).
pub const MAX_VALUE_LEN: usize = 1000;
/// Cap for the whole body (SNS allows 256 KiB).
pub const MAX_BODY_LEN: usize = 200_000;

/// Printable ASCII, one line, ≤ [`MAX_SUBJECT_LEN`], never empty.
pub fn sanitize_subject(s: &str) -> String {
    let mut out = String::new();
    let mut last_space = true;
    for c in s.chars() {
        let c = if c.is_ascii_graphic() {
            c
        } else if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            '?'
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let mut out = out.trim().to_string();
    if out.is_empty() {
        out = "Cordon notification".to_string();
    }
    if out.len() > MAX_SUBJECT_LEN {
        out.truncate(MAX_SUBJECT_LEN - 3);
        out = out.trim_end().to_string();
        out.push_str("...");
    }
    out
}

/// One line of event-derived text: control characters become spaces, capped length.
pub fn sanitize_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push_str("...");
    }
    out
}

pub(super) fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "privatekey",
        "sessionkey",
    ]
    .iter()
    .any(|m| k.contains(m))
}

/// Refuses links that carry a token-like query parameter.
pub(super) fn safe_link(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let query = lower.split_once('?').map(|(_, q)| q).unwrap_or("");
    let leaks = query
        .split('&')
        .any(|kv| kv.split('=').next().is_some_and(|k| k.contains("token")));
    if leaks {
        "[link withheld: it carried a token parameter]".to_string()
    } else {
        sanitize_line(url, 2000)
    }
}

pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => sanitize_line(s, MAX_VALUE_LEN),
        other => sanitize_line(&other.to_string(), MAX_VALUE_LEN),
    }
}
