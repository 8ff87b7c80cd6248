//! Acting on a decided link, as a page: an approval decision delivered to the waiting
//! workflow ([`crate::decision::deliver_approval`]), or the release a release link was
//! used for. When the effect cannot be delivered, the decision is undone (or the link
//! closed) so nothing is lost.
use chrono::{DateTime, Utc};
use cordon_aws::links::{DecidedBy, Decision, LinkKind, LinkRecord, link_ref};
use lambda_http::{Body, Response};
use tracing::{error, info};

use crate::decision::{Delivery, deliver_approval};
use crate::deps::Deps;
use crate::html;
use crate::response::{ApprovalError, respond, unavailable};

/// Deliver an approval decision to the waiting workflow, and say how it went.
pub(crate) async fn resume(
    link: LinkRecord,
    decision: Decision,
    by: &DecidedBy,
    now: DateTime<Utc>,
    deps: &Deps,
) -> Result<Response<Body>, ApprovalError> {
    match deliver_approval(&link, decision, by, now, deps).await {
        Delivery::Delivered => {
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
        Delivery::TaskGone(status) => {
            let mut closed = link;
            closed.status = status;
            let (status, page) = html::closed_page(&closed, now);
            respond(status, page)
        }
        Delivery::Incomplete => respond(
            500,
            html::message(
                "This approval cannot be used",
                "The approval is incomplete; nothing was changed. Use the Cordon CLI.",
            ),
        ),
        Delivery::Undelivered(_) => unavailable(),
    }
}

/// Run the release a release link was used for.
pub(crate) async fn release(
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
            let _ = deps.links.reopen(LinkKind::Release, &link.id, now).await;
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
