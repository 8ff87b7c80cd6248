//! The one decision path: every approval, rejection and release, from a page or from
//! `cordon approve`/`reject`/`release`, goes through [`decide`].
//!
//! 1. Find the link (by the id from the email, or the incident's latest link).
//! 2. A decision already recorded but not delivered (the function stopped between
//!    recording and delivering, or Step Functions was unavailable) is delivered now,
//!    whatever this request asks: a recorded decision is never lost and never replaced.
//! 3. Otherwise only a pending, unexpired link can be decided, by someone
//!    [`authorize`](crate::authorize::authorize) allows (with sign-in configured: a listed,
//!    signed-in approver; never the incident's actor or target), and a release only with
//!    the user name typed back.
//! 4. Record the decision once (a conditional write: of two concurrent requests exactly
//!    one wins), then deliver it and record the delivery.
use chrono::{DateTime, Utc};
use cordon_aws::links::{
    DecideOutcome, DecidedBy, Decision, LinkId, LinkKind, LinkRecord, LinkStatus,
};
use cordon_core::TaskError;
use tracing::{info, warn};

use crate::authorize::{Approver, Refusal, authorize};
use crate::deliver::{Delivery, deliver};
use crate::deps::Deps;

/// Which link.
#[derive(Debug, Clone)]
pub enum LinkRef {
    /// The id from the email (`/a/<id>`, `/r/<id>`).
    Id(LinkId),
    /// The incident's latest link of the kind (`cordon approve <incident>`).
    Incident(String),
}

/// A request to decide.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    pub kind: LinkKind,
    pub link: LinkRef,
    pub decision: Decision,
    pub approver: Approver,
    /// Release only: the user name typed to confirm.
    pub confirm_user: Option<String>,
    /// Why (releases ask for it).
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What became of a request. Every variant but `Delivered` and `Redelivered` changed
/// nothing.
#[derive(Debug, Clone)]
pub enum DecisionOutcome {
    /// This request decided, and the workflow has the decision.
    Delivered(Box<LinkRecord>),
    /// A decision recorded earlier had not reached the workflow; it has now (the link
    /// holds that decision, which may differ from this request's).
    Redelivered(Box<LinkRecord>),
    /// The decision is recorded but could not be delivered yet; asking again delivers it.
    Undelivered(Box<LinkRecord>),
    /// Decided and delivered earlier.
    AlreadyDecided(Box<LinkRecord>),
    /// The workflow no longer waits (timed out, stopped or completed), or the link was
    /// closed.
    Closed(Box<LinkRecord>),
    /// The link expired before it was decided.
    Expired(Box<LinkRecord>),
    /// No such link.
    NotFound,
    /// Not allowed, or not confirmed.
    Refused(Refusal),
}

