//! Reading a request: the route, the requester, the POSTed form. Everything here is
//! attacker-controlled, so every value is checked, capped, cleaned or refused.
use cordon_aws::links::{LinkId, LinkKind};
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// The path the issuer redirects back to after a sign-in.
pub const CALLBACK_PATH: &str = "/oidc/callback";

/// Largest form body accepted (the real form is well under 1 KiB).
pub const MAX_FORM_BYTES: usize = 8 * 1024;
/// Longest approver name kept.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest user agent kept.
pub const MAX_USER_AGENT_CHARS: usize = 400;
/// Longest release reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// What a path asks for.
#[derive(Debug)]
pub(crate) enum Route {
    /// `/a/{id}` or `/r/{id}`; `None` when the id has not the shape of one.
    Link(LinkKind, Option<LinkId>),
    /// `/oidc/callback`.
    Callback,
}

impl Route {
    pub(crate) fn is_link(&self) -> bool {
        matches!(self, Route::Link(_, Some(_)))
    }
}

/// `/a/{id}` → approval, `/r/{id}` → release, `/oidc/callback`.
pub(crate) fn route(path: &str) -> Option<Route> {
    if path == CALLBACK_PATH {
        return Some(Route::Callback);
    }
    let rest = path.strip_prefix('/')?;
    let (kind, id) = rest.split_once('/')?;
    let kind = match kind {
        "a" => LinkKind::Approval,
        "r" => LinkKind::Release,
        _ => return None,
    };
    let id = id.strip_suffix('/').unwrap_or(id);
    (!id.contains('/')).then(|| Route::Link(kind, LinkId::parse(id)))
}

/// `s` with control, bidirectional and invisible characters cleaned
/// (`cordon_core::notify::clean`), capped at `max` characters and trimmed.
fn cap(s: &str, max: usize) -> String {
    let kept: String = s.chars().take(max).collect();
    cordon_core::notify::clean(&kept).trim().to_string()
}

/// Who is asking: the Function URL's source IP (else the first `X-Forwarded-For` entry)
/// and the user agent (cleaned and capped).
pub fn requester(req: &Request) -> (Option<String>, Option<String>) {
    let from_context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    let from_header = || {
        req.headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| cap(v, 64))
    };
    let ip = from_context
        .filter(|ip| !ip.is_empty())
        .or_else(from_header)
        .filter(|ip| !ip.is_empty());
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| cap(v, MAX_USER_AGENT_CHARS))
        .filter(|v| !v.is_empty());
    (ip, ua)
}

/// The POSTed form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub decision: Option<String>,
    pub csrf: Option<String>,
    /// Link-only mode: the name the person typed.
    pub name: Option<String>,
    /// Release: the user name typed to confirm.
    pub confirm: Option<String>,
    /// Release: why.
    pub reason: Option<String>,
}

impl Form {
    pub(crate) fn name(&self) -> Option<String> {
        self.name
            .as_deref()
            .map(|n| cap(n, MAX_NAME_CHARS))
            .filter(|n| !n.is_empty())
    }

    pub(crate) fn reason(&self) -> Option<String> {
        self.reason
            .as_deref()
            .map(|r| cap(r, MAX_REASON_CHARS))
            .filter(|r| !r.is_empty())
    }
}

pub(crate) fn parse_form(body: &[u8]) -> Option<Form> {
    if body.len() > MAX_FORM_BYTES {
        return None;
    }
    let mut form = Form::default();
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "decision" => &mut form.decision,
            "csrf" => &mut form.csrf,
            "name" => &mut form.name,
            "confirm" => &mut form.confirm,
            "reason" => &mut form.reason,
            _ => continue,
        };
        // A repeated field is ambiguous: refuse the form rather than pick one.
        if slot.is_some() {
            return None;
        }
        *slot = Some(v.into_owned());
    }
    Some(form)
}

/// Attach the Function URL request context with `source_ip`, and the query string
/// parameters (what the local server and the tests use to stand in for Lambda).
pub fn with_source_ip(req: Request, source_ip: Option<String>) -> Request {
    let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    ctx.http.method = req.method().clone();
    ctx.http.path = Some(req.uri().path().to_string());
    ctx.http.source_ip = source_ip;
    ctx.http.user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query: std::collections::HashMap<String, Vec<String>> =
        req.uri().query().map_or_else(Default::default, |q| {
            let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
            map
        });
    req.with_request_context(RequestContext::ApiGatewayV2(ctx))
        .with_query_string_parameters(query)
}
