//! `cordon simulate …`: wiring only; the simulations live in [`crate::simulate`].
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use crate::output;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: SimulateCommand,
}

#[derive(Debug, Subcommand)]
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

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SimulateCommand::CreateUser {
            name,
            events_endpoint,
            aws,
        } => {
            let done = crate::simulate::create_user(name, &events_endpoint, aws).await?;
            output::line(&format!("event   {}", done.event_id))?;
            output::line(&format!(
                "user    {} ({})",
                done.user.arn, done.user.user_id
            ))?;
            output::line(&format!("by      {}", done.attacker.arn()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
