//! HTML: escaping and the pages. Every dynamic value is cleaned of control, bidirectional
//! and invisible characters (`cordon_core::notify::clean`) and escaped; there is no
//! JavaScript, and the CSP forbids everything but inline styles and same-origin form posts.
//!
//! A page shows only what a decision needs: the incident, what happened, the user, the
//! actor's name, the rule and severity, the event and when the link expires. ARNs, source
//! IPs, access key ids and evidence stay in the email, because whoever holds a link (or
//! reads over a shoulder) should learn no more than the decision needs.
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use cordon_aws::links::{LinkId, LinkKind, LinkRecord, LinkStatus};
use cordon_core::model::VerifiedIdentity;

/// Longest value rendered from the stored summary (event data is attacker-influenced).
const MAX_VALUE_CHARS: usize = 300;

/// Escape text for HTML element content and double- or single-quoted attribute values,
/// after cleaning it of characters that would make it read differently from what it is.
pub fn escape(s: &str) -> String {
    let s = cordon_core::notify::clean(s);
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
word-break:break-word}th{width:12rem;color:#586069;font-weight:600}\
.sev{font-weight:700;text-transform:uppercase}.note{color:#586069;font-size:.9rem}\
.warn{background:#fff5b1;border:1px solid #d9b500;padding:.6rem .8rem}\
.who{background:#f1f8ff;border:1px solid #c8e1ff;padding:.6rem .8rem}\
form{margin-top:1.5rem}label{display:block;margin-bottom:1rem}\
input[type=text]{font-size:1rem;padding:.35rem;width:22rem;max-width:100%}\
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

/// Who is deciding, as the page tells them.
pub enum Mode<'a> {
    /// Signed in with the configured identity provider.
    SignedIn(&'a VerifiedIdentity),
    /// No identity provider configured: whoever holds the link decides.
    LinkOnly,
}

fn banner(mode: &Mode<'_>) -> String {
    match mode {
        Mode::SignedIn(who) => format!(
            "<p class=\"who\">Signed in as <strong>{}</strong>. Your decision is recorded \
             under this identity.</p>",
            escape(&who.display())
        ),
        Mode::LinkOnly => "<p class=\"warn\"><strong>Decisions through this link are not \
             authenticated.</strong> Anyone who holds the link can decide, and the name \
             below is whatever they type. Configure sign-in with your identity provider \
             (the stack's Oidc parameters) so that only named approvers can decide.</p>"
            .to_string(),
    }
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

/// The incident table shared by the approval and release pages: only what a decision
/// needs.
fn details(link: &LinkRecord) -> String {
    let s = &link.summary;
    let mut t = String::from("<table>");
    row(&mut t, "Incident", Some(&link.incident_id));
    row(&mut t, "What happened", s.title.as_deref());
    row(&mut t, "User", s.principal_name.as_deref());
    row(&mut t, "Done by", s.actor_name.as_deref());
    row(&mut t, "Rule", s.rule.as_deref());
    if let Some(sev) = s.severity.as_deref().filter(|v| !v.is_empty()) {
        let _ = write!(
            t,
            "<tr><th>Severity</th><td class=\"sev\">{}</td></tr>",
            value(sev)
        );
    }
    let event = match (s.event_name.as_deref(), s.event_time) {
        (Some(n), Some(at)) => Some(format!("{n} at {}", time(at))),
        (Some(n), None) => Some(n.to_string()),
        _ => None,
    };
    row(&mut t, "Event", event.as_deref());
    row(&mut t, "Link expires", Some(&time(link.expires_at)));
    t.push_str(
        "</table><p class=\"note\">The notification email has the full details \
                (ARNs, source IP, evidence).</p>",
    );
    t
}

fn path_letter(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Approval => "a",
        LinkKind::Release => "r",
    }
}

fn form_open(kind: LinkKind, id: &LinkId, csrf: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/{p}/{id}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">",
        p = path_letter(kind),
        id = escape(id.expose()),
        csrf = escape(csrf),
    )
}

fn name_field(mode: &Mode<'_>) -> &'static str {
    match mode {
        Mode::SignedIn(_) => "",
        Mode::LinkOnly => {
            "<label>Your name (recorded with the decision, not verified)<br>\
             <input type=\"text\" name=\"name\" maxlength=\"100\" autocomplete=\"name\"></label>"
        }
    }
}

/// GET /a/{id}: the confirmation page (changes nothing).
pub fn approval_page(link: &LinkRecord, id: &LinkId, csrf: &str, mode: Mode<'_>) -> String {
    let mut body = banner(&mode);
    body.push_str(
        "<p>Cordon detected the activity below and asks whether to <strong>quarantine the \
         user</strong> (attach deny-all policies). Nothing happens until you press a \
         button.</p>",
    );
    body.push_str(&details(link));
    body.push_str(&form_open(LinkKind::Approval, id, csrf));
    body.push_str(name_field(&mode));
    body.push_str(
        "<button class=\"go\" type=\"submit\" name=\"decision\" value=\"approve\">Approve quarantine</button>\
         <button class=\"no\" type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></form>",
    );
    page("Approve containment?", &body)
}

/// GET /r/{id}: the release confirmation page (changes nothing). The user name must be
/// typed to confirm.
pub fn release_page(link: &LinkRecord, id: &LinkId, csrf: &str, mode: Mode<'_>) -> String {
    let user = link.summary.principal_name.as_deref().unwrap_or("");
    let mut body = banner(&mode);
    body.push_str(
        "<p>This user was quarantined by Cordon. Releasing it undoes what Cordon changed \
         (its deny-all policies, the keys and tags Cordon changed) and nothing else; \
         anything a person changed since is reported, not reverted. Everyone on the incident \
         topic is told who released it and why. Only release it once the investigation is \
         done. This link works once.</p>",
    );
    body.push_str(&details(link));
    body.push_str(&form_open(LinkKind::Release, id, csrf));
    body.push_str(name_field(&mode));
    let _ = write!(
        body,
        "<label>Type the user name <strong>{}</strong> to confirm<br>\
         <input type=\"text\" name=\"confirm\" maxlength=\"64\" autocomplete=\"off\" required></label>\
         <label>Why is it safe to release? (sent to the team)<br>\
         <input type=\"text\" name=\"reason\" maxlength=\"500\" required></label>\
         <button class=\"go\" type=\"submit\" name=\"decision\" value=\"release\">Release the user</button></form>",
        escape(user)
    );
    page("Release the user?", &body)
}

/// A decided link whose decision has not reached the workflow yet.
pub fn undelivered_page(link: &LinkRecord, id: &LinkId, csrf: &str) -> String {
    let mut body = format!(
        "<p>This link was already used: <strong>{}</strong> by {} at {}. Cordon has not yet \
         been able to hand that decision to the workflow. Press the button to deliver it \
         now (this delivers the recorded decision; it cannot change it).</p>",
        escape(link.decision.map(|d| d.as_str()).unwrap_or("decided")),
        escape(&decided_by_text(link)),
        escape(&link.decided_at.map(time).unwrap_or_default()),
    );
    body.push_str(&form_open(link.kind, id, csrf));
    body.push_str(
        "<button class=\"go\" type=\"submit\" name=\"decision\" value=\"deliver\">Deliver the recorded decision</button></form>",
    );
    page("Decision recorded, not yet delivered", &body)
}

/// Who decided, for the result pages.
pub fn decided_by_text(link: &LinkRecord) -> String {
    link.decided_by
        .as_ref()
        .map(|b| b.display())
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
                     (it was completed, timed out or stopped); nothing was changed.",
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
                    decided_by_text(link),
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
    fn escape_neutralises_markup_quotes_and_deceptive_characters() {
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
        assert_eq!(escape("a\u{0}b\u{1b}c"), "a b c");
        assert_eq!(escape("é ü 漢字"), "é ü 漢字");
        assert_eq!(escape("evil\u{202e}gpj.exe"), "evil[U+202E]gpj.exe");
        assert_eq!(escape("a\u{2028}b"), "a b");
    }

    #[test]
    fn long_values_are_capped() {
        let long = "x".repeat(5000);
        assert!(value(&long).chars().count() <= MAX_VALUE_CHARS + 1);
    }
}
