//! The release task: restore a contained IAM user from the snapshot quarantine took
//! before it changed anything, and record who released it.
//!
//! 1. Load the incident and its snapshot. A missing incident, or one that was never
//!    contained (no snapshot), is refused with `Cordon.InvalidEvent`; an incident that is
//!    already `RELEASED` answers `alreadyReleased: true` and changes nothing.
//! 2. Detach the deny-all quarantine policy, unless the user had it before containment.
//! 3. Reactivate exactly the access keys that were `Active` in the snapshot and are
//!    `Inactive` now. A key that was inactive before, or was created after containment, is
//!    never activated.
//! 4. A console password deleted by remediation cannot be restored (that needs a new
//!    password): release reports it as a manual action instead of inventing one.
//! 5. Remove Cordon's tags, or put back the values the user had before containment.
//! 6. Append a `Release` timeline entry (who, when, why, what, drift) and mark the
//!    incident `RELEASED`.
//!
//! **Drift.** Anything that changed since containment (the user deleted or re-created,
//! keys deleted or created, policies, groups, inline policies or MFA devices changed, or
//! a newer incident holding the user) is reported in `drift`, and release does only the
//! part that is still safe. Release never re-grants access that someone removed after
//! containment and never fails as a whole because one part drifted.
//!
//! Every step is safe to run twice: each change is made only if the current state still
//! needs it, so a retried or repeated release converges on the same result.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use cordon_aws::env::{self, Lookup};
use cordon_aws::store::{IncidentStore, TimelineEntry};
use cordon_aws::{Clock, DynamoIncidentStore, IamIdentityStore, IdentityStore};
use cordon_core::model::{IncidentStatus, KeyStatus, Snapshot, UserFacts};
use cordon_core::quarantine::QUARANTINE_POLICY_NAME;
use cordon_core::{TaskError, tags};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::info;

/// The timeline step release writes (and reads, to report an earlier release).
pub const RELEASE_STEP: &str = "Release";
/// The timeline step quarantine writes; its `details.policyArn` names the policy it attached.
pub const QUARANTINE_STEP: &str = "Quarantine";

/// Environment of the release Lambda (and of `cordon release`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `CORDON_TABLE_NAME`: the incident table.
    pub table_name: String,
    /// `CORDON_QUARANTINE_POLICY_ARN`: the deny-all policy, used when the incident's
    /// timeline does not name the policy quarantine attached.
    pub quarantine_policy_arn: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, TaskError> {
        Self::from_lookup(&env::process_env)
    }

    pub fn from_lookup(env: Lookup<'_>) -> Result<Self, TaskError> {
        Ok(Self {
            table_name: env::required(env, "CORDON_TABLE_NAME", "the incident table's name")?,
            quarantine_policy_arn: env::optional(env, "CORDON_QUARANTINE_POLICY_ARN"),
        })
    }
}

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub identity: Arc<dyn IdentityStore>,
    pub store: Arc<dyn IncidentStore>,
    pub quarantine_policy_arn: Option<String>,
    pub clock: Clock,
}

impl Deps {
    /// The SDK-backed dependencies (what `main`, the CLI and the local stack use).
    pub fn build(config: Config, sdk: &aws_config::SdkConfig, clock: Clock) -> Self {
        Self {
            identity: Arc::new(IamIdentityStore::from_conf(sdk)),
            store: Arc::new(DynamoIncidentStore::from_conf(sdk, config.table_name)),
            quarantine_policy_arn: config.quarantine_policy_arn,
            clock,
        }
    }
}

/// How the release was requested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseVia {
    /// `cordon release`.
    Cli,
    /// The approval page's "release" action.
    ApprovalLink,
    /// A direct invocation of the release Lambda.
    #[default]
    Lambda,
}

impl ReleaseVia {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseVia::Cli => "cli",
            ReleaseVia::ApprovalLink => "approval-link",
            ReleaseVia::Lambda => "lambda",
        }
    }
}

/// Who asked for the release (recorded on the timeline and the incident item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedBy {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub via: ReleaseVia,
}

