//! `cordon incidents export --since … --format jsonl|csv [--rows incidents|timeline]`: one
//! row per incident, or per timeline entry, with stable columns ([`INCIDENT_COLUMNS`],
//! [`TIMELINE_COLUMNS`]; the README lists them). JSON Lines objects have exactly the CSV
//! columns as keys. Every value is text; empty means absent.
//!
//! CSV follows RFC 4180 (quoted when needed, CRLF line ends). A value that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`:
//! event data is written by whoever made the call, an attacker included.
use std::process::ExitCode;

use chrono::{SecondsFormat, Utc};
use clap::{Args as ClapArgs, ValueEnum};
use cordon_aws::incidents::{IncidentRecord, IncidentStore, TimelineEntry};

use super::filters::Filters;
use super::view::IncidentDetail;
use crate::commands::Context;
use crate::errors::{self, Problem};
use crate::output;
use crate::output::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header line.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rows {
    /// One row per incident.
    Incidents,
    /// One row per timeline entry.
    Timeline,
}

#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    #[command(flatten)]
    filters: Filters,
    #[arg(long, value_enum)]
    format: ExportFormat,
    #[arg(long, value_enum, default_value = "incidents")]
    rows: Rows,
}

/// The columns of `--rows incidents`, in order.
pub const INCIDENT_COLUMNS: &[&str] = &[
    "incident_id",
    "status",
    "severity",
    "disposition",
    "rule",
    "title",
    "principal",
    "actor",
    "event_name",
    "event_id",
    "source_ip",
    "opened_at",
    "updated_at",
    "closed_at",
    "approval_decision",
    "approved_by",
    "approved_by_verified",
    "approved_at",
    "released_by",
    "released_at",
    "execution_arn",
];

/// The columns of `--rows timeline`, in order.
pub const TIMELINE_COLUMNS: &[&str] = &["incident_id", "at", "step", "message", "details"];

fn ts(at: Option<chrono::DateTime<Utc>>) -> String {
    at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The row of `--rows incidents` for one incident, in [`INCIDENT_COLUMNS`] order.
pub fn incident_row(record: &IncidentRecord, timeline: &[TimelineEntry]) -> Vec<String> {
    let d = IncidentDetail::of(record, timeline.to_vec());
    let i = &d.incident;
    let det = d.detection.as_ref();
    let approval = d.approval.as_ref();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        i.incident_id.clone(),
        i.status.clone(),
        opt(&i.severity),
        opt(&i.disposition),
        opt(&i.rule),
        opt(&i.title),
        opt(&i.principal),
        opt(&i.actor),
        det.map(|d| d.event_name.clone()).unwrap_or_default(),
        det.map(|d| d.event_id.clone()).unwrap_or_default(),
        det.and_then(|d| d.source_ip.clone()).unwrap_or_default(),
        ts(i.opened_at),
        ts(i.updated_at),
        ts(i.closed_at),
        approval
            .map(|a| a.decision.as_str().to_string())
            .unwrap_or_default(),
        approval
            .map(|a| {
                a.decided_by
                    .verified
                    .as_ref()
                    .map(|v| v.display().to_string())
                    .or_else(|| a.decided_by.name.clone())
                    .unwrap_or_default()
            })
            .unwrap_or_default(),
        approval
            .map(|a| a.decided_by.verified.is_some().to_string())
            .unwrap_or_default(),
        ts(approval.map(|a| a.decided_at)),
        d.release
            .as_ref()
            .map(|r| r.released_by.display())
            .unwrap_or_default(),
        ts(d.release.as_ref().map(|r| r.released_at)),
        opt(&i.execution_arn),
    ]
}

/// The rows of `--rows timeline` for one incident, in [`TIMELINE_COLUMNS`] order.
pub fn timeline_rows(incident_id: &str, timeline: &[TimelineEntry]) -> Vec<Vec<String>> {
    timeline
        .iter()
        .map(|e| {
            vec![
                incident_id.to_string(),
                ts(Some(e.at)),
                e.step.clone(),
                e.message.clone(),
                e.details
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

/// One CSV field (RFC 4180), defused against spreadsheet formulas.
pub fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One row in `format`.
pub fn format_row(format: ExportFormat, columns: &[&str], row: &[String]) -> String {
    match format {
        ExportFormat::Csv => {
            let fields: Vec<String> = row.iter().map(|v| csv_field(v)).collect();
            format!("{}\r\n", fields.join(","))
        }
        ExportFormat::Jsonl => {
            let object: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            format!("{}\n", serde_json::Value::Object(object))
        }
    }
}

pub async fn run(args: ExportArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.filters.since.is_none() {
        return Err(Problem::new(
            "export needs --since",
            "pass --since with a time, a date or an age (--since 2024-09-01, --since 30d)",
        )
        .into());
    }
    let settings = ctx.settings().await?;
    let table = settings.table()?;
    let aws = ctx.aws().await?;
    let listing = aws.incident_listing(table);
    let store = aws.incident_store(table);
    let query = args.filters.query();
    let columns = match args.rows {
        Rows::Incidents => INCIDENT_COLUMNS,
        Rows::Timeline => TIMELINE_COLUMNS,
    };
    if args.format == ExportFormat::Csv {
        output::print(&format!("{}\r\n", columns.join(",")))?;
    }
    let mut progress = Progress::new();
    let mut token: Option<String> = None;
    let mut count = 0usize;
    // Every row is written as soon as it is read: an export of years streams.
    loop {
        let page = listing
            .page(&query, 100, token.as_deref(), Utc::now())
            .await
            .map_err(|e| errors::aws(e, "listing incidents for the export"))?;
        for record in &page.incidents {
            let timeline = store.timeline(&record.incident_id).await.map_err(|e| {
                errors::aws(
                    e,
                    &format!("reading the timeline of {}", record.incident_id),
                )
            })?;
            let rows = match args.rows {
                Rows::Incidents => vec![incident_row(record, &timeline)],
                Rows::Timeline => timeline_rows(&record.incident_id, &timeline),
            };
            for row in rows {
                output::print(&format_row(args.format, columns, &row))?;
            }
            count += 1;
            progress.update(&format!("cordon: exported {count} incident(s)…"));
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    progress.finish();
    eprintln!("cordon: exported {count} incident(s)");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn jsonl_objects_have_the_csv_columns() {
        let row = vec![
            "ct-1".to_string(),
            "2024-09-27T14:06:00.000Z".into(),
            "Open".into(),
            "opened".into(),
            String::new(),
        ];
        let line = format_row(ExportFormat::Jsonl, TIMELINE_COLUMNS, &row);
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, TIMELINE_COLUMNS);
        assert_eq!(v["details"], "");
    }
}
