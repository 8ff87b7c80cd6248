//! HTML: escaping and the pages. Every dynamic value goes through [`escape`]; there is no
//! JavaScript, and the CSP forbids everything but inline styles and same-origin form posts.
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use cordon_aws::links::{DecidedBy, LinkKind, LinkRecord, LinkStatus};
use serde_json::Value;

/// Longest value rendered from the stored summary (evidence is attacker-influenced).
const MAX_VALUE_CHARS: usize = 500;

/// Escape text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2F;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escaped and capped at [`MAX_VALUE_CHARS`] characters.
fn value(s: &str) -> String {
    if s.chars().count() > MAX_VALUE_CHARS {
        let cut: String = s.chars().take(MAX_VALUE_CHARS).collect();
        format!("{}…", escape(&cut))
    } else {
        escape(s)
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:46rem;\
margin:2rem auto;padding:0 1rem;color:#1b1f23;line-height:1.45}\
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:1rem 0}\
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #e1e4e8;\
word-break:break-word}th{width:14rem;color:#586069;font-weight:600;word-break:normal;overflow-wrap:anywhere}\
.sev{font-weight:700;text-transform:uppercase}.note{color:#586069;font-size:.9rem}\
form{margin-top:1.5rem}label{display:block;margin-bottom:1rem}\
input[type=text]{font-size:1rem;padding:.35rem;width:18rem;max-width:100%}\
button{font-size:1rem;padding:.55rem 1.2rem;margin-right:.75rem;border-radius:4px;\
border:1px solid #1b1f23;cursor:pointer}button.go{background:#b31d28;color:#fff;border-color:#b31d28}\
button.no{background:#fff}";

/// A complete page. `title` is escaped here; `body` must already be safe HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex,nofollow\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{t} - Cordon</title><style>{STYLE}</style></head>\
         <body><h1>{t}</h1>{body}<p class=\"note\">Cordon automated incident response</p>\
         </body></html>\n",
        t = escape(title)
    )
}

/// A page with a title and one escaped paragraph.
pub fn message(title: &str, text: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(text)))
}

fn row(out: &mut String, label: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            value(v)
        );
    }
}

fn evidence_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The incident table shared by the approval and release pages.
fn details(link: &LinkRecord) -> String {
    let s = &link.summary;
    let mut t = String::from("<table>");
    row(&mut t, "Incident", Some(&link.incident_id));
    row(&mut t, "What happened", s.title.as_deref());
    row(&mut t, "Principal", s.principal.as_deref());
    row(&mut t, "Actor", s.actor.as_deref());
    row(&mut t, "Rule", s.rule.as_deref());
    if let Some(sev) = s.severity.as_deref().filter(|v| !v.is_empty()) {
        let _ = write!(
            t,
            "<tr><th>Severity</th><td class=\"sev\">{}</td></tr>",
            value(sev)
        );
    }
    row(&mut t, "Event", s.event_name.as_deref());
    row(&mut t, "Event time", s.event_time.map(time).as_deref());
    row(&mut t, "Source IP", s.source_ip.as_deref());
    for (k, v) in &s.evidence {
        row(&mut t, &format!("Evidence: {k}"), Some(&evidence_text(v)));
    }
    if !s.reasons.is_empty() {
        t.push_str("<tr><th>Why</th><td>");
        for r in &s.reasons {
            let _ = write!(t, "{}<br>", value(r));
        }
        t.push_str("</td></tr>");
    }
    row(&mut t, "Link expires", Some(&time(link.expires_at)));
    t.push_str("</table>");
    t
}

fn form(link: &LinkRecord, buttons: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/{p}/{id}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Your name (optional, recorded with the decision)<br>\
         <input type=\"text\" name=\"name\" maxlength=\"100\" autocomplete=\"name\"></label>\
         {buttons}</form>",
        p = path_letter(link.kind),
        id = escape(&link.id),
        csrf = escape(link.csrf.expose()),
    )
}