impl ReleasedBy {
    /// "alice (cli)", "unknown (lambda)".
    pub fn display(&self) -> String {
        let name = self
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("unknown");
        format!("{name} ({})", self.via.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInput {
    pub incident_id: String,
    #[serde(default)]
    pub released_by: ReleasedBy,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The Lambda payload is a [`ReleaseInput`].
pub type Input = ReleaseInput;
/// The Lambda result is a [`ReleaseOutput`].
pub type Output = ReleaseOutput;

/// What this run changed on the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// The quarantine policy this run detached.
    pub policy_detached: Option<String>,
    /// Keys this run set back to `Active` (they were `Active` in the snapshot).
    pub reactivated_keys: Vec<String>,
    /// Cordon tag keys this run removed (the user did not have them before).
    pub tags_removed: Vec<String>,
    /// Cordon tag keys this run set back to their pre-containment values.
    pub tags_restored: BTreeMap<String, String>,
}

impl Restored {
    pub fn is_empty(&self) -> bool {
        self.policy_detached.is_none()
            && self.reactivated_keys.is_empty()
            && self.tags_removed.is_empty()
            && self.tags_restored.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseOutput {
    pub incident_id: String,
    /// The contained user (from the snapshot), when known.
    pub user_name: Option<String>,
    /// The incident was already `RELEASED`; nothing was changed.
    pub already_released: bool,
    /// When the incident was released (this run, or the earlier release if known).
    pub released_at: Option<DateTime<Utc>>,
    /// Who released it (for `alreadyReleased`, the earlier release's record if known).
    pub released_by: ReleasedBy,
    pub reason: Option<String>,
    /// The user no longer exists: nothing could be restored.
    pub user_deleted: bool,
    pub restored: Restored,
    /// Human-readable list of what this run did.
    pub actions_taken: Vec<String>,
    /// What an operator must still do by hand, e.g. set a new console password.
    pub manual_actions: Vec<String>,
    /// What changed on the user since containment (one human-readable finding each).
    pub drift: Vec<String>,
}

impl ReleaseOutput {
    fn new(input: &ReleaseInput, user_name: Option<String>) -> Self {
        Self {
            incident_id: input.incident_id.clone(),
            user_name,
            already_released: false,
            released_at: None,
            released_by: input.released_by.clone(),
            reason: input.reason.clone(),
            user_deleted: false,
            restored: Restored::default(),
            actions_taken: Vec::new(),
            manual_actions: Vec::new(),
            drift: Vec::new(),
        }
    }

    /// A multi-line, human-readable summary (what the CLI prints).
    pub fn summary(&self) -> String {
        let user = self.user_name.as_deref().unwrap_or("(unknown user)");
        let mut out = String::new();
        if self.already_released {
            out.push_str(&format!(
                "incident {} was already released{}{}; nothing changed\n",
                self.incident_id,
                self.released_at
                    .map(|t| format!(" at {}", t.to_rfc3339_opts(SecondsFormat::Secs, true)))
                    .unwrap_or_default(),
                self.released_by
                    .name
                    .as_deref()
                    .map(|n| format!(" by {n}"))
                    .unwrap_or_default(),
            ));
            return out;
        }
        out.push_str(&format!(
            "released {user} (incident {}) by {}",
            self.incident_id,
            self.released_by.display()
        ));
        if let Some(at) = self.released_at {
            out.push_str(&format!(
                " at {}",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
        }
        out.push('\n');
        if let Some(reason) = &self.reason {
            out.push_str(&format!("reason: {reason}\n"));
        }
        let section = |out: &mut String, title: &str, lines: &[String]| {
            if !lines.is_empty() {
                out.push_str(title);
                out.push('\n');
                for l in lines {
                    out.push_str(&format!("  - {l}\n"));
                }
            }
        };
        if self.actions_taken.is_empty() {
            out.push_str("restored: nothing needed restoring\n");
        }
        section(&mut out, "restored:", &self.actions_taken);
        section(&mut out, "still to do by hand:", &self.manual_actions);
        section(&mut out, "drift since containment:", &self.drift);
        out
    }
}

/// Lambda entry point: same as [`release`].
pub async fn handle(input: Input, deps: &Deps) -> Result<Output, TaskError> {
    release(input, deps).await
}

/// Restore the incident's principal from its pre-containment snapshot. See the crate docs.
pub async fn release(input: ReleaseInput, deps: &Deps) -> Result<ReleaseOutput, TaskError> {
    let id = input.incident_id.trim().to_string();
    if id.is_empty() {
        return Err(TaskError::invalid(
            "incidentId",
            "is empty; pass the id of the incident to release",
        ));
    }

    // a. The incident and its snapshot.
    let record = deps.store.get(&id).await?.ok_or_else(|| {
        TaskError::invalid(
            "incidentId",
            format!("names no recorded incident ({id}); check the id and the table name"),
        )
    })?;
    let snapshot: Option<Snapshot> = match &record.snapshot {
        None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            TaskError::invalid(
                "snapshot",
                format!(
                    "the stored snapshot of incident {id} is not a quarantine snapshot ({e}); \
                     inspect the incident item and restore the user by hand"
                ),
            )
        })?),
    };
    let user_name = snapshot.as_ref().map(|s| s.user_name.clone());
    let mut out = ReleaseOutput::new(&input, user_name);
    out.incident_id = id.clone();

    if record.status == IncidentStatus::Released {
        let earlier = deps
            .store
            .timeline(&id)
            .await?
            .into_iter()
            .rfind(|e| e.step == RELEASE_STEP);
        out.already_released = true;
        if let Some(entry) = earlier {
            out.released_at = Some(entry.at);
            if let Some(by) = entry
                .details
                .as_ref()
                .and_then(|d| d.get("releasedBy"))
                .and_then(|b| serde_json::from_value(b.clone()).ok())
            {
                out.released_by = by;
            }
        }
        info!(incident_id = %id, step = "release", outcome = "already_released");
        return Ok(out);
    }
    let Some(snapshot) = snapshot else {
        return Err(TaskError::invalid(
            "incidentId",
            format!(
                "incident {id} was never contained (it has no pre-containment snapshot, status \
                 {}), so there is nothing to release",
                record.status.as_str()
            ),
        ));
    };

    let now = (deps.clock)();
    out.released_at = Some(now);
    let user = snapshot.user_name.clone();
    match deps.identity.get_user_facts(&user).await? {
        None => {
            out.user_deleted = true;
            out.drift.push(format!(
                "user {user} no longer exists (deleted after containment); nothing to restore"
            ));
        }
        Some(facts) if recreated(&facts, &snapshot) => {
            out.drift.push(format!(
                "user {user} was deleted and re-created after containment (created {}); it is \
                 a different identity, so nothing was restored",
                facts
                    .created
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "recently".into())
            ));
        }
        Some(facts) => {
            if let Some(other) = held_by_other_incident(&facts, &snapshot, &id) {
                out.drift.push(format!(
                    "user {user} is now held by another incident ({} = {other}); nothing was \
                     restored, so that containment stays in force: release {other} instead",
                    tags::INCIDENT
                ));
            } else {
                let policy_arn = quarantine_policy_arn(deps, &id, &facts).await?;
                restore(&facts, &snapshot, policy_arn.as_deref(), deps, &mut out).await?;
            }
        }
    }

    // f. Who, when, what: the timeline first, then the status (a crash in between leaves
    // the incident releasable, and a re-run converges).
    let release_record = json!({
        "releasedAt": now,
        "releasedBy": out.released_by,
        "reason": out.reason,
        "userDeleted": out.user_deleted,
        "restored": out.restored,
        "manualActions": out.manual_actions,
        "drift": out.drift,
    });
    deps.store
        .append(
            &id,
            &TimelineEntry {
                at: now,
                step: RELEASE_STEP.into(),
                message: timeline_message(&out, &user),
                details: Some(release_record.clone()),
            },
        )
        .await?;
    let marked = deps.store.mark_released(&id, &release_record, now).await?;
    info!(
        incident_id = %id,
        step = "release",
        outcome = if marked { "released" } else { "released_concurrently" },
        user = %user,
        via = out.released_by.via.as_str(),
        reactivated_keys = out.restored.reactivated_keys.len(),
        policy_detached = out.restored.policy_detached.is_some(),
        drift = out.drift.len(),
    );
    Ok(out)
}

fn timeline_message(out: &ReleaseOutput, user: &str) -> String {
    let mut msg = format!("released {user} (by {})", out.released_by.display());
    if out.actions_taken.is_empty() {
        msg.push_str(": nothing needed restoring");
    } else {
        msg.push_str(&format!(": {}", out.actions_taken.join("; ")));
    }
    if !out.manual_actions.is_empty() {
        msg.push_str(&format!("; manual: {}", out.manual_actions.join("; ")));
    }
    if !out.drift.is_empty() {
        msg.push_str(&format!("; drift: {}", out.drift.join("; ")));
    }
    msg
}

/// The user was created after the snapshot: same name, different identity.
fn recreated(facts: &UserFacts, snapshot: &Snapshot) -> bool {
    facts.created.is_some_and(|c| c > snapshot.taken_at)
}

/// The `CordonIncident` tag names a different incident than this one, and not the value the
/// user had before this containment: a newer containment holds the user.
fn held_by_other_incident(facts: &UserFacts, snapshot: &Snapshot, id: &str) -> Option<String> {
    let current = facts.tags.get(tags::INCIDENT)?;
    let ours = tags::sanitize_tag_value(id);
    let prior = snapshot.cordon_tags.get(tags::INCIDENT);
    (*current != ours && Some(current) != prior).then(|| current.clone())
}

/// The policy quarantine attached: the one its timeline entry recorded, else
/// `CORDON_QUARANTINE_POLICY_ARN`, else an attached policy named like Cordon's.
async fn quarantine_policy_arn(
    deps: &Deps,
    id: &str,
    facts: &UserFacts,
) -> Result<Option<String>, TaskError> {
    let recorded = deps
        .store
        .timeline(id)
        .await?
        .into_iter()
        .filter(|e| e.step == QUARANTINE_STEP)
        .find_map(|e| {
            e.details
                .as_ref()
                .and_then(|d| d.get("policyArn"))
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
        });
    Ok(recorded
        .or_else(|| deps.quarantine_policy_arn.clone())
        .or_else(|| {
            facts
                .attached_policies
                .iter()
                .find(|p| p.name == QUARANTINE_POLICY_NAME)
                .map(|p| p.arn.clone())
        }))
}

/// The user or the key disappeared between reading and writing.
fn vanished(e: &TaskError) -> bool {
    match e {
        TaskError::PrincipalNotFound(_) => true,
        TaskError::Aws { code, .. } => code == "NoSuchEntity",
        _ => false,
    }
}

/// Steps b–e on a user that still exists, plus the drift report.
async fn restore(
    facts: &UserFacts,
    snap: &Snapshot,
    policy_arn: Option<&str>,
    deps: &Deps,
    out: &mut ReleaseOutput,
) -> Result<(), TaskError> {
    let user = snap.user_name.as_str();

    // b. The quarantine policy, unless the user had it before containment.
    match policy_arn {
        None => out.manual_actions.push(format!(
            "could not tell which quarantine policy was attached (no Quarantine timeline entry, \
             CORDON_QUARANTINE_POLICY_ARN unset, no {QUARANTINE_POLICY_NAME} attached): check \
             {user}'s attached policies"
        )),
        Some(arn) if snap.attached_policy_arns.iter().any(|a| a == arn) => {
            out.actions_taken.push(format!(
                "left {arn} attached: it was attached before containment"
            ));
        }
        Some(arn) => {
            if facts.attached_policies.iter().any(|p| p.arn == arn) {
                match deps.identity.detach_user_policy(user, arn).await {
                    Ok(true) => {
                        out.restored.policy_detached = Some(arn.to_string());
                        out.actions_taken
                            .push(format!("detached the quarantine policy {arn}"));
                    }
                    Ok(false) => {}
                    Err(e) if vanished(&e) => out.drift.push(format!(
                        "user {user} disappeared while the quarantine policy was being detached"
                    )),
                    Err(e) => return Err(e),
                }
            }
        }
    }

    // c. Keys: reactivate exactly those that were Active before and are Inactive now.
    let current: BTreeMap<&str, KeyStatus> = facts
        .access_keys
        .iter()
        .map(|k| (k.id.as_str(), k.status))
        .collect();
    for key in &snap.active_access_key_ids {
        match current.get(key.as_str()) {
            None => out.drift.push(format!(
                "access key {key} (active before containment) no longer exists; skipped"
            )),
            Some(KeyStatus::Active) => {}
            Some(KeyStatus::Inactive) => {
                match deps
                    .identity
                    .set_access_key_status(user, key, KeyStatus::Active)
                    .await
                {
                    Ok(()) => {
                        out.restored.reactivated_keys.push(key.clone());
                        out.actions_taken
                            .push(format!("reactivated access key {key}"));
                    }
                    Err(e) if vanished(&e) => out.drift.push(format!(
                        "access key {key} (active before containment) disappeared during \
                         release; skipped"
                    )),
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for key in &snap.inactive_access_key_ids {
        match current.get(key.as_str()) {
            None => out.drift.push(format!(
                "access key {key} (inactive before containment) was deleted since"
            )),
            Some(KeyStatus::Active) => out.drift.push(format!(
                "access key {key} was inactive before containment but is active now; left as \
                 it is: review it"
            )),
            Some(KeyStatus::Inactive) => {}
        }
    }
    let known: BTreeSet<&str> = snap
        .active_access_key_ids
        .iter()
        .chain(&snap.inactive_access_key_ids)
        .map(String::as_str)
        .collect();
    for k in facts
        .access_keys
        .iter()
        .filter(|k| !known.contains(k.id.as_str()))
    {
        out.drift.push(format!(
            "access key {} was created after containment ({}); left as it is, never activated \
             by release",
            k.id,
            match k.status {
                KeyStatus::Active => "active",
                KeyStatus::Inactive => "inactive",
            }
        ));
    }

    // d. The console password cannot be restored without a password.
    if snap.login_profile && !facts.login_profile {
        out.manual_actions.push(format!(
            "needs manual action: create a new console password for {user} (the login profile \
             was deleted during containment and cannot be restored without a password)"
        ));
    } else if !snap.login_profile && facts.login_profile {
        out.drift.push(format!(
            "a console password was created for {user} after containment"
        ));
    }

    // e. Cordon's tags: remove them, or restore the values the user had before.
    let mut remove = Vec::new();
    let mut restore_tags = BTreeMap::new();
    for key in tags::TAG_KEYS {
        match snap.cordon_tags.get(*key) {
            Some(prior) if facts.tags.get(*key) != Some(prior) => {
                restore_tags.insert((*key).to_string(), prior.clone());
            }
            Some(_) => {}
            None if facts.tags.contains_key(*key) => remove.push((*key).to_string()),
            None => {}
        }
    }
    if !remove.is_empty() {
        match deps.identity.untag_user(user, &remove).await {
            Ok(()) => {
                out.actions_taken
                    .push(format!("removed tags {}", remove.join(", ")));
                out.restored.tags_removed = remove;
            }
            Err(e) if vanished(&e) => out.drift.push(format!(
                "user {user} disappeared while its tags were being removed"
            )),
            Err(e) => return Err(e),
        }
    }
    if !restore_tags.is_empty() {
        match deps.identity.tag_user(user, &restore_tags).await {
            Ok(()) => {
                out.actions_taken.push(format!(
                    "restored tags {}",
                    restore_tags
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                out.restored.tags_restored = restore_tags;
            }
            Err(e) if vanished(&e) => out.drift.push(format!(
                "user {user} disappeared while its tags were being restored"
            )),
            Err(e) => return Err(e),
        }
    }

    // Drift in what Cordon did not change: reported, never "fixed" (release does not
    // re-grant access someone removed during the investigation).
    let quarantine_added = policy_arn.filter(|a| !snap.attached_policy_arns.iter().any(|p| p == a));
    let now_policies: Vec<String> = facts
        .attached_policies
        .iter()
        .map(|p| p.arn.clone())
        .filter(|a| Some(a.as_str()) != quarantine_added)
        .collect();
    let before_policies: Vec<String> = snap
        .attached_policy_arns
        .iter()
        .filter(|a| Some(a.as_str()) != quarantine_added)
        .cloned()
        .collect();
    diff(
        &mut out.drift,
        &before_policies,
        &now_policies,
        "managed policy",
        "attached",
    );
    diff(
        &mut out.drift,
        &snap.inline_policies,
        &facts.inline_policies,
        "inline policy",
        "present",
    );
    diff(
        &mut out.drift,
        &snap.groups,
        &facts.groups,
        "group membership",
        "present",
    );
    diff(
        &mut out.drift,
        &snap.mfa_devices,
        &facts.mfa_devices,
        "MFA device",
        "present",
    );
    Ok(())
}

/// One finding per item added or removed since containment.
fn diff(drift: &mut Vec<String>, before: &[String], now: &[String], what: &str, state: &str) {
    let before: BTreeSet<&str> = before.iter().map(String::as_str).collect();
    let now: BTreeSet<&str> = now.iter().map(String::as_str).collect();
    for gone in before.difference(&now) {
        drift.push(format!(
            "{what} {gone} ({state} before containment) is gone; not put back by release"
        ));
    }
    for new in now.difference(&before) {
        drift.push(format!(
            "{what} {new} is new since containment; left as it is"
        ));
    }
}

/// Release with the SDK-backed dependencies configured from the process environment
/// (`CORDON_TABLE_NAME`, `CORDON_QUARANTINE_POLICY_ARN`, `AWS_ENDPOINT_URL`, …): what
/// `cordon release` runs.
pub async fn release_from_env(input: ReleaseInput) -> Result<ReleaseOutput, TaskError> {
    let config = Config::from_env()?;
    let sdk = cordon_aws::load_sdk_config().await;
    let deps = Deps::build(config, &sdk, cordon_aws::system_clock());
    release(input, &deps).await
}
