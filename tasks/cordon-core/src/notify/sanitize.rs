//! SNS limits, and the text rules that keep event-derived values inside them: subjects
//! of printable ASCII, single lines of capped length, secrets redacted, token-carrying
//! links withheld.
//!
//! **Text hygiene** ([`clean`], [`Clean`]): every string derived from event data (a user
//! agent, a tag value, a user name, a typed approver name) can carry characters that make
//! it read differently from what it is: bidirectional controls (U+202E turns
//! `evil\u{202E}txt.exe` into `evilexe.txt`), line and paragraph separators (U+2028/U+2029
//! start a new line in many mail clients, so a value can fake a line of the message),
//! zero-width characters and other invisible format characters (a name that looks like
//! `admin` but is not). [`clean`] replaces control characters and the two separators with a
//! space and makes every other such character visible as `[U+XXXX]`, so the reader sees
//! that it was there. Emails ([`sanitize_line`]), the approval pages and the log lines of
//! the functions that show event data use it.
use std::borrow::Cow;
use std::fmt;

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

/// One line of event-derived text: [`clean`]ed (control characters and line or
/// paragraph separators become spaces, invisible and bidirectional format characters are
/// shown as `[U+XXXX]`), capped at `max` characters of the original.
pub fn sanitize_line(s: &str, max: usize) -> String {
    let kept: String = s.chars().take(max).collect();
    let mut out = clean(&kept).into_owned();
    if s.chars().count() > max {
        out.push_str("...");
    }
    out
}

/// What [`clean`] does with one character.
enum Hygiene {
    Keep,
    /// Becomes a space: control characters, and U+2028/U+2029, which break lines.
    Space,
    /// Shown as `[U+XXXX]`: it would change how the text reads without being seen.
    Visible,
}

fn hygiene(c: char) -> Hygiene {
    match c {
        c if c.is_control() => Hygiene::Space,
        '\u{2028}' | '\u{2029}' => Hygiene::Space,
        // Bidirectional controls: embeddings, overrides, isolates and marks.
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Hygiene::Visible,
        // Zero-width and other invisible format characters (Unicode category Cf), the
        // byte order mark, interlinear annotations, tag characters (used to smuggle text
        // past a reader) and the Hangul fillers, which render as blank.
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{17B4}'
        | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206A}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}' => Hygiene::Visible,
        _ => Hygiene::Keep,
    }
}

/// Event-derived text made safe to read, on one line: control characters and line or
/// paragraph separators become a space; bidirectional controls, zero-width and other
/// invisible format characters become a visible `[U+XXXX]`. Borrowed when nothing had to
/// change.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| matches!(hygiene(c), Hygiene::Keep)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match hygiene(c) {
            Hygiene::Keep => out.push(c),
            Hygiene::Space => out.push(' '),
            Hygiene::Visible => {
                use std::fmt::Write as _;
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// [`clean`] as a `Display` value, for log fields derived from event data:
/// `info!(user_agent = %Clean(ua), ...)`.
pub struct Clean<'a>(pub &'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(self.0))
    }
}

impl fmt::Debug for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*clean(self.0), f)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deceptive_characters_are_removed_or_made_visible() {
        assert!(matches!(clean("plain text, é 漢字"), Cow::Borrowed(_)));
        assert_eq!(clean("evil\u{202E}txt.exe"), "evil[U+202E]txt.exe");
        assert_eq!(clean("a\u{2028}Approved by: admin"), "a Approved by: admin");
        assert_eq!(clean("a\u{2029}b\r\nc\u{0}"), "a b  c ");
        assert_eq!(clean("ad\u{200B}min"), "ad[U+200B]min");
        assert_eq!(
            clean("\u{FEFF}x\u{2066}y\u{2069}"),
            "[U+FEFF]x[U+2066]y[U+2069]"
        );
        assert_eq!(clean("tag\u{E0041}"), "tag[U+E0041]");
        assert_eq!(
            clean("\u{200E}\u{200F}\u{061C}"),
            "[U+200E][U+200F][U+061C]"
        );
        assert_eq!(Clean("x\u{202E}y").to_string(), "x[U+202E]y");
    }

    #[test]
    fn lines_are_cleaned_then_capped() {
        assert_eq!(sanitize_line("ab\u{202E}cd", 3), "ab[U+202E]...");
        assert_eq!(sanitize_line("abc", 3), "abc");
        let line = sanitize_line("Mozilla\u{2028}Decided by: root\u{2029}", 100);
        assert!(
            !line.contains('\u{2028}') && !line.contains('\u{2029}'),
            "{line:?}"
        );
    }
}
