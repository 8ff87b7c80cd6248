//! `cordon demo`: wiring only; the demo lives in [`crate::demo`].
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
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
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut stack = crate::local::LocalStackOptions::for_template(args.template);
    stack.allow_aws = args.aws;
    // A fresh engine database per run: a second demo needs no cleanup.
    stack.db = std::env::temp_dir().join(format!(
        "cordon-demo-{}-{}.sqlite",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    ));
    let db = stack.db.clone();
    let result = crate::demo::run(crate::demo::DemoOptions {
        stack,
        approve: args.approve,
        approval_wait: std::time::Duration::from_secs(args.approval_wait),
    })
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
