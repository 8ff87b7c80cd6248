//! The domain metrics of the record function, which sees every milestone of an incident:
//! incidents opened (per rule, and in all), and how incidents end the first time they are
//! closed (a retried close that changes nothing counts nothing): containments, responses
//! that failed and approvals rejected.
use chrono::{DateTime, Utc};
use cordon_core::metrics::{MetricsLine, NAMESPACE, dimension, metric};
use cordon_core::model::IncidentStatus;

use crate::{Outcome, Output};

/// `output`'s metrics, at `at`.
pub(crate) fn measure(output: &Output, at: DateTime<Utc>) -> Vec<MetricsLine> {
    let mut lines = Vec::new();
    match output {
        Output::Open(open) if open.outcome == Outcome::Opened && !open.replayed => {
            if let Some(detection) = &open.detection
                && let Ok(mut line) =
                    MetricsLine::new(NAMESPACE, at).dimension(dimension::RULE, &detection.rule)
            {
                let _ = line.count(metric::INCIDENTS_OPENED);
                lines.push(line);
            }
            let mut total = MetricsLine::new(NAMESPACE, at);
            let _ = total.count(metric::INCIDENTS_OPENED);
            lines.push(total);
        }
        Output::Close(close) if close.changed => {
            let name = match close.status {
                IncidentStatus::Contained => Some(metric::CONTAINMENTS),
                IncidentStatus::Failed => Some(metric::RESPONSE_FAILURES),
                IncidentStatus::Rejected => Some(metric::REJECTIONS),
                _ => None,
            };
            if let Some(name) = name {
                let mut line = MetricsLine::new(NAMESPACE, at);
                let _ = line.count(name);
                lines.push(line);
            }
        }
        _ => {}
    }
    lines
}
