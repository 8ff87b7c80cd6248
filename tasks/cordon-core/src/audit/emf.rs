//! The audit's metrics as one CloudWatch Embedded Metric Format (EMF) document: the line
//! the audit Lambda prints, from which CloudWatch Logs extracts `SecurityAudit/MFAFailures`
//! (the metric the template's alarm watches) and one metric per finding kind.
//!
//! Per the EMF specification: `_aws.Timestamp` in epoch milliseconds,
//! `_aws.CloudWatchMetrics` with one directive (namespace, one empty dimension set so the
//! metrics are published without dimensions, as the alarm names them, and the metric
//! definitions with unit `Count`), and every metric's value as a member of the root node.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::findings::{FindingKind, UserFinding};

/// The metrics' namespace.
pub const METRIC_NAMESPACE: &str = "SecurityAudit";
/// Users (root included) who can sign in without MFA: what the alarm watches.
pub const MFA_FAILURES_METRIC: &str = "MFAFailures";
/// Users the audit read.
pub const USERS_AUDITED_METRIC: &str = "UsersAudited";

/// The EMF document for one audit of `audited` report rows that found `findings`.
pub fn emf_document(findings: &[UserFinding], audited: usize, at: DateTime<Utc>) -> Value {
    let mut root = Map::new();
    let mut metrics = Vec::new();
    let mut put = |name: &str, value: usize| {
        metrics.push(json!({"Name": name, "Unit": "Count"}));
        root.insert(name.to_string(), json!(value));
    };
    put(
        MFA_FAILURES_METRIC,
        findings
            .iter()
            .filter(|f| f.findings.iter().any(|x| x.kind.is_mfa_failure()))
            .count(),
    );
    for kind in FindingKind::ALL {
        put(
            kind.metric(),
            findings
                .iter()
                .flat_map(|f| &f.findings)
                .filter(|x| x.kind == kind)
                .count(),
        );
    }
    put(USERS_AUDITED_METRIC, audited);
    root.insert(
        "_aws".to_string(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [[]],
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root)
}
