//! `cordon simulate <scenario>` and `cordon simulate --list`: wiring only; the
//! simulations live in [`crate::simulate`].
use std::process::ExitCode;

use clap::Args as ClapArgs;
use serde_json::json;

use super::{Context, Format};
use crate::output::{self, table};
use crate::simulate::{self, SCENARIOS};

#[derive(Debug, ClapArgs)]
#[command(
    after_help = "Scenarios marked \"event only\" have no API the emulator serves (console \
                  sign-ins, CloudTrail, Cordon's own rules and executions, root): only their \
                  CloudTrail events are delivered. `cordon simulate --list` describes each."
)]
pub struct Args {
    /// The attack to perform (see --list).
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    scenario: Option<String>,
    /// Describe every scenario and the rule id its events raise, and exit.
    #[arg(long)]
    list: bool,
    /// create-user only: the backdoor user's name (default: the first free
    /// support-admin[-N]).
    #[arg(long)]
    name: Option<String>,
    /// The PutEvents API of `cordon local up`.
    #[arg(long, default_value = "http://127.0.0.1:8085")]
    events_endpoint: String,
    /// The delivery token `cordon local up` wrote next to its database: CloudTrail
    /// records go through the stack's delivery path, since PutEvents refuses `aws.*`
    /// sources from customers, as on AWS.
    #[arg(
        long,
        env = "CORDON_DELIVERY_TOKEN_FILE",
        default_value = ".cordon/delivery-token"
    )]
    delivery_token_file: std::path::PathBuf,
    /// Run even if AWS_ENDPOINT_URL does not name an emulator on loopback: the users,
    /// roles and policies are then created in the account your credentials name.
    #[arg(long)]
    aws: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let Some(name) = args.scenario.filter(|_| !args.list) else {
        list(ctx.format())?;
        return Ok(ExitCode::SUCCESS);
    };
    let Some(scenario) = simulate::scenario(&name) else {
        return Err(Context::problem(
            format!("there is no scenario {name:?}"),
            format!(
                "name one of: {} (`cordon simulate --list` describes them)",
                SCENARIOS
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    if name == "create-user" {
        crate::local::endpoint::ensure_local("cordon simulate", args.aws)?;
        let to = simulate::Delivery::to(&args.events_endpoint, &args.delivery_token_file)?;
        let done = simulate::create_user(args.name, &to, args.aws).await?;
        if ctx.format() == Format::Json {
            output::json(&json!({
                "scenario": scenario.name,
                "rule": scenario.rule,
                "performed": true,
                "target": done.user.user_name,
                "by": done.attacker.arn(),
                "eventIds": [done.event_id],
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        output::line(&format!("event   {}", done.event_id))?;
        output::line(&format!(
            "user    {} ({})",
            done.user.arn, done.user.user_id
        ))?;
        output::line(&format!("by      {}", done.attacker.arn()))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.name.is_some() {
        return Err(Context::problem(
            "--name applies to create-user only",
            format!("run `cordon simulate {name}` without it: its names are generated"),
        ));
    }
    crate::local::endpoint::ensure_local("cordon simulate", args.aws)?;
    let to = simulate::Delivery::to(&args.events_endpoint, &args.delivery_token_file)?;
    let done = simulate::run(scenario, &to, args.aws).await?;
    if ctx.format() == Format::Json {
        output::json(&json!({
            "scenario": done.scenario,
            "rule": done.rule,
            "performed": done.performed,
            "target": (!done.target.name.is_empty()).then_some(&done.target.name),
            "by": done.attacker.arn(),
            "eventIds": done.event_ids,
            "incidents": done
                .incidents
                .iter()
                .map(|o| json!({
                    "rule": o.rule,
                    "incidentId": o.incident_id,
                    "counted": o.counted,
                }))
                .collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::line(&format!("scenario {} ({})", done.scenario, done.rule))?;
    if !done.target.name.is_empty() {
        output::line(&format!("target   {}", done.target.name))?;
    }
    if done.performed {
        output::line(&format!("by       {}", done.attacker.arn()))?;
    } else {
        output::line("by       (event only: nothing was called)")?;
    }
    for id in &done.event_ids {
        output::line(&format!("event    {id}"))?;
    }
    for o in &done.incidents {
        output::line(&format!("incident {} ({})", o.incident_id, o.rule))?;
    }
    if done.incidents.iter().any(|o| o.counted) {
        output::line(
            "note     failed sign-ins are counted per user and per IP address: later ones \
             join the incident their window opened (`cordon incidents list --rule \
             signin.console-login-failed`)",
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        let all: Vec<_> = SCENARIOS
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "rule": s.rule,
                    "performed": s.perform.is_some(),
                    "description": s.description,
                })
            })
            .collect();
        return output::json(&all);
    }
    let mut t = table::Table::new(vec![
        table::Column::new("SCENARIO", 12),
        table::Column::new("RULE", 12),
        table::Column::optional("CALLS", 5),
        table::Column::new("DESCRIPTION", 20),
    ]);
    for s in SCENARIOS {
        t.push(vec![
            s.name.to_string(),
            s.rule.to_string(),
            if s.perform.is_some() {
                "real"
            } else {
                "event only"
            }
            .to_string(),
            s.description.to_string(),
        ]);
    }
    output::print(&t.render(output::width()))?;
    Ok(())
}
