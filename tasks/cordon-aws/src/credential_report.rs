//! The IAM credential report: `GenerateCredentialReport` and `GetCredentialReport`.
//!
//! IAM generates a report at most every four hours: generating while a report younger than
//! that exists answers `COMPLETE` and keeps it. Fetching answers the report, or one of
//! `ReportInProgress` (being generated), `ReportNotPresent` (none yet: generate one) and
//! `ReportExpired` (older than four hours: generate a new one), which this adapter turns
//! into [`Fetched`] so the audit can decide what to do. Throttling is
//! `Cordon.Transient`, as for every call.
use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::ReportStateType;
use chrono::{DateTime, Utc};
use cordon_core::TaskError;

use crate::error::{error_code, map_sdk_error};

/// What `GenerateCredentialReport` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// A new report is being generated.
    Started,
    InProgress,
    /// A report exists (at most four hours old).
    Complete,
    /// IAM refused to generate another report now (`LimitExceeded`): the account asked for
    /// reports too often. The last report, if one is still available, is all there is.
    Limited,
}

/// What `GetCredentialReport` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Report {
        csv: String,
        generated_at: Option<DateTime<Utc>>,
    },
    InProgress,
    NotPresent,
    Expired,
}

#[async_trait]
pub trait CredentialReports: Send + Sync {
    async fn generate(&self) -> Result<Generation, TaskError>;
    async fn fetch(&self) -> Result<Fetched, TaskError>;
}

/// [`CredentialReports`] over `aws-sdk-iam`.
#[derive(Debug, Clone)]
pub struct IamCredentialReports {
    client: Client,
}

impl IamCredentialReports {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl CredentialReports for IamCredentialReports {
    async fn generate(&self) -> Result<Generation, TaskError> {
        let out = match self.client.generate_credential_report().send().await {
            Ok(out) => out,
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("LimitExceeded" | "LimitExceededException")
                ) =>
            {
                return Ok(Generation::Limited);
            }
            Err(e) => return Err(map_sdk_error("iam:GenerateCredentialReport", e)),
        };
        Ok(match out.state() {
            Some(ReportStateType::Complete) => Generation::Complete,
            Some(ReportStateType::Inprogress) => Generation::InProgress,
            _ => Generation::Started,
        })
    }

    async fn fetch(&self) -> Result<Fetched, TaskError> {
        match self.client.get_credential_report().send().await {
            Ok(out) => {
                let csv = out
                    .content()
                    .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                    .unwrap_or_default();
                let generated_at = out
                    .generated_time()
                    .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
                Ok(Fetched::Report { csv, generated_at })
            }
            Err(e) => match error_code(&e) {
                Some("ReportInProgress") => Ok(Fetched::InProgress),
                Some("ReportNotPresent") => Ok(Fetched::NotPresent),
                Some("ReportExpired") => Ok(Fetched::Expired),
                _ => Err(map_sdk_error("iam:GetCredentialReport", e)),
            },
        }
    }
}
