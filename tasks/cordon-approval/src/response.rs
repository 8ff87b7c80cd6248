//! Every response the approval pages send: HTML with the security headers, errors included.
use lambda_http::http::{self, StatusCode, header};
use lambda_http::{Body, Response};

use crate::html;

/// Headers on every response, errors included.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-robots-tag", "noindex, nofollow"),
];

/// The handler's failures: a response that could not be built (never expected; every
/// other problem is a page), or a function that cannot run (its configuration is invalid:
/// every request fails with that `Cordon.Config` error until the environment is fixed).
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("building the HTTP response failed: {0}")]
    Http(#[from] http::Error),
    #[error("{0}")]
    Unready(cordon_core::TaskError),
}

impl From<ApprovalError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(e: ApprovalError) -> Self {
        let error_type = match &e {
            ApprovalError::Http(_) => "Cordon.ApprovalHttp",
            ApprovalError::Unready(task) => task.error_name(),
        };
        lambda_http::lambda_runtime::Diagnostic {
            error_type: error_type.to_string(),
            error_message: e.to_string(),
        }
    }
}

/// An HTML response with the security headers.
pub fn respond(status: u16, html: String) -> Result<Response<Body>, ApprovalError> {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8");
    for (k, v) in SECURITY_HEADERS {
        b = b.header(*k, *v);
    }
    Ok(b.body(Body::Text(html))?)
}

/// `response` with `Set-Cookie` headers added.
pub(crate) fn with_cookies(
    mut response: Response<Body>,
    cookies: &[String],
) -> Result<Response<Body>, ApprovalError> {
    for c in cookies {
        let value = http::HeaderValue::from_str(c).map_err(http::Error::from)?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A `302` to `location`, setting `cookies`, with the security headers.
pub(crate) fn redirect(
    location: &str,
    cookies: &[String],
) -> Result<Response<Body>, ApprovalError> {
    let mut resp = respond(302, html::message("Redirecting", "Continue to sign in."))?;
    resp.headers_mut().insert(
        header::LOCATION,
        http::HeaderValue::from_str(location).map_err(http::Error::from)?,
    );
    with_cookies(resp, cookies)
}

/// The one 404 page every unknown, malformed or forged id gets.
pub(crate) fn not_found() -> Result<Response<Body>, ApprovalError> {
    respond(404, html::not_found_page())
}

/// Nothing was decided; try again (a read or write failed).
pub(crate) fn unavailable() -> Result<Response<Body>, ApprovalError> {
    respond(
        503,
        html::message(
            "Please try again",
            "Cordon could not complete the request just now; nothing was decided. Reload \
             the link from the email in a minute and try again.",
        ),
    )
}
