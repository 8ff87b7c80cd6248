//! What a scenario is, and running one: really perform the attack against the AWS APIs at
//! `AWS_ENDPOINT_URL` (the emulator), then put its CloudTrail events to `cordon local up`.
//!
//! A scenario is split in two so that its events can be checked without an emulator: the
//! `perform` step makes the real calls and returns what they created ([`Target`]); the
//! `events` step builds the CloudTrail records from it ([`Story`]). Calls the emulator
//! cannot serve (console sign-ins have no API; the CLI speaks no CloudTrail; Cordon's own
//! rules and executions live in the local stack, not the emulator) have no `perform`:
//! only their events are delivered, and `cordon simulate --list` says so.
use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use chrono::Utc;
use cordon_core::classify::{Classification, Home, classify_in};
use cordon_core::failures::is_counted_failure;
use cordon_core::model::AccountId;
use serde_json::Value;

use super::attacker::{Attacker, compromised_jdoe};
use super::cloudtrail::Story;
use super::deliver::{Delivery, deliver};
use crate::local::{LOCAL_ACCOUNT, LOCAL_STACK_NAME};

/// The real calls of a scenario, in flight.
pub type Pending<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Target>> + Send + 'a>>;

/// The longest session a role the attacker creates allows (IAM's maximum), in seconds.
pub const MAX_SESSION_SECONDS: i32 = 43200;

/// One attack `cordon simulate` can perform.
pub struct Scenario {
    /// `cordon simulate <name>`.
    pub name: &'static str,
    /// What the attacker does, for `--list`.
    pub description: &'static str,
    /// The rule id (`cordon_core::classify::rules`) its events raise.
    pub rule: &'static str,
    /// The real calls against the emulator; `None` when the call has no API the emulator
    /// serves and only the events are delivered.
    pub perform: Option<for<'a> fn(&'a Lab) -> Pending<'a>>,
    /// The CloudTrail events of the attack, from what `perform` created.
    pub events: fn(&Story, &Target) -> Vec<Value>,
}

/// Where the real calls go, and how the scenario names what it creates.
pub struct Lab {
    pub iam: aws_sdk_iam::Client,
    pub account: String,
    /// Appended to every name a run creates, so that a scenario can run again.
    pub suffix: String,
}

impl Lab {
    /// `<base>-<suffix>`.
    pub fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.suffix)
    }

    /// Really creates the IAM user `<base>-<suffix>`.
    pub async fn user(&self, base: &str) -> anyhow::Result<Target> {
        let name = self.name(base);
        let user = self
            .iam
            .create_user()
            .user_name(&name)
            .send()
            .await
            .with_context(|| format!("creating the user {name}"))?
            .user
            .context("IAM returned no user")?;
        Ok(Target {
            name: user.user_name,
            id: user.user_id,
            ..Target::default()
        })
    }

    /// Really creates the role `<base>-<suffix>` that `trust` (a trust policy) may assume,
    /// for sessions of up to twelve hours.
    pub async fn role(&self, base: &str, trust: &str) -> anyhow::Result<Target> {
        let name = self.name(base);
        let role = self
            .iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust)
            .max_session_duration(MAX_SESSION_SECONDS)
            .send()
            .await
            .with_context(|| format!("creating the role {name}"))?
            .role
            .context("IAM returned no role")?;
        Ok(Target {
            name,
            id: role.role_id,
            ..Target::default()
        })
    }

    /// Really creates the IAM user `<base>-<suffix>` with a console password (no MFA).
    pub async fn console_user(&self, base: &str) -> anyhow::Result<Target> {
        let user = self.user(base).await?;
        self.iam
            .create_login_profile()
            .user_name(&user.name)
            .password(format!("Sim-{}-Passw0rd!", self.suffix))
            .send()
            .await
            .with_context(|| format!("giving {} a console password", user.name))?;
        Ok(user)
    }
}

