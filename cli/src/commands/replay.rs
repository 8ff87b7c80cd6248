//! `cordon replay <id>`: a new execution of the incident state machine with the incident's
//! original event (OpenIncident reopens a `FAILED` incident; a finished one ends as a
//! `Duplicate`). `cordon redrive <execution>`: Step Functions' redrive of a failed
//! execution from the state where it stopped. Neither does anything twice: every step is
//! idempotent (README "When something fails").
use std::process::ExitCode;
use std::time::Duration;

use clap::Args as ClapArgs;
use cordon_core::model::IncidentStatus;

use super::Context;
use crate::errors::{self, Problem};
use crate::output;
use crate::output::progress::Progress;

#[derive(Debug, ClapArgs)]
pub struct ReplayArgs {
    /// The incident id (ct-…).
    pub incident: String,
    /// Wait until the new execution ends, and print how it ended.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, ClapArgs)]
pub struct RedriveArgs {
    /// The execution ARN (`cordon incidents show` names an incident's).
    pub execution: String,
    /// Wait until the execution ends again, and print how it ended.
    #[arg(long)]
    pub wait: bool,
}

/// A Step Functions execution name for a replay: `replay-<incident>-<time>`, within the
/// 80 characters and the `[A-Za-z0-9_-]` AWS allows.
pub fn replay_name(incident: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%S%3f").to_string();
    let safe: String = incident
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let room = 80 - "replay--".len() - stamp.len();
    let safe: String = safe.chars().take(room).collect();
    format!("replay-{safe}-{stamp}")
}

pub async fn replay(args: ReplayArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (record, _) = super::incidents::load(&args.incident, ctx).await?;
    let settings = ctx.settings().await?;
    let machine = settings.state_machine_arn()?.to_string();
    let sfn = ctx.aws().await?.sfn();
    let input = match &record.event {
        Some(event) => event.to_string(),
        None => {
            // A failure recorded before the incident was opened keeps no event: the
            // execution that recorded it has it as its input.
            let Some(arn) = &record.execution_arn else {
                return Err(Problem::new(
                    format!(
                        "incident {} keeps no event and no execution to take it from",
                        args.incident
                    ),
                    "find the event in CloudTrail and put it to EventBridge again",
                )
                .into());
            };
            sfn.describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .map_err(|e| {
                    errors::aws(
                        cordon_aws::error::map_sdk_error("states:DescribeExecution", e),
                        "reading the original event",
                    )
                })?
                .input
                .unwrap_or_default()
        }
    };
    match record.status {
        IncidentStatus::Failed => {}
        IncidentStatus::Rejected => eprintln!(
            "cordon: incident {} was rejected as malformed: the replay will be rejected again",
            args.incident
        ),
        status => eprintln!(
            "cordon: incident {} is {}: the replay ends as a Duplicate and changes nothing",
            args.incident,
            status.as_str()
        ),
    }
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(replay_name(&args.incident, chrono::Utc::now()))
        .input(input)
        .send()
        .await
        .map_err(|e| {
            errors::aws(
                cordon_aws::error::map_sdk_error("states:StartExecution", e),
                &format!("replaying incident {}", args.incident),
            )
        })?;
    let arn = started.execution_arn;
    output::line(&format!("replaying incident {} as {arn}", args.incident))?;
    if args.wait {
        let status = wait(&sfn, &arn).await?;
        output::line(&format!("execution {status}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn redrive(args: RedriveArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let sfn = ctx.aws().await?.sfn();
    match sfn
        .redrive_execution()
        .execution_arn(&args.execution)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) => {
            let e = cordon_aws::error::map_sdk_error("states:RedriveExecution", e);
            if let cordon_core::TaskError::Aws { code, message, .. } = &e {
                if code == "ExecutionNotRedrivable" {
                    return Err(Problem::new(
                        format!("execution {} cannot be redriven: {message}", args.execution),
                        "redrive only an execution that stopped on the failure path itself \
                         (NotifyFailure or RecordFailure); for a handled failure, fix the \
                         cause and `cordon replay <incident>`",
                    )
                    .into());
                }
                if code == "ExecutionDoesNotExist" {
                    return Err(Problem::new(
                        format!("no execution {}", args.execution),
                        "check the ARN (`cordon incidents show <id>` names an incident's) \
                         and --region",
                    )
                    .into());
                }
            }
            return Err(errors::aws(e, &format!("redriving {}", args.execution)));
        }
    }
    output::line(&format!("redriving {}", args.execution))?;
    if args.wait {
        let status = wait(&sfn, &args.execution).await?;
        output::line(&format!("execution {status}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Polls an execution until it is no longer running (a waiting approval counts as
/// running: say so and stop waiting after the first look at it), showing progress.
pub async fn wait(sfn: &aws_sdk_sfn::Client, arn: &str) -> anyhow::Result<String> {
    let mut progress = Progress::new();
    let started = std::time::Instant::now();
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| {
                errors::aws(
                    cordon_aws::error::map_sdk_error("states:DescribeExecution", e),
                    "waiting for the execution",
                )
            })?;
        let status = described.status.as_str().to_string();
        if status != "RUNNING" {
            progress.finish();
            return Ok(status);
        }
        progress.update(&format!(
            "cordon: {arn} running ({}s)…",
            started.elapsed().as_secs()
        ));
        if started.elapsed() > Duration::from_secs(600) {
            progress.finish();
            return Ok("still RUNNING after 10 minutes (waiting for approval?)".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_names_are_valid_execution_names() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-09-27T14:06:00.123Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            replay_name("ct-0123abcd", now),
            "replay-ct-0123abcd-20240927T140600123"
        );
        let long = replay_name(&format!("ct-{}", "é".repeat(100)), now);
        assert!(long.len() <= 80, "{long}");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{long}"
        );
    }
}
