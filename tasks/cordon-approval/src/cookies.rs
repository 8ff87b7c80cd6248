//! The three cookies the pages use, all HttpOnly and bound to this site only:
//!
//! | cookie | holds | SameSite | lifetime |
//! |---|---|---|---|
//! | `session` | a signed-in approver's session secret (stored only as its hash) | Lax (it must survive the issuer's redirect back) | the session's |
//! | `csrf` | a per-browser secret the form's anti-CSRF value is derived from, in link-only mode | Strict | a day |
//! | `signin` | the `state`, `nonce` and PKCE verifier of a sign-in under way, and where to return | Lax | ten minutes |
//!
//! Over https (a Function URL) they are `__Host-` cookies with `Secure`, which a sibling
//! subdomain cannot set or overwrite; on the loopback server (plain http) they have the
//! same names without the prefix and without `Secure`.
use lambda_http::Request;
use lambda_http::http::header;

/// Whether the request came over https: a Function URL says so in `x-forwarded-proto`.
pub(crate) fn is_https(req: &Request) -> bool {
    req.headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// `https://host` or `http://host`, from the request (the issuer's redirect target).
pub(crate) fn base_url(req: &Request) -> Option<String> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains('/') && !h.contains('@'))?;
    Some(format!(
        "{}://{host}",
        if is_https(req) { "https" } else { "http" }
    ))
}

/// The cookie `base` is called on this request's scheme.
pub(crate) fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-cordon-{base}")
    } else {
        format!("cordon-{base}")
    }
}

/// The value of cookie `base` on the request, if any.
pub(crate) fn get(req: &Request, base: &str) -> Option<String> {
    let wanted = name(base, is_https(req));
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value. `max_age` 0 deletes the cookie.
pub(crate) fn set(base: &str, value: &str, secure: bool, same_site: &str, max_age: i64) -> String {
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age}{}",
        name(base, secure),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    #[test]
    fn cookies_are_host_bound_over_https_and_read_by_name() {
        let req = lambda_http::http::Request::builder()
            .header("x-forwarded-proto", "https")
            .header("host", "abc.lambda-url.us-east-1.on.aws")
            .header(
                "cookie",
                "other=1; __Host-cordon-csrf=abc; cordon-csrf=wrong",
            )
            .body(Body::Empty)
            .expect("request");
        assert!(is_https(&req));
        assert_eq!(get(&req, "csrf").as_deref(), Some("abc"));
        assert_eq!(
            base_url(&req).as_deref(),
            Some("https://abc.lambda-url.us-east-1.on.aws")
        );
        let c = set("csrf", "v", true, "Strict", 60);
        assert_eq!(
            c,
            "__Host-cordon-csrf=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!set("csrf", "v", false, "Strict", 60).contains("Secure"));
    }
}
