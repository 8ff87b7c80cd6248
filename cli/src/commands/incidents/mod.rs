//! `cordon incidents list | show | export`.
//!
//! - `list`: the incidents a query matches, newest first, through the table's indexes
//!   (`cordon_aws::dynamo::listing`), a page at a time;
//! - `show`: everything about one incident (`view::IncidentDetail`);
//! - `export`: every incident (or timeline entry) opened in a time range, as JSON Lines or
//!   CSV for an audit (`export.rs`, columns documented there and in the README).
use std::process::ExitCode;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args as ClapArgs, Subcommand};
use cordon_aws::IncidentQuery;
use cordon_aws::incidents::IncidentStore;
use cordon_core::model::{IncidentStatus, Severity};

use super::{Context, Format};
use crate::errors::{self, Problem};
use crate::output;

mod export;
pub mod render;
pub mod view;

pub use export::ExportFormat;

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

/// The filters `list` and `export` share.
#[derive(Debug, Clone, ClapArgs)]
pub struct Filters {
    /// Only incidents with this status (open, awaiting_approval, contained, notified,
    /// dismissed, closed, released, rejected, failed).
    #[arg(long, value_parser = parse_status)]
    pub status: Option<IncidentStatus>,
    /// Only incidents about this principal: its ARN (or its name, when the event carried
    /// no ARN).
    #[arg(long)]
    pub principal: Option<String>,
    /// Only incidents of this rule id (iam.user-created, …).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only incidents of this severity (low, medium, high, critical).
    #[arg(long, value_parser = parse_severity)]
    pub severity: Option<Severity>,
    /// Opened at or after: RFC 3339, a date (2024-09-27), or an age (30m, 24h, 7d, 2w).
    #[arg(long, value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Opened before (same forms as --since).
    #[arg(long, value_parser = parse_since)]
    pub until: Option<DateTime<Utc>>,
}

impl Filters {
    pub fn query(&self) -> IncidentQuery {
        IncidentQuery {
            status: self.status,
            principal: self.principal.clone(),
            rule: self.rule.clone(),
            severity: self.severity,
            since: self.since,
            until: self.until,
        }
    }
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

pub fn parse_status(s: &str) -> Result<IncidentStatus, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_uppercase())).map_err(|_| {
        format!(
            "{s:?} is not a status; use one of open, awaiting_approval, contained, notified, \
             dismissed, closed, released, rejected, failed"
        )
    })
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
        .map_err(|_| format!("{s:?} is not a severity; use low, medium, high or critical"))
}

/// RFC 3339, a date (midnight UTC), or an age before now (`30m`, `24h`, `7d`, `2w`).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, Utc::now())
}

fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| {
        format!(
            "{s:?} is not a time; use RFC 3339, a date (2024-09-27) or an age (30m, 24h, 7d, 2w)"
        )
    })?;
    let age = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => {
            return Err(format!(
                "{s:?}: an age ends in m, h, d or w (30m, 24h, 7d, 2w)"
            ));
        }
    };
    Ok(now - age)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_operators_write_them() {
        let now = DateTime::parse_from_rfc3339("2024-09-27T14:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            parse_time("24h", now).expect("age"),
            now - Duration::hours(24)
        );
        assert_eq!(
            parse_time("2w", now).expect("age"),
            now - Duration::weeks(2)
        );
        assert_eq!(
            parse_time("2024-09-01", now).expect("date").to_rfc3339(),
            "2024-09-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday", now).is_err());
        assert_eq!(parse_status("contained"), Ok(IncidentStatus::Contained));
        assert_eq!(
            parse_status("awaiting_approval"),
            Ok(IncidentStatus::AwaitingApproval)
        );
        assert!(parse_status("gone").is_err());
        assert_eq!(parse_severity("HIGH"), Ok(Severity::High));
    }
}
