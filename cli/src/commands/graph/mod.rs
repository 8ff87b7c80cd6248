//! `cordon graph <execution|incident>`: the state machine with the path an execution
//! took, each state's status, duration and retries, as the console's graph view shows it.
//!
//! On a terminal it prints text ([`text`]); piped, or with `--format svg`, SVG
//! ([`svg`]); `--out FILE.png` (or `--format png`) a PNG; `--output json` the model
//! ([`model::ExecutionGraph`]).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, ValueEnum};

use super::{Context, Format};
use crate::errors::{self, Problem};
use crate::output;

pub mod model;
pub mod svg;
pub mod text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Svg,
    Png,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// An execution ARN, or an incident id (its current execution).
    pub target: String,
    /// text (the default on a terminal), svg (the default otherwise) or png.
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// Write to this file instead of stdout (a .png or .svg name picks the format).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// The graph of `execution_arn`, read from Step Functions.
pub async fn load(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> anyhow::Result<model::ExecutionGraph> {
    let described = match sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) => {
            let e = cordon_aws::error::map_sdk_error("states:DescribeExecution", e);
            if matches!(&e, cordon_core::TaskError::Aws { code, .. } if code == "ExecutionDoesNotExist")
            {
                return Err(Problem::new(
                    format!("no execution {execution_arn}"),
                    "check the ARN and --region; `cordon incidents show <id>` names an \
                     incident's execution",
                )
                .into());
            }
            return Err(errors::aws(e, "reading the execution"));
        }
    };
    // The definition the execution ran; the machine's current one where the service
    // cannot say (the local service, an old execution).
    let definition = match sfn
        .describe_state_machine_for_execution()
        .execution_arn(execution_arn)
        .send()
        .await
    {
        Ok(d) => d.definition,
        Err(_) => {
            sfn.describe_state_machine()
                .state_machine_arn(&described.state_machine_arn)
                .send()
                .await
                .map_err(|e| {
                    errors::aws(
                        cordon_aws::error::map_sdk_error("states:DescribeStateMachine", e),
                        "reading the state machine",
                    )
                })?
                .definition
        }
    };
    let definition: serde_json::Value = serde_json::from_str(&definition)?;
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                errors::aws(
                    cordon_aws::error::map_sdk_error("states:GetExecutionHistory", e),
                    "reading the execution history",
                )
            })?;
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(model::build(
        execution_arn,
        described.status.as_str(),
        &definition,
        &model::steps_from_history(&events),
        chrono::Utc::now(),
    ))
}

/// The execution an argument names: itself if an ARN, else the incident's.
pub async fn execution_of(target: &str, ctx: &Context) -> anyhow::Result<String> {
    if target.starts_with("arn:") {
        return Ok(target.to_string());
    }
    let (record, _) = super::incidents::load(target, ctx).await?;
    record.execution_arn.ok_or_else(|| {
        Problem::new(
            format!("incident {target} names no execution"),
            "it was recorded without one (a rejected event, or a failure before opening)",
        )
        .into()
    })
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let arn = execution_of(&args.target, ctx).await?;
    let sfn = ctx.aws().await?.sfn();
    let graph = load(&sfn, &arn).await?;
    if ctx.format() == Format::Json {
        output::json(&graph)?;
        return Ok(ExitCode::SUCCESS);
    }
    let by_name = args.out.as_ref().and_then(|p| {
        match p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Some(GraphFormat::Png),
            Some("svg") => Some(GraphFormat::Svg),
            Some("txt") => Some(GraphFormat::Text),
            _ => None,
        }
    });
    let format =
        args.format
            .or(by_name)
            .unwrap_or(if args.out.is_none() && output::is_terminal() {
                GraphFormat::Text
            } else {
                GraphFormat::Svg
            });
    let bytes = match format {
        GraphFormat::Text => text::render(
            &graph,
            if args.out.is_none() {
                output::width()
            } else {
                None
            },
        )
        .into_bytes(),
        GraphFormat::Svg => svg::render(&graph).into_bytes(),
        GraphFormat::Png => svg::to_png(&svg::render(&graph))?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            eprintln!("cordon: wrote {}", path.display());
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
