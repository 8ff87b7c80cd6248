//! The enrich task: look up the target, assess the detection, store the assessment.
//!
//! - The target's IAM facts (user, tags, groups, policies, keys, MFA, login profile) when
//!   the principal is an IAM user with a name. A user that no longer exists is not an
//!   error: the assessment is made without facts (`principalExists: false`).
//! - Severity and disposition come from the response policy (`ResponsePolicy::assess`),
//!   which also checks the actor allowlist and whether the principal can be contained.
//! - For a role (or a session of one), the role: whether its sessions can be revoked.
//! - What the detection asks to read (`inspect.rs`): a customer-managed policy, a policy
//!   version or a group's policies, judged by what they grant.
//! - For containment undone outside Cordon, whether a `CONTAINED` incident holds the
//!   principal (then it is contained again).
//! - The assessment is stored on the incident item (severity, disposition, assessment).
use std::sync::Arc;

use cordon_aws::env::{self, Lookup};
use cordon_aws::identities::Identities;
use cordon_aws::incidents::{IncidentStore, TimelineEntry};
use cordon_aws::{Aws, Clock, IdentityStore, PolicyReader, RoleStore};
use cordon_core::metrics::{MetricsLine, NAMESPACE, dimension, metric};
use cordon_core::model::{
    Assessment, Detection, Disposition, Inspection, PrincipalKind, RoleFacts, UserFacts,
};
use cordon_core::policy::Facts;
use cordon_core::{ResponsePolicy, TaskError};
use serde::{Deserialize, Serialize};
use tracing::info;

mod inspect;

/// Environment of the enrich Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`.
    pub table_name: String,
    /// `CORDON_RESPONSE_POLICY` (inline JSON), else the default policy.
    pub policy: ResponsePolicy,
    /// Cordon's own roles (`CORDON_OWN_ROLE_ARNS`, comma-separated ARNs) and the policy's
    /// protected principals and allowlisted actors, resolved to unique ids at cold start
    /// (the function's own role among them).
    pub identities: Identities,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        let policy = env::response_policy(env)?;
        Ok(Self {
            table_name: env::table_name(env)?,
            identities: Identities::from_config(&cordon_aws::caller::own_role_arns(env)?, &policy)?,
            policy,
        })
    }
}

#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    pub roles: Arc<dyn RoleStore>,
    pub policies: Arc<dyn PolicyReader>,
    pub store: Arc<dyn IncidentStore>,
    pub policy: Arc<ResponsePolicy>,
    /// Resolved at cold start (`prepare`).
    pub identities: Identities,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main` and the local stack use); the identities
    /// are resolved when the function is prepared.
    pub fn build(config: Config, aws: &Aws, clock: Clock) -> Self {
        Self {
            identity: Arc::new(aws.identity_store()),
            roles: Arc::new(aws.role_store()),
            policies: Arc::new(aws.policy_reader()),
            store: Arc::new(aws.incident_store(config.table_name)),
            policy: Arc::new(config.policy),
            identities: config.identities,
            clock,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub incident_id: String,
    pub detection: Detection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub incident_id: String,
    /// `null` when the principal is not an IAM user, or no longer exists.
    pub facts: Option<UserFacts>,
    pub assessment: Assessment,
    /// `true` iff the principal is an IAM user that exists now (`facts` is set).
    pub principal_exists: bool,
    /// The role, when the principal is one of this account's roles (or a session of one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleFacts>,
    /// What was read for the detection's `inspect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
    /// From the response policy: how long an approval request waits.
    pub approval_timeout_seconds: u64,
    /// From the response policy: what happens when nobody answers (`auto`, `notify`,
    /// `ignore`).
    pub on_approval_timeout: Disposition,
    /// The rule of an incident assessed for the first time by this call (not a retry, not
    /// a replay's enrich): counted once in `IncidentsOpened` per rule and severity. Not
    /// part of the payload.
    #[serde(skip)]
    pub first_assessed: Option<String>,
}

pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    let id = input.incident_id.as_str();
    let d = &input.detection;
    let user_name = d
        .principal
        .as_ref()
        .filter(|p| p.kind == PrincipalKind::IamUser)
        .and_then(|p| p.name.as_deref())
        .filter(|n| !n.is_empty());
    let facts = match user_name {
        Some(name) => deps.identity.get_user_facts(name).await?,
        None => None,
    };
    let role = inspect::role(d, deps.roles.as_ref()).await?;
    let inspection = inspect::inspection(d, deps.policies.as_ref()).await?;
    let contained_by =
        inspect::contained_by(d, facts.as_ref(), role.as_ref(), deps.store.as_ref()).await?;
    let all = Facts {
        user: facts.as_ref(),
        role: role.as_ref(),
        inspection: inspection.as_ref(),
        contained_by: contained_by.as_deref(),
    };
    let assessment = deps.policy.assess_with(d, &all, &deps.identities.resolved);

    let now = (deps.clock)();
    let first = deps.store.save_assessment(id, &assessment, now).await?;
    deps.store
        .append(
            id,
            &TimelineEntry {
                at: now,
                step: "Enrich".into(),
                message: format!(
                    "severity {}, disposition {}{}",
                    assessment.severity.as_str(),
                    assessment.disposition.as_str(),
                    match (&user_name, &facts) {
                        (Some(n), None) => format!("; user {n} does not exist"),
                        _ => String::new(),
                    }
                ),
                details: Some(serde_json::json!({ "reasons": assessment.reasons })),
            },
        )
        .await?;
    info!(
        incident_id = %id,
        step = "enrich",
        outcome = assessment.disposition.as_str(),
        severity = assessment.severity.as_str(),
        principal_exists = facts.is_some(),
        actor_allowlisted = assessment.actor_allowlisted,
    );
    Ok(Output {
        incident_id: id.to_string(),
        principal_exists: facts.is_some(),
        role,
        inspection,
        facts,
        assessment,
        approval_timeout_seconds: deps.policy.approval_timeout_seconds,
        on_approval_timeout: deps.policy.on_approval_timeout,
        first_assessed: first.then(|| d.rule.clone()),
    })
}

/// Incidents opened, per rule and severity: counted by the first assessment, when the
/// severity is known (record counts them per rule, and in all, when it opens them).
fn measure(output: &Output, at: chrono::DateTime<chrono::Utc>) -> Vec<MetricsLine> {
    let Some(rule) = &output.first_assessed else {
        return Vec::new();
    };
    let line = MetricsLine::new(NAMESPACE, at)
        .dimension(dimension::RULE, rule)
        .and_then(|l| l.dimension(dimension::SEVERITY, output.assessment.severity.as_str()));
    match line {
        Ok(mut line) => {
            let _ = line.count(metric::INCIDENTS_OPENED);
            vec![line]
        }
        Err(_) => Vec::new(),
    }
}

cordon_aws::task_function! {
    deps: Deps,
    config: Config,
    input: Input,
    output: Output,
    handle: handle,
    identities: identities,
    measure: measure,
}
