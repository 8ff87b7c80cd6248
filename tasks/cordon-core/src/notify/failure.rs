//! The failure notification's own part: which step failed, where the response stood when it
//! did, and which recovery applies.
//!
//! Recovery after a failure, as the workflow is built (`statemachine/incident.asl.json`):
//!
//! - **Replay** after a handled failure. Every caught error takes the failure path
//!   (`<Step>Failed` → NotifyFailure → RecordFailure → `Failed`), which records the incident
//!   as `FAILED`. A new execution with the same input (the same CloudTrail event) reopens a
//!   `FAILED` incident and runs the response again; each step is idempotent, so what was
//!   done is not done twice.
//! - **Redrive** only an execution that stopped *on* the failure path (NotifyFailure or
//!   RecordFailure failed, so this message or the `FAILED` record is missing) or that failed
//!   without reaching it. An execution that ended in its `Failed` state cannot be usefully
//!   redriven: Step Functions redrives from the failed state, which only fails again.
//! - **By hand**, when the principal may be compromised and must not wait for the fix.
use super::message::{FailureReport, NotificationContext};
use super::sanitize::sanitize_line;
use crate::error::names;
use crate::model::PrincipalKind;
use crate::quarantine::QUARANTINE_POLICY_NAME;

/// Whether the principal is contained, as far as the failed step tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    /// The step failed before anything was contained.
    NotContained,
    /// Containment itself failed part-way: check before acting.
    Uncertain,
    /// The deny-all policy is attached; a later step failed.
    Contained,
    /// The response did not mean to contain (policy, approver or protection said so).
    NotIntended,
}

/// Where the response stood when `step` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub containment: Containment,
    /// One sentence for the notification.
    pub text: &'static str,
}

/// Every Task state of the incident workflow, and where the response stands when it fails.
/// The ASL consistency test checks that this covers every Task state.
const STEPS: &[(&str, Containment, &str)] = &[
    (
        "OpenIncident",
        Containment::NotContained,
        "The incident could not be opened: nothing was assessed or contained.",
    ),
    (
        "Enrich",
        Containment::NotContained,
        "The incident was opened but not assessed: nothing was contained.",
    ),
    (
        "RequestApproval",
        Containment::NotContained,
        "The approval request failed: nobody was asked and nothing was contained.",
    ),
    (
        "RecordDecision",
        Containment::NotContained,
        "An approver answered, but the decision could not be recorded: nothing was contained.",
    ),
    (
        "RecordApprovalTimeout",
        Containment::NotContained,
        "Nobody decided in time, and the timeout could not be recorded: the response \
         policy's default was not applied and nothing was contained.",
    ),
    (
        "Quarantine",
        Containment::Uncertain,
        "Containment failed part-way: the snapshot may be stored and the deny-all policy may \
         or may not be attached.",
    ),
    (
        "Tag",
        Containment::Contained,
        "The principal IS quarantined (deny-all policy attached) but not tagged \
         SecurityStatus=Quarantined.",
    ),
    (
        "NotifyContained",
        Containment::Contained,
        "The principal IS quarantined and tagged; the containment notice could not be sent \
         (this message stands in for it).",
    ),
    (
        "CloseContained",
        Containment::Contained,
        "The principal IS quarantined, tagged and reported; only closing the incident as \
         CONTAINED failed.",
    ),
    (
        "NotifyAlert",
        Containment::NotIntended,
        "No containment was planned (the response policy says notify); the alert could not be \
         sent (this message stands in for it).",
    ),
    (
        "NotifyNotContained",
        Containment::NotIntended,
        "Containment was refused (protected principal) or impossible (principal gone); the \
         alert about it could not be sent (this message stands in for it).",
    ),
    (
        "NotifyDismissed",
        Containment::NotIntended,
        "The approver rejected containment; the notice saying so could not be sent.",
    ),
    (
        "CloseIgnored",
        Containment::NotIntended,
        "The response policy ignores this incident; only closing it failed.",
    ),
    (
        "CloseNotified",
        Containment::NotIntended,
        "The alert was sent; only closing the incident as NOTIFIED failed.",
    ),
    (
        "CloseDismissed",
        Containment::NotIntended,
        "The approver rejected containment and the team was told; only closing the incident \
         as DISMISSED failed.",
    ),
];

/// Where the response stood when `step` failed; `None` for a step the workflow does not have.
pub fn standing(step: &str) -> Option<Standing> {
    STEPS
        .iter()
        .find(|(name, _, _)| *name == step)
        .map(|(_, containment, text)| Standing {
            containment: *containment,
            text,
        })
}

