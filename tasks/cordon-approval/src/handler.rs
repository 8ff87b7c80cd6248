//! The HTTP API: GET shows a link's confirmation page and changes nothing; POST checks the
//! form and hands it to the one decision path ([`crate::decision::decide`]); the sign-in
//! callback verifies an ID token and opens a session.
use cordon_aws::links::{Decision, LinkId, LinkKind, LinkRecord, random_hex};
use cordon_aws::signin::SignInSession;
use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use tracing::{error, info, warn};

use crate::authorize::{Approver, Refusal};
use crate::cookies;
use crate::csrf;
use crate::decision::{DecisionOutcome, DecisionRequest, LinkRef, decide};
use crate::deps::Deps;
use crate::html::{self, Mode};
use crate::oidc::flow;
use crate::request::{Route, parse_form, requester, route};
use crate::response::{ApprovalError, not_found, respond, unavailable, with_cookies};

/// How long the link-only `csrf` cookie lives.
const CSRF_COOKIE_SECONDS: i64 = 24 * 3600;

/// The whole HTTP API. See the crate docs for the routes.
pub async fn handle(req: Request, deps: &Deps) -> Result<Response<Body>, ApprovalError> {
    let method = req.method().clone();
    let (kind, id) = match route(req.uri().path()) {
        None | Some(Route::Link(_, None)) => return not_found(),
        Some(Route::Callback) => {
            return match (&deps.oidc, method == Method::GET) {
                (Some(provider), true) => flow::callback(provider, &req, deps).await,
                (Some(_), false) => not_allowed("GET"),
                (None, _) => not_found(),
            };
        }
        Some(Route::Link(kind, Some(id))) => (kind, id),
    };
    if method == Method::GET || method == Method::HEAD {
        let mut resp = show(&req, kind, &id, deps).await?;
        if method == Method::HEAD {
            *resp.body_mut() = Body::Empty;
        }
        return Ok(resp);
    }
    if method == Method::POST {
        return post(&req, kind, &id, deps).await;
    }
    not_allowed("GET, HEAD, POST")
}

fn not_allowed(allow: &'static str) -> Result<Response<Body>, ApprovalError> {
    let mut resp = respond(
        405,
        html::message(
            "Method not allowed",
            "Open the link from the email in a browser.",
        ),
    )?;
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    Ok(resp)
}

/// The secret this browser's anti-CSRF values derive from: the session's when signed in,
/// else the `csrf` cookie's (with the `Set-Cookie` that creates it on first sight).
struct Browser {
    secret: String,
    set_cookie: Option<String>,
    session: Option<SignInSession>,
}

async fn browser(req: &Request, deps: &Deps, create: bool) -> Option<Browser> {
    if deps.oidc.is_some()
        && let Some((secret, session)) = flow::current_session(req, deps).await
    {
        return Some(Browser {
            secret,
            set_cookie: None,
            session: Some(session),
        });
    }
    if let Some(secret) = cookies::get(req, "csrf").filter(|s| s.len() == 64) {
        return Some(Browser {
            secret,
            set_cookie: None,
            session: None,
        });
    }
    if !create {
        return None;
    }
    let secret = random_hex(32).ok()?;
    let set_cookie = cookies::set(
        "csrf",
        &secret,
        cookies::is_https(req),
        "Strict",
        CSRF_COOKIE_SECONDS,
    );
    Some(Browser {
        secret,
        set_cookie: Some(set_cookie),
        session: None,
    })
}

async fn load(
    kind: LinkKind,
    id: &LinkId,
    deps: &Deps,
) -> Result<Option<LinkRecord>, Response<Body>> {
    match deps.links.get(kind, &id.hash()).await {
        Ok(link) => Ok(link),
        Err(e) => {
            error!(kind = kind.as_str(), link = id.hash().short(), error = %e, "reading the link failed");
            Err(unavailable().unwrap_or_else(|_| Response::new(Body::Empty)))
        }
    }
}

/// GET: read only (a sign-in redirect and a cookie are the only things it may hand out).
async fn show(
    req: &Request,
    kind: LinkKind,
    id: &LinkId,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let link = match load(kind, id, deps).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(resp) => return Ok(resp),
    };
    let now = (deps.clock)();
    let Some(b) = browser(req, deps, true).await else {
        return unavailable();
    };
    let csrf_value = csrf::value(&b.secret, kind, &link.hash);
    let page = if link.undelivered() {
        (200, html::undelivered_page(&link, id, &csrf_value))
    } else if link.status != cordon_aws::links::LinkStatus::Pending || link.is_expired(now) {
        html::closed_page(&link, now)
    } else {
        match (&deps.oidc, &b.session) {
            (Some(provider), None) => {
                // Only a signed-in approver sees the page.
                return flow::start(provider, req, req.uri().path()).await;
            }
            (_, session) => {
                let mode = match session {
                    Some(s) => Mode::SignedIn(&s.identity),
                    None => Mode::LinkOnly,
                };
                info!(kind = kind.as_str(), link = link.hash.short(), incident_id = %link.incident_id, outcome = "shown");
                let page = match kind {
                    LinkKind::Approval => html::approval_page(&link, id, &csrf_value, mode),
                    LinkKind::Release => html::release_page(&link, id, &csrf_value, mode),
                };
                (200, page)
            }
        }
    };
    let resp = respond(page.0, page.1)?;
    match b.set_cookie {
        Some(c) => with_cookies(resp, &[c]),
        None => Ok(resp),
    }
}

