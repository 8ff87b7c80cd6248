//! The approval Lambda, behind a Function URL: the pages a human opens from Cordon's
//! emails.
//!
//! | route | does |
//! |---|---|
//! | `GET /a/{id}` | approval confirmation page; **changes nothing** (mail scanners pre-fetch links) |
//! | `POST /a/{id}` | `decision=approve\|reject`, `csrf`, `name`: decides once, then `SendTaskSuccess` |
//! | `GET /r/{id}` | release confirmation page; changes nothing |
//! | `POST /r/{id}` | `decision=release`, `csrf`, `name`: uses the link once, then releases the principal |
//!
//! The authentication is the link itself: a random 128-bit id (only ever sent by email),
//! a per-link anti-CSRF value that must come back with the POST (compared in constant
//! time), single use (a conditional update) and an expiry. The task token stays in the
//! table; it is never in a URL, a page, a log line or an error message.
//!
//! Unknown, malformed and forged ids get one identical 404 page. Used links get 409,
//! expired ones 410, other methods 405. Every response carries the security headers in
//! [`SECURITY_HEADERS`]; every dynamic value is HTML-escaped ([`html::escape`]).
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use cordon_aws::approvals::{
    ApprovalStore, DecideOutcome, DecidedBy, Decision, LinkKind, LinkRecord, LinkStatus,
    is_link_id, link_ref,
};
use cordon_aws::env::{self, Lookup};
use cordon_aws::{Clock, DynamoApprovalStore, SfnTaskCallbacks, TaskCallbacks};
use cordon_core::TaskError;
use lambda_http::http::{self, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use tracing::{error, info, warn};

pub mod html;
pub mod local;

pub use local::{LocalApprovalServer, serve_local};

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

/// Largest form body accepted (the real form is well under 1 KiB).
pub const MAX_FORM_BYTES: usize = 8 * 1024;
/// Longest approver name kept.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest user agent kept.
pub const MAX_USER_AGENT_CHARS: usize = 400;

/// Step Functions error codes that mean "this task no longer waits".
const TASK_TIMED_OUT: &str = "TaskTimedOut";
const TASK_GONE: &[&str] = &["InvalidToken", "TaskDoesNotExist"];

/// Environment of the approval Lambda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table (approval and release links live in it).
    pub table_name: String,
    /// What the release action needs (`CORDON_TABLE_NAME`, `CORDON_QUARANTINE_POLICY_ARN`).
    pub release: cordon_release::Config,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::required(env, "CORDON_TABLE_NAME", "the incident table's name")?,
            release: cordon_release::Config::from_lookup(env)?,
        })
    }
}

/// Releases a contained principal (the `POST /r/{id}` action).
#[async_trait]
pub trait ReleaseAction: Send + Sync {
    /// Restore the incident's principal; returns a one-line summary for the page.
    async fn release(
        &self,
        incident_id: &str,
        released_by: &DecidedBy,
    ) -> Result<String, TaskError>;
}

/// [`ReleaseAction`] through `cordon_release::release`, in process.
#[derive(Clone)]
pub struct CordonRelease(pub cordon_release::Deps);

#[async_trait]
impl ReleaseAction for CordonRelease {
    async fn release(
        &self,
        incident_id: &str,
        released_by: &DecidedBy,
    ) -> Result<String, TaskError> {
        let input = cordon_release::ReleaseInput {
            incident_id: incident_id.to_string(),
            released_by: cordon_release::ReleasedBy {
                name: released_by.name.clone(),
                ip: released_by.ip.clone(),
                user_agent: released_by.user_agent.clone(),
                via: cordon_release::ReleaseVia::ApprovalLink,
            },
            reason: None,
        };
        let out = cordon_release::release(input, &self.0).await?;
        Ok(out.summary())
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub approvals: Arc<dyn ApprovalStore>,
    pub callbacks: Arc<dyn TaskCallbacks>,
    pub release: Arc<dyn ReleaseAction>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, sdk: &aws_config::SdkConfig, clock: Clock) -> Self {
        Self {
            approvals: Arc::new(DynamoApprovalStore::from_conf(sdk, config.table_name)),
            callbacks: Arc::new(SfnTaskCallbacks::from_conf(sdk)),
            release: Arc::new(CordonRelease(cordon_release::Deps::build(
                config.release,
                sdk,
                clock.clone(),
            ))),
            clock,
        }
    }
}

/// The handler's only failure: a response that could not be built (never expected; every
/// other problem is a page).
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("building the HTTP response failed: {0}")]
    Http(#[from] http::Error),
}

