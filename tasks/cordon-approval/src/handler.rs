//! The HTTP API: GET shows a link's confirmation page and changes nothing; POST checks the
//! form, decides once ([`crate::decision`], the path `cordon approve` takes too), then
//! hands the decided link to [`crate::deliver`].
use cordon_aws::links::{Decision, LinkKind, LinkRecord, LinkStatus, is_link_id, link_ref};
use cordon_core::TaskError;
use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use tracing::{error, info, warn};

use crate::decision::{self, Claim};
use crate::deliver;
use crate::deps::Deps;
use crate::html;
use crate::request::{parse_form, requester, route};
use crate::response::{ApprovalError, not_found, respond, unavailable};

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
    deps.links.get(kind, id).await
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
    let decided = match decision::claim(kind, id, decision, &by, deps).await {
        Ok(Claim::Decided(link)) => *link,
        Ok(Claim::NotFound) => return not_found(),
        Ok(Claim::Refused(current)) => {
            let (status, page) = html::closed_page(&current, (deps.clock)());
            return respond(status, page);
        }
        Err(e) => {
            error!(kind = kind.as_str(), link = link_ref(id), error = %e, "recording the decision failed");
            return unavailable();
        }
    };
    let now = decided.decided_at.unwrap_or_else(|| (deps.clock)());
    match kind {
        LinkKind::Approval => deliver::resume(decided, decision, &by, now, deps).await,
        LinkKind::Release => deliver::release(decided, &by, now, deps).await,
    }
}
