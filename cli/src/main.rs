//! `cordon`: the operator CLI.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cordon",
    version,
    about = "Automated incident response for AWS identities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local stack: Cordon's embedded Step Functions engine and friends.
    Local {
        #[command(subcommand)]
        command: LocalCommand,
    },
    /// Release a contained user: detach the quarantine policy, reactivate exactly the keys
    /// that were active, remove Cordon's tags, and record who released it. Reads the same
    /// environment as the release Lambda (CORDON_TABLE_NAME, CORDON_QUARANTINE_POLICY_ARN,
    /// AWS_* / AWS_ENDPOINT_URL).
    Release {
        /// The incident id (for example ct-9a830abc-…).
        incident: String,
        /// Who is releasing it (defaults to $USER).
        #[arg(long)]
        name: Option<String>,
        /// Why (recorded on the incident's timeline).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Simulate an attacker creating a backdoor user and watch Cordon respond, on the local
    /// stack against the AWS APIs at AWS_ENDPOINT_URL (moto). `cargo xtask demo` runs this
    /// with moto started for you.
    Demo {
        /// Approve containment from the emailed link with an HTTP POST, as a browser would.
        /// Without it the demo prints the link and waits for someone to open it.
        #[arg(long)]
        approve: bool,
        /// How long to wait for a human approval (seconds) without --approve.
        #[arg(long, default_value_t = 600)]
        approval_wait: u64,
        /// The SAM template holding the workflow and the EventBridge rules.
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
        /// Run even if AWS_ENDPOINT_URL does not name an emulator on loopback: the demo then
        /// creates users and policies in the account your credentials name.
        #[arg(long)]
        aws: bool,
    },
    /// Perform an attacker's action for real against the AWS APIs at AWS_ENDPOINT_URL and
    /// deliver its CloudTrail event to a running `cordon local up`.
    Simulate {
        #[command(subcommand)]
        command: SimulateCommand,
    },
}

#[derive(Subcommand)]
enum SimulateCommand {
    /// The compromised user jdoe creates a backdoor user in IAM; the CloudTrail record is
    /// sent to `cordon local up` through its EventBridge PutEvents API. Prints the event id
    /// and the user.
    CreateUser {
        /// The backdoor user's name (default: the first free support-admin[-N]).
        #[arg(long)]
        name: Option<String>,
        /// The PutEvents API of `cordon local up`.
        #[arg(long, default_value = "http://127.0.0.1:8085")]
        events_endpoint: String,
        /// Run even if AWS_ENDPOINT_URL does not name an emulator on loopback: the user is
        /// then created in the account your credentials name.
        #[arg(long)]
        aws: bool,
    },
}

#[derive(Subcommand)]
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
    /// the template's rules. Prints the endpoints as `export` lines.
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
        /// Run even if AWS_ENDPOINT_URL does not name an emulator on loopback: the stack
        /// then creates its table, topic and policy in the account your credentials name.
        #[arg(long)]
        aws: bool,
    },
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Release {
            incident,
            name,
            reason,
        } => {
            cordon::release::run(incident, name, reason).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            approve,
            approval_wait,
            template,
            aws,
        } => {
            let mut stack = cordon::local::LocalStackOptions::for_template(template);
            stack.allow_aws = aws;
            // A fresh engine database per run: a second demo needs no cleanup.
            stack.db = std::env::temp_dir().join(format!(
                "cordon-demo-{}-{}.sqlite",
                std::process::id(),
                chrono::Utc::now().timestamp_millis()
            ));
            let db = stack.db.clone();
            let result = cordon::demo::run(cordon::demo::DemoOptions {
                stack,
                approve,
                approval_wait: std::time::Duration::from_secs(approval_wait),
            })
            .await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            command:
                SimulateCommand::CreateUser {
                    name,
                    events_endpoint,
                    aws,
                },
        } => {
            let done = cordon::simulate::create_user(name, &events_endpoint, aws).await?;
            println!("event   {}", done.event_id);
            println!("user    {} ({})", done.user.arn, done.user.user_id);
            println!("by      {}", done.attacker.arn());
            Ok(ExitCode::SUCCESS)
        }
        Command::Local {
            command:
                LocalCommand::Up {
                    sfn_port,
                    approval_port,
                    events_port,
                    db,
                    template,
                    response_policy,
                    aws,
                },
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
            let mut stack = cordon::local::LocalStackOptions::for_template(template);
            stack.db = db;
            stack.response_policy = response_policy;
            stack.sfn_port = sfn_port;
            stack.approval_port = approval_port;
            stack.allow_aws = aws;
            cordon::local::up::run(cordon::local::up::UpOptions { stack, events_port }).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Local {
            command:
                LocalCommand::Exec {
                    definition,
                    input,
                    context,
                },
        } => {
            let definition = read(&definition, "definition")?;
            let input = read(&input, "input")?;
            let context = context.map(|c| read(&c, "context")).transpose()?;
            let described =
                cordon_engine::local_exec(&definition, &input, context.as_deref(), None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&described)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Local {
            command:
                LocalCommand::Serve {
                    port,
                    db,
                    lambda_endpoint,
                },
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
            println!("AWS_ENDPOINT_URL_SFN={}", handle.endpoint());
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cordon: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
