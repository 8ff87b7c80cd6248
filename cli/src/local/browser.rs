//! A scripted browser for the local approval pages, as `cordon demo` and the crash tests
//! decide: GET the confirmation page (which changes nothing; it sets this browser's
//! cookie and renders the anti-CSRF value bound to it), then POST its form with that
//! cookie, the value and the decision, as a browser does.
use anyhow::Context;
use cordon_loopback::{Client, ClientResponse};

/// What deciding took: the page the link opened, and the answer to the form.
pub struct Decided {
    /// The confirmation page's status and size.
    pub page_status: u16,
    pub page_bytes: usize,
    /// The answer to the POST (200 and "Containment approved" when the decision was taken).
    pub answer: ClientResponse,
}

impl Decided {
    /// The answer page's `<h1>`.
    pub fn title(&self) -> String {
        let html = self.answer.text();
        html.split("<h1>")
            .nth(1)
            .and_then(|s| s.split("</h1>").next())
            .unwrap_or("")
            .to_string()
    }
}

/// Opens `link` and submits `decision` (`approve`, `reject`) under the typed `name`,
/// sending `user_agent` (the approval records it).
pub async fn decide(
    client: &Client,
    link: &str,
    decision: &str,
    name: &str,
    user_agent: &str,
) -> anyhow::Result<Decided> {
    let browser = [("user-agent", user_agent), ("accept", "text/html")];
    let page = client
        .get(link, &browser)
        .await
        .context("opening the approval link")?;
    let html = page.text();
    anyhow::ensure!(
        page.status == 200,
        "the approval page answered {}: {html}",
        page.status
    );
    let csrf = form_value(&html, "csrf").context("the confirmation page has no anti-CSRF field")?;
    // The anti-CSRF value is bound to the cookie the page set in this browser: send it
    // back, as a browser does.
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    anyhow::ensure!(!cookie.is_empty(), "the approval page set no cookie");
    let body = format!(
        "decision={}&csrf={}&name={}",
        url_encode(decision),
        url_encode(&csrf),
        url_encode(name)
    );
    let mut headers = browser.to_vec();
    headers.push(("content-type", "application/x-www-form-urlencoded"));
    headers.push(("cookie", &cookie));
    let answer = client
        .post(link, &headers, body)
        .await
        .context("submitting the decision")?;
    Ok(Decided {
        page_status: page.status,
        page_bytes: html.len(),
        answer,
    })
}

/// The `value` of the form field `name` in `html`.
fn form_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let value = html[tag_start..tag_end].split("value=\"").nth(1)?;
    Some(value.split('"').next()?.to_string())
}

/// `application/x-www-form-urlencoded` for one value.
fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_fields_value_wherever_its_attributes_are() {
        let html = r#"<form><input type="hidden" value="abc123" name="csrf"><input name="x" value="y"></form>"#;
        assert_eq!(form_value(html, "csrf").as_deref(), Some("abc123"));
        assert_eq!(form_value(html, "x").as_deref(), Some("y"));
        assert_eq!(form_value(html, "missing"), None);
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(url_encode("demo operator&x=1"), "demo+operator%26x%3D1");
        assert_eq!(url_encode("a-b_c.d*"), "a-b_c.d*");
    }
}
