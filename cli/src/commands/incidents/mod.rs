//! `cordon incidents list | show | export`.
//!
//! - `list`: the incidents a query matches, newest first, through the table's indexes
//!   (`cordon_aws::dynamo::listing`), a page at a time;
//! - `show`: everything about one incident (`view::IncidentDetail`);
//! - `export`: every incident (or timeline entry) opened in a time range, as JSON Lines or
//!   CSV for an audit (`export.rs`, columns documented there and in the README).
use std::process::ExitCode;

use chrono::Utc;
use clap::{Args as ClapArgs, Subcommand};
use cordon_aws::incidents::IncidentStore;

use super::{Context, Format};
use crate::errors::{self, Problem};
use crate::output;

mod export;
mod filters;
pub mod render;
pub mod view;

pub use export::ExportFormat;
pub use filters::{Filters, parse_severity, parse_since, parse_status};

/// The columns of `incidents export` (`--rows timeline` when `timeline`), in order.
pub fn export_columns(timeline: bool) -> &'static [&'static str] {
    if timeline {
        export::TIMELINE_COLUMNS
    } else {
        export::INCIDENT_COLUMNS
    }
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: IncidentsCommand,
}

#[derive(Debug, Subcommand)]
enum IncidentsCommand {
    /// Incidents, newest first (one page; --starting-token for the next).
    List(ListArgs),
    /// One incident: summary, detection and evidence, assessment, snapshot, approval,
    /// release, timeline, and the execution.
    Show {
        /// The incident id (ct-…).
        incident: String,
    },
    /// Every incident (or timeline entry) opened in a time range, for an audit.
    Export(export::ExportArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// At most this many incidents (one page).
    #[arg(long, default_value_t = 50)]
    max_items: usize,
    /// Resume after the page that printed this token.
    #[arg(long)]
    starting_token: Option<String>,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        IncidentsCommand::List(list) => list_incidents(list, ctx).await,
        IncidentsCommand::Show { incident } => show(&incident, ctx).await,
        IncidentsCommand::Export(export) => export::run(export, ctx).await,
    }
}

async fn list_incidents(args: ListArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let settings = ctx.settings().await?;
    let listing = ctx.aws().await?.incident_listing(settings.table()?);
    let page = listing
        .page(
            &args.filters.query(),
            args.max_items,
            args.starting_token.as_deref(),
            Utc::now(),
        )
        .await
        .map_err(|e| errors::aws(e, "listing incidents"))?;
    let list = view::IncidentList {
        incidents: page
            .incidents
            .iter()
            .map(view::IncidentSummary::of)
            .collect(),
        next_token: page.next_token,
    };
    match ctx.format() {
        Format::Json => output::json(&list)?,
        Format::Table => {
            if list.incidents.is_empty() {
                eprintln!("cordon: no incidents match");
            } else {
                output::print(&render::list_table(&list.incidents, output::width()))?;
            }
            if let Some(token) = &list.next_token {
                eprintln!("cordon: more incidents: add --starting-token {token}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The incident `id` with its timeline, or an error saying it does not exist.
pub async fn load(
    id: &str,
    ctx: &Context,
) -> anyhow::Result<(
    cordon_aws::incidents::IncidentRecord,
    Vec<cordon_aws::incidents::TimelineEntry>,
)> {
    let settings = ctx.settings().await?;
    let table = settings.table()?;
    let store = ctx.aws().await?.incident_store(table);
    let doing = format!("reading incident {id}");
    let record = store
        .get(id)
        .await
        .map_err(|e| errors::aws(e, &doing))?
        .ok_or_else(|| not_found(id, table))?;
    let timeline = store
        .timeline(id)
        .await
        .map_err(|e| errors::aws(e, &doing))?;
    Ok((record, timeline))
}

/// The error for an incident id the table does not hold.
pub fn not_found(id: &str, table: &str) -> anyhow::Error {
    Problem::new(
        format!("no incident {id} in table {table}"),
        "check the id (`cordon incidents list` shows them), and --stack / --region if it is \
         in another stack",
    )
    .into()
}

async fn show(id: &str, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (record, timeline) = load(id, ctx).await?;
    let detail = view::IncidentDetail::of(&record, timeline);
    match ctx.format() {
        Format::Json => output::json(&detail)?,
        Format::Table => output::print(&render::show_text(&detail))?,
    }
    Ok(ExitCode::SUCCESS)
}