fn path_letter(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Approval => "a",
        LinkKind::Release => "r",
    }
}

/// GET /a/{id}: the confirmation page (changes nothing).
pub fn approval_page(link: &LinkRecord) -> String {
    let mut body = String::from(
        "<p>Cordon detected the activity below and asks whether to <strong>quarantine the \
         principal</strong> (attach a deny-all policy). Nothing happens until you press a \
         button.</p>",
    );
    body.push_str(&details(link));
    body.push_str(&form(
        link,
        "<button class=\"go\" type=\"submit\" name=\"decision\" value=\"approve\">Approve quarantine</button>\
         <button class=\"no\" type=\"submit\" name=\"decision\" value=\"reject\">Reject</button>",
    ));
    page("Approve containment?", &body)
}

/// GET /r/{id}: the release confirmation page (changes nothing).
pub fn release_page(link: &LinkRecord) -> String {
    let mut body = String::from(
        "<p>This principal was quarantined by Cordon. Releasing it restores it to its \
         pre-containment state (detaches the deny-all policy, reactivates keys Cordon \
         deactivated, removes Cordon's tags). Only release it once the investigation is \
         done. This link works once.</p>",
    );
    body.push_str(&details(link));
    body.push_str(&form(
        link,
        "<button class=\"go\" type=\"submit\" name=\"decision\" value=\"release\">Release the principal</button>",
    ));
    page("Release the principal?", &body)
}

/// Who decided, for the result pages.
pub fn decided_by_text(by: Option<&DecidedBy>) -> String {
    by.and_then(|b| b.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "someone".to_string())
}

/// The page for a link that can no longer be used.
pub fn closed_page(link: &LinkRecord, now: DateTime<Utc>) -> (u16, String) {
    let what = match link.kind {
        LinkKind::Approval => "approval",
        LinkKind::Release => "release link",
    };
    match link.status {
        LinkStatus::Pending | LinkStatus::Expired => (
            410,
            message(
                "This link has expired",
                &format!(
                    "This {what} for incident {} expired at {}; nothing was changed. If \
                     action is still needed, use the Cordon CLI.",
                    link.incident_id,
                    time(link.expires_at.min(now)),
                ),
            ),
        ),
        LinkStatus::Closed => (
            409,
            message(
                "This approval was already completed",
                &format!(
                    "The workflow for incident {} is no longer waiting for this {what} \
                     (it was completed or stopped); nothing was changed.",
                    link.incident_id
                ),
            ),
        ),
        decided => (
            409,
            message(
                "Already decided",
                &format!(
                    "This {what} for incident {} was already used: {} by {} at {}. It can be \
                     used only once; nothing was changed.",
                    link.incident_id,
                    decided.as_str().to_lowercase(),
                    decided_by_text(link.decided_by.as_ref()),
                    link.decided_at
                        .map(time)
                        .unwrap_or_else(|| "an earlier time".into()),
                ),
            ),
        ),
    }
}

/// The one page for unknown, malformed and forged ids (it says nothing about which).
pub fn not_found_page() -> String {
    message(
        "Link not found",
        "This link is not valid. It may have been mistyped, or it expired and was removed. \
         Nothing was changed.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        let hostile = r#"<script>alert("x")</script>' onmouseover=alert(1) `&"#;
        let e = escape(hostile);
        assert_eq!(
            e,
            "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt;&#x27; onmouseover&#x3D;alert(1) &#x60;&amp;"
        );
        for bad in ['<', '>', '"', '\'', '`'] {
            assert!(!e.contains(bad), "{bad} survived: {e}");
        }
        assert_eq!(escape("plain text 123"), "plain text 123");
        assert_eq!(escape("a\u{0}b\u{1b}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(escape("é ü 漢字"), "é ü 漢字");
    }

    #[test]
    fn long_values_are_capped() {
        let long = "x".repeat(5000);
        assert!(value(&long).chars().count() <= MAX_VALUE_CHARS + 1);
    }
}