/// Decides (see the module docs). `Err` only when the table could not be read or written.
pub async fn decide(deps: &Deps, req: DecisionRequest) -> Result<DecisionOutcome, TaskError> {
    let now = (deps.clock)();
    let link = match &req.link {
        LinkRef::Id(id) => deps.links.get(req.kind, &id.hash()).await?,
        LinkRef::Incident(incident) => deps.links.find_for_incident(req.kind, incident).await?,
    };
    let Some(link) = link else {
        return Ok(DecisionOutcome::NotFound);
    };
    if let Some(settled) = settled(deps, link.clone(), now).await? {
        return Ok(settled);
    }
    if link.is_expired(now) {
        return expired(deps, link, now).await;
    }

    let fits = matches!(
        (req.kind, req.decision),
        (LinkKind::Approval, Decision::Approve | Decision::Reject)
            | (LinkKind::Release, Decision::Release)
    );
    if !fits {
        return Ok(DecisionOutcome::Refused(Refusal::WrongDecision));
    }
    let oidc = deps.oidc.as_ref().map(|p| &p.config);
    if let Err(refusal) = authorize(oidc, &link, &req.approver) {
        warn!(
            kind = req.kind.as_str(),
            link = link.hash.short(),
            incident_id = %link.incident_id,
            refusal = ?refusal,
            outcome = "refused"
        );
        return Ok(DecisionOutcome::Refused(refusal));
    }
    if req.kind == LinkKind::Release {
        let expected = link.summary.principal_name.as_deref().unwrap_or_default();
        let typed = req.confirm_user.as_deref().unwrap_or_default().trim();
        // IAM user names are unique case-insensitively.
        if expected.is_empty() || !typed.eq_ignore_ascii_case(expected) {
            return Ok(DecisionOutcome::Refused(Refusal::ConfirmationMismatch));
        }
    }

    let by = DecidedBy {
        ip: req.ip.clone(),
        user_agent: req.user_agent.clone(),
        name: req.approver.name(),
        verified: req.approver.verified(),
        reason: req.reason.clone(),
    };
    match deps
        .links
        .decide(req.kind, &link.hash, req.decision, &by, now)
        .await?
    {
        DecideOutcome::Decided(decided) => {
            info!(
                kind = req.kind.as_str(),
                link = decided.hash.short(),
                incident_id = %decided.incident_id,
                decision = req.decision.as_str(),
                decided_by = %cordon_core::notify::Clean(&by.display()),
                decided_by_ip = by.ip.as_deref().unwrap_or(""),
                outcome = "decided",
            );
            Ok(delivered(deps, *decided, now, false).await?)
        }
        // Another request decided first (or the link closed meanwhile).
        DecideOutcome::AlreadyDecided(current) => Ok(settled(deps, *current, now)
            .await?
            .unwrap_or(DecisionOutcome::NotFound)),
        DecideOutcome::Expired => expired(deps, link, now).await,
        DecideOutcome::NotFound => Ok(DecisionOutcome::NotFound),
    }
}

/// A pending link past its expiry: recorded `EXPIRED` (it can never be decided), and the
/// request refused.
async fn expired(
    deps: &Deps,
    mut link: LinkRecord,
    now: DateTime<Utc>,
) -> Result<DecisionOutcome, TaskError> {
    deps.links
        .close(link.kind, &link.hash, LinkStatus::Expired, now)
        .await?;
    link.status = LinkStatus::Expired;
    link.closed_at = Some(now);
    Ok(DecisionOutcome::Expired(Box::new(link)))
}

/// The outcome for a link that is no longer pending: deliver an undelivered decision;
/// `None` when it is still pending.
async fn settled(
    deps: &Deps,
    link: LinkRecord,
    now: DateTime<Utc>,
) -> Result<Option<DecisionOutcome>, TaskError> {
    Ok(match link.status {
        LinkStatus::Pending => None,
        LinkStatus::Expired | LinkStatus::Closed => Some(DecisionOutcome::Closed(Box::new(link))),
        _ if link.undelivered() => Some(delivered(deps, link, now, true).await?),
        _ => Some(DecisionOutcome::AlreadyDecided(Box::new(link))),
    })
}

/// Delivers a recorded decision and records what happened.
async fn delivered(
    deps: &Deps,
    link: LinkRecord,
    now: DateTime<Utc>,
    again: bool,
) -> Result<DecisionOutcome, TaskError> {
    match deliver(deps, &link).await {
        Delivery::Delivered => {
            deps.links
                .mark_delivered(link.kind, &link.hash, now)
                .await?;
            let mut link = link;
            link.delivered_at = Some(now);
            Ok(if again {
                DecisionOutcome::Redelivered(Box::new(link))
            } else {
                DecisionOutcome::Delivered(Box::new(link))
            })
        }
        Delivery::Gone(status) => {
            deps.links.close(link.kind, &link.hash, status, now).await?;
            let mut link = link;
            link.status = status;
            link.closed_at = Some(now);
            Ok(DecisionOutcome::Closed(Box::new(link)))
        }
        Delivery::Failed => Ok(DecisionOutcome::Undelivered(Box::new(link))),
    }
}