/// What the real calls created, which the events name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The IAM user, role, group, policy or identity provider the attack is about (an
    /// identity provider by its host). Empty when the scenario creates nothing.
    pub name: String,
    /// Its IAM unique id, when it has one.
    pub id: String,
    /// The access key the attack minted.
    pub key_id: Option<String>,
    /// More users the attack is about, `(name, unique id)`: a password spray's victims.
    pub also: Vec<(String, String)>,
}

impl Target {
    /// A target as the emulator could have returned it, for checking events offline.
    pub fn example() -> Target {
        Target {
            name: "sim-target-0a1b2c3d".into(),
            id: "AIDAS6N9IR1JRT0EET1YF".into(),
            key_id: Some("AKIAFQ4M9SQQNHWCNU2X".into()),
            also: (1..5)
                .map(|i| {
                    (
                        format!("sim-target-{i}-0a1b2c3d"),
                        format!("AIDAS6N9IR1JRT0EET1Y{i}"),
                    )
                })
                .collect(),
        }
    }
}

/// What `cordon simulate <scenario>` did.
#[derive(Debug, Clone)]
pub struct Simulated {
    pub scenario: &'static str,
    pub rule: &'static str,
    pub attacker: Attacker,
    pub target: Target,
    /// The id PutEvents gave each event, in order.
    pub event_ids: Vec<String>,
    /// What the local stack's classifier decides on each event that is an incident.
    pub incidents: Vec<Opened>,
    /// Whether real calls were made (`false`: the events alone were delivered).
    pub performed: bool,
}

/// Runs `scenario`: the compromised `jdoe` performs it against the AWS APIs at
/// `AWS_ENDPOINT_URL` (refused unless they are on loopback, or `allow_aws`), and its events
/// are delivered to the stack as CloudTrail would (`to`).
pub async fn run(
    scenario: &'static Scenario,
    to: &Delivery,
    allow_aws: bool,
) -> anyhow::Result<Simulated> {
    crate::local::endpoint::ensure_local("cordon simulate", allow_aws)?;
    let sdk = cordon_aws::load_sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let attacker = compromised_jdoe(&iam, LOCAL_ACCOUNT).await?;
    let lab = Lab {
        iam,
        account: LOCAL_ACCOUNT.to_string(),
        suffix: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
    };
    let target = match scenario.perform {
        Some(perform) => perform(&lab)
            .await
            .with_context(|| format!("performing {}", scenario.name))?,
        None => Target::default(),
    };
    let story = Story {
        attacker: attacker.clone(),
        stack: LOCAL_STACK_NAME.to_string(),
        at: Utc::now(),
    };
    let events = (scenario.events)(&story, &target);
    let incidents = incidents(&events);
    let event_ids = deliver(to, &events).await.with_context(|| {
        if scenario.perform.is_some() {
            format!(
                "{} was performed, but its events were not delivered",
                scenario.name
            )
        } else {
            format!("delivering the events of {}", scenario.name)
        }
    })?;
    Ok(Simulated {
        scenario: scenario.name,
        rule: scenario.rule,
        attacker,
        target,
        event_ids,
        incidents,
        performed: scenario.perform.is_some(),
    })
}

/// An event the local stack's classifier makes an incident of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub rule: String,
    pub incident_id: String,
    /// A failed sign-in the failed sign-in counter counts: it joins the incident its
    /// user's or IP address's window opened, if there is one.
    pub counted: bool,
}

/// What the local stack's classifier opens for `events`.
fn incidents(events: &[Value]) -> Vec<Opened> {
    let Ok(account) = AccountId::parse(LOCAL_ACCOUNT) else {
        return Vec::new();
    };
    let home = Home::new(account).with_stack(LOCAL_STACK_NAME);
    events
        .iter()
        .filter_map(|e| match classify_in(e, &home) {
            Ok(Classification::Incident(d)) => Some(Opened {
                counted: is_counted_failure(&d),
                rule: d.rule,
                incident_id: d.incident_id,
            }),
            _ => None,
        })
        .collect()
}