/// The stack function that runs `step`, for finding its log.
fn function_of(step: &str) -> &'static str {
    match step {
        "Enrich" => "EnrichFunction",
        "Quarantine" => "QuarantineFunction",
        "Tag" => "TagFunction",
        s if s.starts_with("Notify") || s == "RequestApproval" => "NotifyFunction",
        _ => "RecordFunction",
    }
}

/// One sentence: where the response stands.
pub(super) fn standing_line(report: &FailureReport) -> String {
    match standing(&report.step) {
        Some(s) => s.text.to_string(),
        None => format!(
            "Step {} is not one Cordon knows: read the execution history to see what was done.",
            sanitize_line(&report.step, 100)
        ),
    }
}

/// What to do now, in order: contain by hand if it cannot wait, fix the cause, replay; and
/// when a redrive applies instead.
pub(super) fn recovery_steps(ctx: &NotificationContext, report: &FailureReport) -> Vec<String> {
    let mut out = Vec::new();
    let containment = standing(&report.step)
        .map(|s| s.containment)
        .unwrap_or(Containment::Uncertain);
    if let Some(step) = by_hand(ctx, report, containment) {
        out.push(step);
    }
    out.push(fix_the_cause(report));
    let execution = report
        .execution_arn
        .as_deref()
        .map(|a| sanitize_line(a, 300))
        .unwrap_or_else(|| "<execution-arn>".to_string());
    let machine = report
        .state_machine_arn
        .as_deref()
        .map(|a| sanitize_line(a, 300))
        .unwrap_or_else(|| "<state-machine-arn>".to_string());
    let incident = sanitize_line(&ctx.incident_id, 100);
    out.push(format!(
        "Then REPLAY the event: `cordon replay {incident}` starts a new execution with this \
         execution's event. It reopens the FAILED incident (or opens it, if it never was) and \
         runs the response again; nothing already done is done twice (the deny-all policy \
         attaches once, the first snapshot is kept, notifications already sent are not sent \
         again, an approval is asked again). Without the cordon CLI: `aws stepfunctions \
         start-execution --state-machine-arn {machine} --input \"$(aws stepfunctions \
         describe-execution --execution-arn {execution} --query input --output text)\"`"
    ));
    out.push(format!(
        "Do not redrive this execution once it has ended in its Failed state: it went through \
         Cordon's failure path, and a redrive restarts from the failed state, which only fails \
         again. Redrive applies if the execution stops at RecordFailure instead (the audit \
         table was unavailable, so the incident is not yet recorded as FAILED): redrive it when \
         the table is back, so the replay finds the FAILED incident: `cordon redrive \
         {execution}`. `cordon graph {execution}` shows where it stopped."
    ));
    out
}

/// The step for a principal that should not wait for the fix and the replay.
fn by_hand(
    ctx: &NotificationContext,
    report: &FailureReport,
    containment: Containment,
) -> Option<String> {
    let principal = ctx.detection.as_ref().and_then(|d| d.principal.as_ref());
    let user = principal
        .filter(|p| p.kind == PrincipalKind::IamUser)
        .and_then(|p| p.name.as_deref())
        .map(|n| sanitize_line(n, 128));
    let policy = report
        .quarantine_policy_arn
        .as_deref()
        .map(|a| sanitize_line(a, 300))
        .unwrap_or_else(|| {
            format!("<the stack's QuarantinePolicyArn output ({QUARANTINE_POLICY_NAME})>")
        });
    match containment {
        Containment::Contained => Some(match user {
            Some(u) => format!(
                "{u} is contained (deny-all policy attached): nothing to contain by hand. Check \
                 with `aws iam list-attached-user-policies --user-name {u}`."
            ),
            None => "The principal is contained (deny-all policy attached): nothing to contain \
                     by hand."
                .to_string(),
        }),
        Containment::NotIntended => Some(
            "No containment was planned for this incident; read what happened below and decide \
             whether it needs one."
                .to_string(),
        ),
        Containment::NotContained | Containment::Uncertain => {
            if principal.is_some_and(|p| p.kind == PrincipalKind::Root) {
                return Some(
                    "The principal is the root user, which Cordon never contains: act by hand \
                     (see below)."
                        .to_string(),
                );
            }
            let (status, check) = if containment == Containment::Uncertain {
                (
                    "may not have contained",
                    "check first whether the deny-all policy is attached, then ",
                )
            } else {
                ("has NOT contained", "")
            };
            Some(match user {
                Some(u) => format!(
                    "Cordon {status} {u}. If it may be compromised, do not wait for the fix: \
                     {check}contain it by hand: `aws iam attach-user-policy --user-name {u} \
                     --policy-arn {policy}`."
                ),
                None => {
                    let target = ctx
                        .event
                        .as_ref()
                        .and_then(|e| e.target.as_deref())
                        .map(|t| sanitize_line(t, 128));
                    match target {
                        Some(t) => format!(
                            "Cordon {status} anyone. The event's target is {t}: if it is an IAM \
                             user that may be compromised, {check}contain it by hand: `aws iam \
                             attach-user-policy --user-name {t} --policy-arn {policy}`."
                        ),
                        None => format!(
                            "Cordon {status} anyone. Identify the principal from the event; if \
                             it may be compromised, {check}contain it by hand (for an IAM user: \
                             `aws iam attach-user-policy --user-name <user> --policy-arn \
                             {policy}`)."
                        ),
                    }
                }
            })
        }
    }
}