impl From<ApprovalError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(e: ApprovalError) -> Self {
        lambda_http::lambda_runtime::Diagnostic {
            error_type: "Cordon.ApprovalHttp".to_string(),
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

fn not_found() -> Result<Response<Body>, ApprovalError> {
    respond(404, html::not_found_page())
}

fn unavailable() -> Result<Response<Body>, ApprovalError> {
    respond(
        503,
        html::message(
            "Please try again",
            "Cordon could not complete the request just now; nothing was decided. Reload \
             the link from the email in a minute and try again.",
        ),
    )
}

/// `/a/{id}` → (Approval, id); `/r/{id}` → (Release, id). The id is checked later.
fn route(path: &str) -> Option<(LinkKind, &str)> {
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
    }
}

/// The POSTed form.
#[derive(Debug, Default)]
struct Form {
    decision: Option<String>,
    csrf: Option<String>,
    name: Option<String>,
}

fn parse_form(body: &[u8]) -> Option<Form> {
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

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The whole HTTP API. See the crate docs for the routes.
pub async fn handle(req: Request, deps: &Deps) -> Result<Response<Body>, ApprovalError> {
    let Some((kind, id)) = route(req.uri().path()) else {
        return not_found();
    };
    let id = id.to_string();
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        let mut resp = show(kind, &id, deps).await?;
        if method == Method::HEAD {
            *resp.body_mut() = Body::Empty;
        }
        return Ok(resp);
    }
    if method == Method::POST {
        return decide(req, kind, &id, deps).await;
    }
    let mut resp = respond(
        405,
        html::message(
            "Method not allowed",
            "Open the link from the email in a browser.",
        ),
    )?;
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
    Ok(resp)
}

async fn load(kind: LinkKind, id: &str, deps: &Deps) -> Result<Option<LinkRecord>, TaskError> {
    if !is_link_id(id) {
        return Ok(None);
    }
    deps.approvals.get(kind, id).await
}

/// GET: read only.
async fn show(kind: LinkKind, id: &str, deps: &Deps) -> Result<Response<Body>, ApprovalError> {
    let link = match load(kind, id, deps).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(e) => {
            error!(kind = kind.as_str(), link = link_ref(id), error = %e, "reading the link failed");
            return unavailable();
        }
    };
    let now = (deps.clock)();
    if link.status != LinkStatus::Pending || link.is_expired(now) {
        let (status, page) = html::closed_page(&link, now);
        return respond(status, page);
    }
    info!(kind = kind.as_str(), link = link_ref(id), incident_id = %link.incident_id, outcome = "shown");
    respond(
        200,
        match kind {
            LinkKind::Approval => html::approval_page(&link),
            LinkKind::Release => html::release_page(&link),
        },
    )
}

/// POST: check the form, decide once, then act.
async fn decide(
    req: Request,
    kind: LinkKind,
    id: &str,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let link = match load(kind, id, deps).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(e) => {
            error!(kind = kind.as_str(), link = link_ref(id), error = %e, "reading the link failed");
            return unavailable();
        }
    };
    let Some(form) = parse_form(req.body().as_ref()) else {
        return respond(
            400,
            html::message(
                "Bad request",
                "The form could not be read; nothing was changed.",
            ),
        );
    };
    // The anti-CSRF value proves the POST comes from the page this link served.
    let csrf_ok = form
        .csrf
        .as_deref()
        .is_some_and(|candidate| link.csrf.matches(candidate));
    if !csrf_ok {
        warn!(
            kind = kind.as_str(),
            link = link_ref(id),
            outcome = "csrf_refused"
        );
        return respond(
            403,
            html::message(
                "This form is not valid",
                "The form did not come from this approval page. Open the link from the email \
                 again; nothing was changed.",
            ),
        );
    }
    let decision = match (kind, form.decision.as_deref()) {
        (LinkKind::Approval, Some("approve")) => Decision::Approve,
        (LinkKind::Approval, Some("reject")) => Decision::Reject,
        (LinkKind::Release, Some("release")) => Decision::Release,
        _ => {
            return respond(
                400,
                html::message("Bad request", "Unknown decision; nothing was changed."),
            );
        }
    };
    let by = requester(&req, form.name);
    let now = (deps.clock)();
    let decided = match deps.approvals.decide(kind, id, decision, &by, now).await {
        Ok(DecideOutcome::Decided(link)) => *link,
        Ok(DecideOutcome::NotFound) => return not_found(),
        Ok(DecideOutcome::AlreadyDecided(_)) | Ok(DecideOutcome::Expired) => {
            let current = match deps.approvals.get(kind, id).await {
                Ok(Some(l)) => l,
                Ok(None) => return not_found(),
                Err(_) => return unavailable(),
            };
            if current.status == LinkStatus::Pending && current.is_expired(now) {
                let _ = deps
                    .approvals
                    .close(kind, id, LinkStatus::Expired, now)
                    .await;
            }
            info!(
                kind = kind.as_str(),
                link = link_ref(id),
                outcome = "refused",
                status = current.status.as_str()
            );
            let (status, page) = html::closed_page(&current, now);
            return respond(status, page);
        }
        Err(e) => {
            error!(kind = kind.as_str(), link = link_ref(id), error = %e, "recording the decision failed");
            return unavailable();
        }
    };
    match kind {
        LinkKind::Approval => resume(decided, decision, &by, now, deps).await,
        LinkKind::Release => release(decided, &by, now, deps).await,
    }
}

