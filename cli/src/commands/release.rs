//! `cordon release <id> [--reason TEXT] [--yes]`: restore a contained user from its
//! pre-containment snapshot through `cordon_release::release` (the release Lambda's own
//! code, run with your credentials), recording your identity as STS verified it. Asks
//! for confirmation on a terminal; `--yes` for scripts.
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Args as ClapArgs;
use cordon_release::{ReleaseInput, ReleaseVia, ReleasedBy};

use super::Context;
use super::decide::user_agent;
use crate::errors::{self, Problem};
use crate::output;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The incident id (ct-…).
    pub incident: String,
    /// Why (recorded on the incident's timeline).
    #[arg(long)]
    pub reason: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (record, _) = super::incidents::load(&args.incident, ctx).await?;
    let settings = ctx.settings().await?;
    let aws = ctx.aws().await?;
    let caller = ctx.caller().await?;
    let user = record
        .snapshot
        .as_ref()
        .map(|s| s.user_arn.clone())
        .or_else(|| record.principal.as_ref().and_then(|p| p.arn.clone()))
        .unwrap_or_else(|| "(no contained user)".into());
    if !args.yes && record.status != cordon_core::model::IncidentStatus::Released {
        confirm(&format!(
            "Release {user} from quarantine (incident {}, {}) as {}?",
            args.incident,
            record.status.as_str(),
            caller.display()
        ))?;
    }
    let env = settings.function_env()?;
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let config = cordon_release::Config::from_lookup(&lookup)
        .map_err(|e| anyhow::anyhow!("configuring the release: {e}"))?;
    let deps = cordon_release::Deps::build(config, aws, cordon_aws::system_clock());
    let input = ReleaseInput {
        incident_id: args.incident.clone(),
        released_by: ReleasedBy {
            name: None,
            ip: None,
            user_agent: Some(user_agent()),
            via: ReleaseVia::Cli,
            verified: Some(caller.verified()),
        },
        reason: args.reason,
    };
    let out = cordon_release::release(input, &deps)
        .await
        .map_err(|e| match e {
            cordon_core::TaskError::InvalidEvent { ref reason, .. } => Problem::new(
                format!("incident {} cannot be released: {reason}", args.incident),
                "only a contained incident can be released; `cordon incidents show` says what \
                 happened to it",
            )
            .into(),
            e => errors::aws(e, &format!("releasing incident {}", args.incident)),
        })?;
    output::print(&out.summary())?;
    Ok(ExitCode::SUCCESS)
}

/// Ask `question` on the terminal; anything but yes aborts. Without a terminal, refuse:
/// a script must say `--yes`.
fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Problem::new(
            "release needs a confirmation and there is no terminal to ask on",
            "pass --yes to release without asking",
        )
        .into());
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Problem::new(
            "release cancelled; nothing was changed",
            "run it again and answer y",
        )
        .into())
    }
}
