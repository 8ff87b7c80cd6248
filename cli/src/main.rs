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
}

#[derive(Subcommand)]
enum LocalCommand {
    /// Run an ASL definition on the embedded engine and print one JSON object shaped like
    /// DescribeExecution (`status`, plus `output`, or `error` and `cause`).
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
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
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
