//! `cordon approve <id>` / `cordon reject <id>`: the human decision for an incident waiting
//! for one, made with AWS credentials instead of the emailed link. It goes through the
//! link's own single-use path (`cordon_approval::decision::decide`): the
//! incident's approval is claimed once (so the link then says "already decided", and a
//! link used first makes this say so) and delivered to the waiting workflow. The approver
//! recorded is the caller's identity as STS verified it.
use std::process::ExitCode;

use clap::Args as ClapArgs;
use cordon_approval::authorize::Approver;
use cordon_approval::decision::{DecisionOutcome, DecisionRequest, LinkRef};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::links::{Decision, LinkKind, LinkRecord};

use super::Context;
use crate::errors::{self, Problem};
use crate::output;
use crate::output::text::time;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The incident id (ct-…).
    pub incident: String,
}

pub async fn approve(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    decide(&args.incident, Decision::Approve, ctx).await
}

pub async fn reject(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    decide(&args.incident, Decision::Reject, ctx).await
}

/// The user agent recorded with a CLI decision.
pub fn user_agent() -> String {
    format!("cordon-cli/{}", env!("CARGO_PKG_VERSION"))
}

/// Who decided an already-decided link, as the audit has it.
fn decided_by(link: &LinkRecord) -> String {
    let Some(by) = &link.decided_by else {
        return "someone".into();
    };
    by.verified
        .as_ref()
        .map(|v| v.display().to_string())
        .or_else(|| by.name.clone().map(|n| format!("{n} (typed on the page)")))
        .or_else(|| by.ip.clone().map(|ip| format!("the link, from {ip}")))
        .unwrap_or_else(|| "the link".into())
}

async fn decide(incident: &str, decision: Decision, ctx: &Context) -> anyhow::Result<ExitCode> {
    let settings = ctx.settings().await?;
    let table = settings.table()?.to_string();
    let aws = ctx.aws().await?;
    let caller = ctx.caller().await?;
    let env = settings.function_env()?;
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let config = cordon_approval::Config::from_lookup(&lookup)
        .map_err(|e| anyhow::anyhow!("configuring the decision: {e}"))?;
    let deps = cordon_approval::Deps::build(config, aws, cordon_aws::system_clock())
        .map_err(|e| anyhow::anyhow!("configuring the decision: {e}"))?;
    let verb = match decision {
        Decision::Approve => "approve",
        _ => "reject",
    };
    let request = DecisionRequest {
        kind: LinkKind::Approval,
        link: LinkRef::Incident(incident.to_string()),
        decision,
        approver: Approver::Aws {
            arn: caller.arn.clone(),
            unique_id: Some(caller.user_id.clone()),
        },
        confirm_user: None,
        reason: None,
        ip: None,
        user_agent: Some(user_agent()),
    };
    let outcome = cordon_approval::decision::decide(&deps, request)
        .await
        .map_err(|e| errors::aws(e, &format!("deciding incident {incident}")))?;
    let unchanged =
        format!("nothing was changed; `cordon incidents show {incident}` shows the decision");
    match outcome {
        DecisionOutcome::NotFound => {
            let store = aws.incident_store(&table);
            let record = store
                .get(incident)
                .await
                .map_err(|e| errors::aws(e, &format!("reading incident {incident}")))?;
            Err(match record {
                None => super::incidents::not_found(incident, &table),
                Some(r) => Problem::new(
                    format!(
                        "incident {incident} is {} and never asked for approval: there is \
                         nothing to {verb}",
                        r.status.as_str()
                    ),
                    "only incidents whose disposition is `approve` wait for a decision \
                     (status AWAITING_APPROVAL); see `cordon incidents show` for what \
                     happened",
                )
                .into(),
            })
        }
        DecisionOutcome::AlreadyDecided(link) => Err(Problem::new(
            format!(
                "incident {incident} was already decided: {} by {} at {}",
                link.status.as_str(),
                decided_by(&link),
                link.decided_at.map(time).unwrap_or_else(|| "?".into())
            ),
            unchanged,
        )
        .into()),
        DecisionOutcome::Redelivered(link) => Err(Problem::new(
            format!(
                "incident {incident} had a decision that had not reached its workflow yet: {} \
                 by {}; it has now, and yours was not applied",
                link.status.as_str(),
                decided_by(&link)
            ),
            unchanged,
        )
        .into()),
        DecisionOutcome::Closed(link) => Err(Problem::new(
            format!(
                "incident {incident} no longer waits for a decision ({}: the approval timed \
                 out, or its workflow completed or was stopped)",
                link.status.as_str()
            ),
            format!(
                "see `cordon incidents show {incident}`; replay it if it still needs a response"
            ),
        )
        .into()),
        DecisionOutcome::Expired(link) => Err(Problem::new(
            format!(
                "the approval of incident {incident} expired at {}; the policy's on-timeout \
                 action applied",
                time(link.expires_at)
            ),
            unchanged,
        )
        .into()),
        DecisionOutcome::Refused(refusal) => Err(Problem::new(
            format!("you may not {verb} incident {incident}: {}", refusal.text()),
            "ask someone on the approver list, or change the response policy",
        )
        .into()),
        DecisionOutcome::Undelivered(_) => Err(Problem::new(
            "your decision is recorded but could not be delivered to Step Functions yet",
            "run the command again in a minute: the recorded decision is delivered then, \
             unchanged",
        )
        .into()),
        DecisionOutcome::Delivered(_) => {
            let done = match decision {
                Decision::Approve => "approved: Cordon is containing the principal now",
                _ => "rejected: the incident will be dismissed without containment",
            };
            output::line(&format!(
                "incident {incident} {done} (decided by {})",
                caller.display()
            ))?;
            output::line(&format!(
                "follow it with `cordon watch` or `cordon graph {incident}`"
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
