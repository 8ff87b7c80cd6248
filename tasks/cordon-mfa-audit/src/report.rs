//! Getting a credential report IAM generated recently.
//!
//! IAM keeps one report per account and regenerates it at most every four hours:
//! `GenerateCredentialReport` answers `STARTED`, `INPROGRESS` or `COMPLETE` (a report
//! younger than four hours exists and is kept). `GetCredentialReport` answers the report,
//! or `ReportInProgress`, `ReportNotPresent` or `ReportExpired`. So:
//!
//! - generate, then fetch; while the report is in progress, wait [`Poll::delay`] and
//!   fetch again, at most [`Poll::attempts`] times;
//! - a report that is missing or expired when fetched (another caller's generation
//!   finished and aged, or the report was never made) is generated again, once;
//! - when IAM refuses another generation (`LimitExceeded`), the last report is used if it
//!   is still there, else the run fails as `Cordon.Transient` (the next run tries again);
//! - throttling is `Cordon.Transient` from the adapter, like every call.
use std::time::Duration;

use chrono::{DateTime, Utc};
use cordon_aws::credential_report::{CredentialReports, Fetched, Generation};
use cordon_core::TaskError;
use tracing::info;

/// How a run waits for a report being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// Fetches of a report in progress before giving up.
    pub attempts: u32,
    /// The wait between two of them.
    pub delay: Duration,
}

impl Default for Poll {
    /// Up to a minute: IAM generates a report in seconds for most accounts, and the
    /// template gives the function twice that.
    fn default() -> Self {
        Poll {
            attempts: 30,
            delay: Duration::from_secs(2),
        }
    }
}

/// The report's CSV and when IAM generated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub csv: String,
    pub generated_at: Option<DateTime<Utc>>,
}

/// A recently generated report (see the module docs).
pub async fn fetch_report(
    reports: &dyn CredentialReports,
    poll: Poll,
) -> Result<Report, TaskError> {
    let mut generation = reports.generate().await?;
    let mut regenerated = false;
    let mut waits = 0;
    loop {
        match reports.fetch().await? {
            Fetched::Report { csv, generated_at } => {
                info!(step = "mfa-audit", generation = ?generation, waits, "credential report read");
                return Ok(Report { csv, generated_at });
            }
            Fetched::InProgress => {
                if waits >= poll.attempts {
                    return Err(TaskError::transient(
                        "iam:GetCredentialReport",
                        format!(
                            "ReportInProgress: the credential report was still being generated \
                             after {waits} checks {:?} apart",
                            poll.delay
                        ),
                    ));
                }
                waits += 1;
                tokio::time::sleep(poll.delay).await;
            }
            missing @ (Fetched::NotPresent | Fetched::Expired) => {
                let what = if missing == Fetched::Expired {
                    "ReportExpired"
                } else {
                    "ReportNotPresent"
                };
                if generation == Generation::Limited {
                    return Err(TaskError::transient(
                        "iam:GenerateCredentialReport",
                        format!(
                            "LimitExceeded: IAM refused to generate a credential report now, \
                             and there is no recent one to read ({what})"
                        ),
                    ));
                }
                if regenerated {
                    return Err(TaskError::transient(
                        "iam:GetCredentialReport",
                        format!("{what}: no credential report after generating one twice"),
                    ));
                }
                regenerated = true;
                generation = reports.generate().await?;
            }
        }
    }
}