/// What the error says to fix before a replay can succeed.
fn fix_the_cause(report: &FailureReport) -> String {
    let name = report.error.name().unwrap_or("");
    let message = report.error.message().unwrap_or_default();
    let function = function_of(&report.step);
    if name == names::CONFIG {
        return format!(
            "Fix the configuration the error names: the {function}'s environment comes from the \
             stack's parameters; correct the parameter and redeploy. The function answers every \
             invocation with this error until then."
        );
    }
    if name == names::TRANSIENT || is_lambda_service_error(name) {
        return "AWS kept failing through every retry (throttling or a service outage): check \
                the AWS Health Dashboard and wait until it recovers."
            .to_string();
    }
    if name == names::AWS && message.contains("dynamodb:") && !message.contains("AccessDenied") {
        return "The incident table could not be used (the error says why): check that it \
                exists and that its KMS key is enabled; no audit record can be written until it \
                can."
            .to_string();
    }
    if name == names::AWS {
        let denied = ["AccessDenied", "not authorized", "UnauthorizedOperation"]
            .iter()
            .any(|m| message.contains(m));
        return if denied {
            format!(
                "The {function} is not allowed to make the call in the error: fix its policy in \
                 infra/template.yaml and redeploy."
            )
        } else {
            "AWS refused the call in the error (not a transient failure): fix what it names."
                .to_string()
        };
    }
    if matches!(
        name,
        "Lambda.Unknown" | "Sandbox.Timedout" | "States.TaskFailed"
    ) || name.starts_with("Runtime.")
    {
        return format!(
            "The {function} crashed, ran out of memory or timed out: read its log in CloudWatch \
             Logs (/aws/lambda/<stack>-{function}-…) for the cause."
        );
    }
    if name == "States.Timeout" {
        return format!("The {function} did not answer in time: read its log for the cause.");
    }
    if matches!(
        name,
        "States.Permissions" | "Lambda.ResourceNotFoundException"
    ) {
        return "The state machine could not invoke the function: check the deployment (the \
                function exists and the state machine's role may invoke it)."
            .to_string();
    }
    "Find the cause in the error above and the execution's history (`cordon graph \
     <execution-arn>` shows each step, its error and its retries)."
        .to_string()
}

/// The Lambda service errors the workflow retries (they are transient).
fn is_lambda_service_error(name: &str) -> bool {
    matches!(
        name,
        "Lambda.ServiceException"
            | "Lambda.AWSLambdaException"
            | "Lambda.SdkClientException"
            | "Lambda.TooManyRequestsException"
            | "Lambda.ClientExecutionTimeoutException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CaughtError;

    #[test]
    fn every_known_step_says_where_it_stands() {
        for (step, _, _) in STEPS {
            assert!(standing(step).is_some(), "{step}");
        }
        assert_eq!(
            standing("Tag").map(|s| s.containment),
            Some(Containment::Contained)
        );
        assert!(standing("NoSuchStep").is_none());
    }

    #[test]
    fn the_cause_decides_what_to_fix() {
        let report = |error: &str, cause: &str| FailureReport {
            step: "Enrich".into(),
            error: CaughtError::new(error, cause),
            ..FailureReport::default()
        };
        assert!(fix_the_cause(&report(names::CONFIG, "bad")).contains("redeploy"));
        assert!(fix_the_cause(&report(names::TRANSIENT, "Throttling")).contains("retry"));
        assert!(
            fix_the_cause(&report(
                names::AWS,
                "AWS call iam:GetUser failed (AccessDenied): no"
            ))
            .contains("policy")
        );
        assert!(fix_the_cause(&report("Lambda.Unknown", "")).contains("EnrichFunction"));
    }
}
