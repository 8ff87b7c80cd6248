//! `cordon`: the operator CLI. This file only parses and dispatches: each command lives in
//! its own module (`cordon::commands::*`, the local stack in `cordon::local`).
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cordon::commands::{self, Global};

/// mimalloc, for the embedded engine `local up` and `local serve` run: it allocates a few
/// hundred small JSON nodes per state transition, and glibc's malloc took about a third of
/// its time (BENCHMARKS.md measures the engine with this allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cordon",
    version,
    about = "Automated incident response for AWS identities",
    long_about = "Automated incident response for AWS identities.\n\n\
        Commands that read or act on a stack find it as the AWS CLI would: --stack NAME \
        (default `cordon`, or $CORDON_STACK) names the CloudFormation stack whose outputs \
        give the table, topic, state machine and approval URL; --profile, --region, \
        AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL[_<SERVICE>] work as in the AWS CLI. \
        Locally, `cordon local up` prints the same settings as exports (CORDON_STACK, \
        CORDON_STACK_*)."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Incidents: list them, show one, export them for an audit.
    Incidents(commands::incidents::Args),
    /// Approve containment of an incident waiting for a human, as yourself (your AWS
    /// identity is the approver): the same single-use decision as the emailed link.
    Approve(commands::decide::Args),
    /// Reject containment of an incident waiting for a human, as yourself.
    Reject(commands::decide::Args),
    /// Release a contained user: detach the quarantine policy, reactivate exactly the keys
    /// that were active, restore Cordon's tags, and record you (your AWS identity) as the
    /// releaser.
    Release(commands::release::Args),
    /// Run an incident's original event through the workflow again (a new execution):
    /// reopens a FAILED incident; nothing already done is done twice.
    Replay(commands::replay::ReplayArgs),
    /// Redrive a failed execution from the state where it stopped.
    Redrive(commands::replay::RedriveArgs),
    /// The workflow of an execution or incident as a graph: the path taken, each state's
    /// status, duration and retries (SVG, PNG, or text in a terminal).
    Graph(commands::graph::Args),
    /// Follow new incidents and their steps live.
    Watch(commands::watch::Args),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::Args),
    /// The local stack: Cordon's embedded Step Functions engine and friends.
    Local(commands::local::Args),
    /// Simulate an attacker creating a backdoor user and watch Cordon respond, on the local
    /// stack against the AWS APIs at AWS_ENDPOINT_URL (moto). `cargo xtask demo` runs this
    /// with moto started for you.
    Demo(commands::demo::Args),
    /// Perform an attacker's action for real against the AWS APIs at AWS_ENDPOINT_URL and
    /// deliver its CloudTrail events to a running `cordon local up` (`--list`: every
    /// scenario, one or more per detection).
    Simulate(commands::simulate::Args),
    /// The classifier's decision on one EventBridge event (JSON): incident or not, rule
    /// id, principal, actor, severity and why.
    Classify(commands::classify::Args),
    /// The EventBridge rules: test a pattern against an event, list the template's rules
    /// and the rule ids each feeds.
    Rules(commands::rules::Args),
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = commands::Context::new(cli.global);
    match cli.command {
        Command::Incidents(args) => commands::incidents::run(args, &ctx).await,
        Command::Approve(args) => commands::decide::approve(args, &ctx).await,
        Command::Reject(args) => commands::decide::reject(args, &ctx).await,
        Command::Release(args) => commands::release::run(args, &ctx).await,
        Command::Replay(args) => commands::replay::replay(args, &ctx).await,
        Command::Redrive(args) => commands::replay::redrive(args, &ctx).await,
        Command::Graph(args) => commands::graph::run(args, &ctx).await,
        Command::Watch(args) => commands::watch::run(args, &ctx).await,
        Command::Completions(args) => {
            commands::completions::run::<Cli>(args, &ctx);
            Ok(ExitCode::SUCCESS)
        }
        Command::Local(args) => commands::local::run(args).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Simulate(args) => commands::simulate::run(args, &ctx).await,
        Command::Classify(args) => commands::classify::run(args, &ctx).await,
        Command::Rules(args) => commands::rules::run(args, &ctx).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => cordon::errors::report(&e),
    }
}
