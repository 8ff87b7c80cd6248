//! The scheduled MFA compliance audit (reference S3). An EventBridge schedule in
//! `infra/template.yaml` invokes it (daily by default); each run:
//!
//! 1. gets a fresh IAM credential report (`report.rs`: generate, poll while it is in
//!    progress, regenerate an expired one, fall back to the last report when IAM refuses
//!    another generation);
//! 2. reads it robustly and finds, per user, what is not compliant
//!    (`cordon_core::audit`): console users without MFA, root without MFA or with an
//!    active access key, and, when the response policy sets the limits, active access keys
//!    too old or unused too long;
//! 3. prints one CloudWatch Embedded Metric Format line: `SecurityAudit/MFAFailures` (the
//!    metric the template's alarm watches) and one metric per finding kind;
//! 4. starts one incident execution per non-compliant user per day, named by the
//!    incident id (`cordon_core::incident::incident_id_for_audit`), with the finding as its
//!    input: the same workflow as every other incident. A second run on the same day finds
//!    the execution (and the incident) already there and opens nothing new.
//!
//! A report that cannot be read at all is an error (the schedule retries, the alarm on
//! failed invocations tells the team); rows that cannot be read are logged and skipped.
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::executions::Start;
use cordon_aws::{Aws, Clock, CredentialReports, IncidentExecutions};
use cordon_core::audit::{AuditSettings, CredentialReport, audit, emf_document};
use cordon_core::classify::finding_event;
use cordon_core::model::AccountId;
use cordon_core::{TaskError, incident};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

mod report;

pub use report::{Poll, Report, fetch_report};

/// Environment of the MFA audit Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_STATE_MACHINE_ARN`: the incident state machine the findings start.
    pub state_machine_arn: String,
    /// `CORDON_ACCOUNT_ID`: the account audited (and the findings' home account).
    pub account: AccountId,
    /// The Region of the state machine (from its ARN): the findings' `region`.
    pub region: String,
    /// The optional access-key limits, from `CORDON_RESPONSE_POLICY`.
    pub settings: AuditSettings,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let state_machine_arn = env::required(
            env,
            "CORDON_STATE_MACHINE_ARN",
            "the ARN of the incident state machine (the template sets it)",
        )?;
        let region = region_of(&state_machine_arn).ok_or_else(|| {
            TaskError::Config(format!(
                "CORDON_STATE_MACHINE_ARN {state_machine_arn:?} is not a state machine ARN \
                 (arn:<partition>:states:<region>:<account>:stateMachine:<name>)"
            ))
        })?;
        let account = env::home_account(env)?;
        Ok(Self {
            state_machine_arn,
            account,
            region,
            settings: env::response_policy(env)?.audit_settings(),
        })
    }
}

/// The Region of a state machine ARN.
fn region_of(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", region, _, "stateMachine", name]
            if !region.is_empty() && !name.is_empty() =>
        {
            Some(region.to_string())
        }
        _ => None,
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub reports: Arc<dyn CredentialReports>,
    pub executions: Arc<dyn IncidentExecutions>,
    pub account: AccountId,
    pub region: String,
    pub settings: AuditSettings,
    pub poll: Poll,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use).
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            reports: Arc::new(aws.credential_reports()),
            executions: Arc::new(aws.incident_executions(config.state_machine_arn)),
            account: config.account,
            region: config.region,
            settings: config.settings,
            poll: Poll::default(),
            clock,
        }
    }
}

/// The schedule's event (an EventBridge "Scheduled Event"); only its time is used, and
/// any other input (a manual test invocation with `{}`) runs the audit just the same.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Input {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub audit_day: NaiveDate,
    pub report_generated_at: DateTime<Utc>,
    /// Report rows read (root included).
    pub users_audited: usize,
    /// Rows that could not be read (skipped).
    pub unreadable_rows: Vec<String>,
    /// Non-compliant users (root included).
    pub non_compliant: usize,
    /// Users (root included) who can sign in without MFA: `SecurityAudit/MFAFailures`.
    pub mfa_failures: usize,
    /// Incidents opened by this run.
    pub opened: Vec<String>,
    /// Incidents already opened today (an earlier run).
    pub already_open: Vec<String>,
    /// The Embedded Metric Format document this run printed (one line on stdout, from
    /// which CloudWatch Logs extracts the metrics).
    pub metrics: serde_json::Value,
}

pub async fn handle(_input: Input, deps: &Deps) -> Result<Output, TaskError> {
    let now = (deps.clock)();
    let fetched = fetch_report(deps.reports.as_ref(), deps.poll).await?;
    let report = CredentialReport::parse(&fetched.csv).map_err(|e| TaskError::Aws {
        operation: "iam:GetCredentialReport".into(),
        code: "UnreadableReport".into(),
        message: e.to_string(),
    })?;
    for problem in &report.problems {
        warn!(step = "mfa-audit", problem = %problem, "a credential report row was skipped");
    }
    let generated_at = fetched.generated_at.unwrap_or(now);
    let findings = audit(&report, deps.settings, generated_at, now);

    // The metrics first: they are the audit's record even if an execution cannot start.
    let emf = emf_document(&findings, report.rows.len(), now);
    println!("{emf}");
    let mfa_failures = emf
        .get(cordon_core::audit::MFA_FAILURES_METRIC)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_default() as usize;

    let mut opened = Vec::new();
    let mut already_open = Vec::new();
    for finding in &findings {
        let id = incident::incident_id_for_audit(&finding.user, finding.audit_day);
        let event = finding_event(finding, &deps.account, &deps.region);
        match deps.executions.start(&id, &event).await? {
            Start::Started { execution_arn } => {
                info!(step = "mfa-audit", incident_id = %id, execution = %execution_arn, outcome = "opened");
                opened.push(id);
            }
            Start::AlreadyExists => {
                info!(step = "mfa-audit", incident_id = %id, outcome = "already_open");
                already_open.push(id);
            }
        }
    }
    info!(
        step = "mfa-audit",
        users = report.rows.len(),
        non_compliant = findings.len(),
        mfa_failures,
        opened = opened.len(),
        outcome = "audited",
    );
    Ok(Output {
        audit_day: now.date_naive(),
        report_generated_at: generated_at,
        users_audited: report.rows.len(),
        unreadable_rows: report.problems.clone(),
        non_compliant: findings.len(),
        mfa_failures,
        opened,
        already_open,
        metrics: emf,
    })
}

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
}
