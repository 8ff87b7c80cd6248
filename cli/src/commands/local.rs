//! `cordon local exec | serve | up`: wiring only; the local stack lives in
//! [`crate::local`].
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args as ClapArgs, Subcommand};

use crate::output;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Run an ASL definition (JSONPath or JSONata, with variables) on the embedded engine and
    /// print one JSON object shaped like DescribeExecution: `executionArn`, `stateMachineArn`,
    /// `name`, `status`, `startDate`, `stopDate`, `input` (JSON text), `inputDetails`, then
    /// `output` (JSON text) and `outputDetails` when it SUCCEEDED, `error` and `cause` when AWS
    /// would report them, and `redriveCount`.
    ///
    /// Task states fail as unresolved: no handler is registered in this mode.
    Exec {
        /// The state machine definition (Amazon States Language, JSON).
        #[arg(long)]
        definition: PathBuf,
        /// The execution input (JSON).
        #[arg(long)]
        input: PathBuf,
        /// Overrides for the context object `$$` (JSON), e.g. {"Execution": {"Name": "x"}}.
        #[arg(long)]
        context: Option<PathBuf>,
    },
    /// Serve the Step Functions API (awsJson1_0) on 127.0.0.1, backed by the embedded engine
    /// and a SQLite file, until SIGTERM or Ctrl-C. Point aws-sdk-sfn or the AWS CLI at it with
    /// AWS_ENDPOINT_URL_SFN.
    Serve {
        /// The loopback port (0 picks a free one).
        #[arg(long, default_value_t = 8083)]
        port: u16,
        /// The SQLite database holding definitions, executions, history, tokens and timers.
        #[arg(long, default_value = ".cordon/sfn.sqlite")]
        db: PathBuf,
        /// Resolve Lambda tasks through the Lambda Invoke API at this endpoint (for example
        /// `cargo lambda watch` on http://127.0.0.1:9000) instead of failing them.
        #[arg(long)]
        lambda_endpoint: Option<String>,
    },
    /// Run the whole local stack until SIGTERM or Ctrl-C: the Step Functions API on the
    /// embedded engine, the approval pages, the five task handlers against the AWS APIs at
    /// AWS_ENDPOINT_URL (moto), and an EventBridge PutEvents API that routes events through
    /// the template's rules. Prints the endpoints and the stack's settings as `export`
    /// lines, which the other commands read.
    Up {
        /// The Step Functions API's loopback port (0 picks a free one).
        #[arg(long, default_value_t = 8083)]
        sfn_port: u16,
        /// The approval pages' loopback port (0 picks a free one).
        #[arg(long, default_value_t = 8084)]
        approval_port: u16,
        /// The EventBridge PutEvents API's loopback port (0 picks a free one).
        #[arg(long, default_value_t = 8085)]
        events_port: u16,
        /// The SQLite database holding definitions, executions, history, tokens and timers.
        #[arg(long, default_value = ".cordon/sfn.sqlite")]
        db: PathBuf,
        /// The SAM template holding the workflow and the EventBridge rules.
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
        /// The response policy (JSON) the functions get as CORDON_RESPONSE_POLICY.
        #[arg(long)]
        response_policy: Option<PathBuf>,
        /// A template parameter, as `sam deploy --parameter-overrides` takes it (repeat for
        /// several), for example `--parameter OidcIssuer=http://127.0.0.1:8086`
        /// `--parameter OidcClientId=cordon` `--parameter OidcApprovers=you@example.com`.
        #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parameter)]
        parameters: Vec<(String, String)>,
        /// Run even if AWS_ENDPOINT_URL does not name an emulator on loopback: the stack
        /// then creates its table, topic and policy in the account your credentials name.
        #[arg(long)]
        aws: bool,
    },
}

/// `Name=Value` (the value may itself hold `=`).
fn parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "\"{text}\" is not NAME=VALUE (for example OidcClientId=cordon)"
        )),
    }
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        LocalCommand::Up {
            sfn_port,
            approval_port,
            events_port,
            db,
            template,
            response_policy,
            parameters,
            aws,
        } => {
            let response_policy = match response_policy {
                Some(path) => {
                    let text = read(&path, "response policy")?;
                    serde_json::from_str::<serde_json::Value>(&text).with_context(|| {
                        format!("the response policy {} is not JSON", path.display())
                    })?;
                    Some(text)
                }
                None => None,
            };
            let mut stack = crate::local::LocalStackOptions::for_template(template);
            stack.db = db;
            stack.parameters.extend(parameters);
            if let Some(policy) = response_policy {
                stack.set_response_policy(policy);
            }
            stack.sfn_port = sfn_port;
            stack.approval_port = approval_port;
            stack.allow_aws = aws;
            crate::local::up::run(crate::local::up::UpOptions { stack, events_port }).await?;
            Ok(ExitCode::SUCCESS)
        }
        LocalCommand::Exec {
            definition,
            input,
            context,
        } => {
            let definition = read(&definition, "definition")?;
            let input = read(&input, "input")?;
            let context = context.map(|c| read(&c, "context")).transpose()?;
            let described =
                cordon_engine::local_exec(&definition, &input, context.as_deref(), None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            output::json(&described)?;
            Ok(ExitCode::SUCCESS)
        }
        LocalCommand::Serve {
            port,
            db,
            lambda_endpoint,
        } => {
            if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut config = cordon_sfn_local::ServiceConfig::new(db).with_port(port);
            if let Some(url) = lambda_endpoint {
                config =
                    config.with_lambda(std::sync::Arc::new(cordon_sfn_local::HttpLambda::new(url)));
            }
            let handle = cordon_sfn_local::serve(config).await?;
            output::line(&format!("AWS_ENDPOINT_URL_SFN={}", handle.endpoint()))?;
            eprintln!(
                "cordon: Step Functions API on {} ({} execution(s) resumed); Ctrl-C or SIGTERM stops it",
                handle.endpoint(),
                handle.resumed_executions()
            );
            handle.run_until_signal().await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
