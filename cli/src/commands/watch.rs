//! `cordon watch`: follows new incidents and their steps live, for the person on call.
//!
//! Every `--interval` it reads the incidents opened since the watch began (or `--since`)
//! through the by-month index, prints each new one, then every timeline entry not yet
//! printed of the incidents still in progress; a finished incident is followed until its
//! last entry is printed. `--output json` prints one JSON object per line (`{"type":
//! "incident", …}` and `{"type": "step", …}`); `--once` prints what there is and exits.
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args as ClapArgs;
use cordon_aws::IncidentQuery;
use cordon_aws::incidents::IncidentStore;
use serde::Serialize;

use super::incidents::view::IncidentSummary;
use super::{Context, Format};
use crate::errors;
use crate::output;
use crate::output::text::{opt_time, time};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Also show incidents opened this long before the watch began (same forms as
    /// `incidents list --since`); by default only new ones.
    #[arg(long, value_parser = super::incidents::parse_since)]
    pub since: Option<DateTime<Utc>>,
    /// Seconds between looks.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// Print what there is now and exit.
    #[arg(long)]
    pub once: bool,
}

/// One line of `watch --output json`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum WatchEvent<'a> {
    #[serde(rename_all = "camelCase")]
    Incident {
        #[serde(flatten)]
        incident: &'a IncidentSummary,
    },
    #[serde(rename_all = "camelCase")]
    Step {
        incident_id: &'a str,
        at: String,
        step: &'a str,
        message: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    Status {
        incident_id: &'a str,
        status: &'a str,
    },
}

fn emit(
    format: Format,
    event: &WatchEvent<'_>,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match format {
        Format::Json => output::line(&serde_json::to_string(event)?)?,
        Format::Table => output::line(&text())?,
    }
    Ok(())
}

/// What has been printed of one incident.
struct Followed {
    printed_steps: usize,
    status: String,
    done: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let settings = ctx.settings().await?;
    let table = settings.table()?;
    let aws = ctx.aws().await?;
    let listing = aws.incident_listing(table);
    let store = aws.incident_store(table);
    let format = ctx.format();
    let since = args.since.unwrap_or_else(Utc::now);
    if format == Format::Table {
        eprintln!(
            "cordon: watching incidents opened since {} in {table}; Ctrl-C stops",
            time(since)
        );
    }
    let query = IncidentQuery {
        since: Some(since),
        ..IncidentQuery::default()
    };
    let mut followed: BTreeMap<String, Followed> = BTreeMap::new();
    loop {
        // Oldest first, so the output reads in time order.
        let mut incidents = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = listing
                .page(&query, 200, token.as_deref(), Utc::now())
                .await
                .map_err(|e| errors::aws(e, "reading new incidents"))?;
            incidents.extend(page.incidents);
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        incidents.reverse();
        for record in &incidents {
            let summary = IncidentSummary::of(record);
            let entry = followed
                .entry(record.incident_id.clone())
                .or_insert_with(|| Followed {
                    printed_steps: 0,
                    status: String::new(),
                    done: false,
                });
            if entry.done {
                continue;
            }
            if entry.status.is_empty() {
                emit(format, &WatchEvent::Incident { incident: &summary }, || {
                    format!(
                        "{}  {}  {}  {}  {}  {}",
                        opt_time(summary.opened_at),
                        summary.incident_id,
                        summary.severity.as_deref().unwrap_or("-"),
                        summary.rule.as_deref().unwrap_or("-"),
                        summary.principal.as_deref().unwrap_or("-"),
                        summary.title.as_deref().unwrap_or("")
                    )
                })?;
            }
            let timeline = store
                .timeline(&record.incident_id)
                .await
                .map_err(|e| errors::aws(e, "reading a timeline"))?;
            for e in timeline.iter().skip(entry.printed_steps) {
                emit(
                    format,
                    &WatchEvent::Step {
                        incident_id: &record.incident_id,
                        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        step: &e.step,
                        message: &e.message,
                    },
                    || {
                        format!(
                            "  {}  {}  {:<16}{}",
                            time(e.at),
                            record.incident_id,
                            e.step,
                            e.message
                        )
                    },
                )?;
            }
            entry.printed_steps = timeline.len();
            if entry.status != summary.status {
                if !entry.status.is_empty() || record.closed_at.is_some() {
                    emit(
                        format,
                        &WatchEvent::Status {
                            incident_id: &record.incident_id,
                            status: &summary.status,
                        },
                        || format!("  {}  is now {}", record.incident_id, summary.status),
                    )?;
                }
                entry.status = summary.status.clone();
            }
            entry.done = record.closed_at.is_some();
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}