/// POST: check the form, then decide through the one decision path.
async fn post(
    req: &Request,
    kind: LinkKind,
    id: &LinkId,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    let link = match load(kind, id, deps).await {
        Ok(Some(link)) => link,
        Ok(None) => return not_found(),
        Err(resp) => return Ok(resp),
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
    // The anti-CSRF value proves the POST comes from a page this browser was served.
    let b = browser(req, deps, false).await;
    let csrf_ok = match (&b, form.csrf.as_deref()) {
        (Some(b), Some(candidate)) => csrf::matches(&b.secret, kind, &link.hash, candidate),
        _ => false,
    };
    if !csrf_ok {
        warn!(
            kind = kind.as_str(),
            link = link.hash.short(),
            outcome = "csrf_refused"
        );
        return respond(
            403,
            html::message(
                "This form is not valid",
                "The form did not come from this page in this browser. Open the link from \
                 the email again; nothing was changed.",
            ),
        );
    }
    let session = b.and_then(|b| b.session);
    let decision = match (kind, form.decision.as_deref()) {
        (_, Some("deliver")) if link.undelivered() => link.decision,
        (LinkKind::Approval, Some("approve")) => Some(Decision::Approve),
        (LinkKind::Approval, Some("reject")) => Some(Decision::Reject),
        (LinkKind::Release, Some("release")) => Some(Decision::Release),
        _ => None,
    };
    let Some(decision) = decision else {
        return respond(
            400,
            html::message("Bad request", "Unknown decision; nothing was changed."),
        );
    };
    let approver = match (&deps.oidc, session) {
        (Some(_), Some(s)) => Approver::Oidc {
            identity: s.identity,
            groups: s.groups,
            email_verified: s.email_verified,
        },
        (Some(_), None) => Approver::LinkHolder { name: None },
        (None, _) => Approver::LinkHolder { name: form.name() },
    };
    let (ip, user_agent) = requester(req);
    let request = DecisionRequest {
        kind,
        link: LinkRef::Id(id.clone()),
        decision,
        approver,
        confirm_user: form.confirm.clone(),
        reason: form.reason(),
        ip,
        user_agent,
    };
    match decide(deps, request).await {
        Ok(outcome) => outcome_page(outcome, (deps.clock)()),
        Err(e) => {
            error!(kind = kind.as_str(), link = link.hash.short(), error = %e, "deciding failed");
            unavailable()
        }
    }
}

/// The page for each outcome of the decision path.
fn outcome_page(
    outcome: DecisionOutcome,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Response<Body>, ApprovalError> {
    match outcome {
        DecisionOutcome::Delivered(link) | DecisionOutcome::Redelivered(link) => {
            let user = link.summary.principal_name.clone().unwrap_or_default();
            let (title, text) = match link.decision {
                Some(Decision::Approve) => (
                    "Containment approved",
                    format!(
                        "Cordon is quarantining the user of incident {} now ({} decided); you \
                         will receive a notification when it is done.",
                        link.incident_id,
                        html::decided_by_text(&link)
                    ),
                ),
                Some(Decision::Reject) => (
                    "Containment rejected",
                    format!(
                        "Incident {} will be dismissed without containment ({} decided).",
                        link.incident_id,
                        html::decided_by_text(&link)
                    ),
                ),
                _ => (
                    "Release started",
                    format!(
                        "Cordon is releasing {user} (incident {}): it undoes only what Cordon \
                         changed. Everyone on the incident topic gets a `released` \
                         notification naming {} and the reason.",
                        link.incident_id,
                        html::decided_by_text(&link)
                    ),
                ),
            };
            respond(200, html::message(title, &text))
        }
        DecisionOutcome::Undelivered(link) => respond(
            503,
            html::message(
                "Decision recorded, not yet delivered",
                &format!(
                    "The decision ({}) is recorded for incident {}, but Cordon could not hand \
                     it to the workflow just now. Open the link again in a minute and press \
                     the button to deliver it; it cannot be changed.",
                    link.decision.map(|d| d.as_str()).unwrap_or("decided"),
                    link.incident_id
                ),
            ),
        ),
        DecisionOutcome::AlreadyDecided(link)
        | DecisionOutcome::Closed(link)
        | DecisionOutcome::Expired(link) => {
            let (status, page) = html::closed_page(&link, now);
            respond(status, page)
        }
        DecisionOutcome::NotFound => not_found(),
        DecisionOutcome::Refused(r) => respond(
            match r {
                Refusal::SignInRequired => 401,
                Refusal::ConfirmationMismatch | Refusal::WrongDecision => 400,
                _ => 403,
            },
            html::message("Not allowed", &r.text()),
        ),
    }
}