/// Deliver an approval decision to the waiting workflow.
async fn resume(
    link: LinkRecord,
    decision: Decision,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let Some(token) = link.task_token.as_ref() else {
        error!(link = link_ref(&link.id), incident_id = %link.incident_id, "the approval has no task token");
        let _ = deps
            .approvals
            .close(LinkKind::Approval, &link.id, LinkStatus::Closed, now)
            .await;
        return respond(
            500,
            html::message(
                "This approval cannot be used",
                "The approval is incomplete; nothing was changed. Use the Cordon CLI.",
            ),
        );
    };
    let output = json!({
        "decision": decision.as_str(),
        "approvalId": link.id,
        "decidedBy": {"ip": by.ip, "userAgent": by.user_agent, "name": by.name},
        "decidedAt": time(now),
    });
    match deps
        .callbacks
        .send_task_success(token.expose(), &output)
        .await
    {
        Ok(()) => {
            info!(
                link = link_ref(&link.id),
                incident_id = %link.incident_id,
                decision = decision.as_str(),
                decided_by_ip = by.ip.as_deref().unwrap_or(""),
                decided_by_name = by.name.as_deref().unwrap_or(""),
                outcome = "decided",
            );
            let (title, text) = match decision {
                Decision::Approve => (
                    "Containment approved",
                    format!(
                        "Thank you. Cordon is quarantining the principal of incident {} now; \
                         you will receive a notification when it is done.",
                        link.incident_id
                    ),
                ),
                _ => (
                    "Containment rejected",
                    format!(
                        "Thank you. Incident {} will be dismissed without containment.",
                        link.incident_id
                    ),
                ),
            };
            respond(200, html::message(title, &text))
        }
        Err(e) => {
            // Only the error code is logged: the callback's inputs include the token.
            let code = match &e {
                TaskError::Aws { code, .. } => code.as_str(),
                TaskError::Transient { .. } => "Transient",
                _ => "Other",
            };
            let gone = if code == TASK_TIMED_OUT {
                Some(LinkStatus::Expired)
            } else if TASK_GONE.contains(&code) {
                Some(LinkStatus::Closed)
            } else {
                None
            };
            match gone {
                Some(status) => {
                    warn!(link = link_ref(&link.id), incident_id = %link.incident_id, code, outcome = "task_gone");
                    let _ = deps
                        .approvals
                        .close(LinkKind::Approval, &link.id, status, now)
                        .await;
                    let mut closed = link;
                    closed.status = status;
                    let (status, page) = html::closed_page(&closed, now);
                    respond(status, page)
                }
                None => {
                    error!(link = link_ref(&link.id), incident_id = %link.incident_id, code, "SendTaskSuccess failed; the decision is undone so it can be retried");
                    let _ = deps
                        .approvals
                        .reopen(LinkKind::Approval, &link.id, now)
                        .await;
                    unavailable()
                }
            }
        }
    }
}

/// Run the release a release link was used for.
async fn release(
    link: LinkRecord,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    match deps.release.release(&link.incident_id, by).await {
        Ok(summary) => {
            info!(link = link_ref(&link.id), incident_id = %link.incident_id, decided_by_ip = by.ip.as_deref().unwrap_or(""), outcome = "released");
            respond(
                200,
                html::page(
                    "Principal released",
                    &format!(
                        "<p>Incident {} was released.</p><pre>{}</pre>",
                        html::escape(&link.incident_id),
                        html::escape(&summary)
                    ),
                ),
            )
        }
        Err(e) => {
            error!(link = link_ref(&link.id), incident_id = %link.incident_id, error = %e, "release failed; the link is reopened");
            let _ = deps
                .approvals
                .reopen(LinkKind::Release, &link.id, now)
                .await;
            respond(
                if e.is_transient() { 503 } else { 500 },
                html::message(
                    "Release failed",
                    "Cordon could not release the principal; the link can be used again. \
                     Try again in a minute, or run `cordon release` with the incident id.",
                ),
            )
        }
    }
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
