//! `cordon classify EVENT.json`: the classifier's decision on one EventBridge event, as
//! the stack's record function makes it (`cordon_core::classify::classify_in` for the home
//! account and the stack's name), with the severity and disposition the response policy
//! gives the detection before enrich reads anything.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use cordon_core::classify::{Classification, Dismissal, Home, classify_in, rules};
use cordon_core::model::AccountId;
use cordon_core::policy::{ResponsePolicy, TrustedIds};
use serde_json::{Value, json};

use super::Context;
use super::rules::read_input;
use crate::output;

/// The exit code of a rejected event: malformed, or not the home account's.
pub const REJECTED_EXIT: u8 = 3;

#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Prints one JSON object: incident (true, false or \"reject\"), rule, \
                        incidentId, title, principal, actor, severity, disposition, reason \
                        (and, for an incident, the assessment's reasons; for a rejection, \
                        error). Exits 0 when the event was understood (an incident or not), \
                        3 when it is rejected (Cordon.InvalidEvent: the record function \
                        records it as a rejected incident), 1 when it could not be read."
)]
pub struct Args {
    /// The EventBridge event (JSON, as a rule target receives it); `-` reads stdin.
    event: PathBuf,
    /// The account the stack protects (its events only are accepted).
    #[arg(long, env = "CORDON_ACCOUNT_ID")]
    account: Option<String>,
    /// The response policy (JSON file) the severity comes from; default: the
    /// CORDON_RESPONSE_POLICY variable as the functions read it, else the built-in policy.
    #[arg(long)]
    response_policy: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let Some(account) = args.account else {
        return Err(Context::problem(
            "no home account: the classifier rejects every event of another account",
            "pass --account 123456789012 or set CORDON_ACCOUNT_ID (the account the stack \
             protects; `cordon local up` uses 123456789012)",
        ));
    };
    let account = AccountId::parse(&account).map_err(|e| {
        Context::problem(
            format!("--account / CORDON_ACCOUNT_ID {account:?} is not an account id: {e}"),
            "give the 12-digit id of the account the stack protects",
        )
    })?;
    let policy = response_policy(args.response_policy.as_ref())?;
    let text = read_input(&args.event, "event")?;
    // Cordon's own resources are named after the stack (`--stack`, as the functions'
    // CORDON_STACK_NAME), so the tamper detections know them.
    let home = Home::new(account).with_stack(ctx.global.stack.clone());
    let (decision, code) = decide(&text, &home, &policy);
    output::json(&decision)?;
    Ok(code)
}

fn response_policy(path: Option<&PathBuf>) -> anyhow::Result<ResponsePolicy> {
    let (text, from) = match path {
        Some(p) => (read_input(p, "response policy")?, p.display().to_string()),
        None => match std::env::var("CORDON_RESPONSE_POLICY") {
            Ok(text) if !text.trim().is_empty() => (text, "CORDON_RESPONSE_POLICY".into()),
            _ => return Ok(ResponsePolicy::default()),
        },
    };
    ResponsePolicy::from_json(&text)
        .map_err(|e| Context::problem(format!("the response policy {from}: {e}"), "fix it"))
}

/// The decision on the event `text` for `home`, as JSON, and the exit code.
pub fn decide(text: &str, home: &Home, policy: &ResponsePolicy) -> (Value, ExitCode) {
    let event: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return (
                rejected(
                    cordon_core::names::INVALID_EVENT,
                    &format!("the event is not JSON: {e}"),
                ),
                ExitCode::from(REJECTED_EXIT),
            );
        }
    };
    match classify_in(&event, home) {
        Ok(Classification::Incident(d)) => {
            let assessment = policy.assess(&d, None, &TrustedIds::none());
            (
                json!({
                    "incident": true,
                    "rule": d.rule,
                    "incidentId": d.incident_id,
                    "title": d.title,
                    "principal": d.principal,
                    "actor": d.actor,
                    "severity": assessment.severity,
                    "disposition": assessment.disposition,
                    "reason": d.title,
                    "assessment": assessment.reasons,
                    "evidence": d.evidence,
                }),
                ExitCode::SUCCESS,
            )
        }
        Ok(Classification::NotAnIncident { reason, dismissal }) => (
            json!({
                "incident": false,
                "rule": null,
                "principal": null,
                "actor": null,
                "severity": null,
                "reason": reason,
                "covered": dismissal == Dismissal::Judged,
            }),
            ExitCode::SUCCESS,
        ),
        Ok(Classification::AuditTrigger { rule_arn }) => (
            json!({
                "incident": false,
                "rule": rules::SCHEDULED_MFA_AUDIT,
                "principal": null,
                "actor": null,
                "severity": null,
                "reason": format!(
                    "the MFA audit's schedule ({}): the audit runs and opens one incident per \
                     finding",
                    rule_arn.as_deref().unwrap_or("no rule ARN")
                ),
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => (
            rejected(e.error_name(), &e.to_string()),
            ExitCode::from(REJECTED_EXIT),
        ),
    }
}

fn rejected(error: &str, reason: &str) -> Value {
    json!({
        "incident": "reject",
        "rule": null,
        "principal": null,
        "actor": null,
        "severity": null,
        "error": error,
        "reason": reason,
    })
}
