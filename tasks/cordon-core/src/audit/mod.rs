//! The scheduled MFA compliance audit (reference S3), as pure functions: the IAM
//! credential report read robustly ([`report`]), the findings per user ([`findings`]), and
//! the CloudWatch metrics in Embedded Metric Format ([`emf`]).
//!
//! The `cordon-mfa-audit` Lambda generates and fetches the report, calls these, prints
//! the EMF line and starts one incident execution per non-compliant user per day; the
//! finding reaches the workflow as an event of its own, which the classifier reads
//! (`classify/audit.rs`).
pub mod emf;
pub mod findings;
pub mod report;

pub use emf::{METRIC_NAMESPACE, MFA_FAILURES_METRIC, emf_document};
pub use findings::{AuditSettings, Finding, FindingKind, UserFinding, audit};
pub use report::{CredentialReport, KeyColumns, ROOT_USER, ReportError, ReportRow};
