//! Reading a request: the route, the requester, the POSTed form. Everything here is
//! attacker-controlled, so every value is checked, capped or refused.
use cordon_aws::links::{DecidedBy, LinkKind};
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Largest form body accepted (the real form is well under 1 KiB).
pub const MAX_FORM_BYTES: usize = 8 * 1024;
/// Longest approver name kept.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest user agent kept.
pub const MAX_USER_AGENT_CHARS: usize = 400;

/// `/a/{id}` → (Approval, id); `/r/{id}` → (Release, id). The id is checked later.
pub(crate) fn route(path: &str) -> Option<(LinkKind, &str)> {
    let rest = path.strip_prefix('/')?;
    let (kind, id) = rest.split_once('/')?;
    let kind = match kind {
        "a" => LinkKind::Approval,
        "r" => LinkKind::Release,
        _ => return None,
    };
    let id = id.strip_suffix('/').unwrap_or(id);
    (!id.contains('/')).then_some((kind, id))
}

fn cap(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Who is asking: the Function URL's source IP (else the first `X-Forwarded-For` entry),
/// the user agent and the self-declared name (control characters removed, capped).
pub fn requester(req: &Request, name: Option<String>) -> DecidedBy {
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
    DecidedBy {
        ip: from_context
            .filter(|ip| !ip.is_empty())
            .or_else(from_header)
            .filter(|ip| !ip.is_empty()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| cap(v, MAX_USER_AGENT_CHARS))
            .filter(|v| !v.is_empty()),
        name: name
            .map(|n| cap(&n, MAX_NAME_CHARS))
            .filter(|n| !n.is_empty()),
        verified: None,
    }
}

/// The POSTed form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub decision: Option<String>,
    pub csrf: Option<String>,
    pub name: Option<String>,
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

/// Attach the Function URL request context with `source_ip` (what the local server and
/// the tests use to stand in for Lambda).
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
    req.with_request_context(RequestContext::ApiGatewayV2(ctx))
}
