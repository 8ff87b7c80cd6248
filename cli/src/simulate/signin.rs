//! Console sign-in attacks (reference S0). Sign-in has no API: the users attacked are
//! really created with console passwords, and the sign-in events alone are delivered.
use cordon_core::classify::HIDDEN_USER_NAME;
use cordon_core::policy::ResponsePolicy;
use serde_json::Value;

use super::attacker::root_identity;
use super::cloudtrail::{Story, console_login, root_password_updated, sign_in_identity};
use super::scenario::{Lab, Pending, Target};

/// The second actor of the fixture story, who goes after root.
const ROOT_ATTACKER_IP: &str = "203.0.113.14";
/// Where a stolen password is used from without MFA: not the address that guesses
/// passwords, so the failed sign-in counter does not turn it into a guessed password.
const STOLEN_PASSWORD_IP: &str = "203.0.113.77";

/// Failures that reach the default response policy's threshold.
fn threshold() -> usize {
    ResponsePolicy::default().failure_threshold as usize
}

pub fn console_victim(lab: &Lab) -> Pending<'_> {
    Box::pin(lab.console_user("sim-console"))
}

/// The default threshold of failed sign-ins for one user from one IP, a second apart.
pub fn brute_force_events(story: &Story, t: &Target) -> Vec<Value> {
    (0..threshold())
        .map(|i| {
            let identity = sign_in_identity(story.account(), &t.name, &t.id, true);
            console_login(
                &story.later(i as i64),
                identity,
                &story.attacker.source_ip,
                false,
            )
        })
        .collect()
}

pub fn spray_victims(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let mut first = lab.console_user("sim-spray").await?;
        for i in 1..threshold() {
            let other = lab.console_user(&format!("sim-spray-{i}")).await?;
            first.also.push((other.name, other.id));
        }
        Ok(first)
    })
}

/// One failed sign-in for each user from one IP, then one for a user name that does not
/// exist (CloudTrail masks it as `HIDDEN_DUE_TO_SECURITY_REASONS`).
pub fn spray_events(story: &Story, t: &Target) -> Vec<Value> {
    let account = story.account();
    let ip = &story.attacker.source_ip;
    let mut events: Vec<Value> = std::iter::once((t.name.as_str(), t.id.as_str()))
        .chain(t.also.iter().map(|(n, i)| (n.as_str(), i.as_str())))
        .enumerate()
        .map(|(i, (name, id))| {
            let identity = sign_in_identity(account, name, id, true);
            console_login(&story.later(i as i64), identity, ip, false)
        })
        .collect();
    let unknown = serde_json::json!({
        "type": "IAMUser",
        "accountId": account,
        "accessKeyId": "",
        "userName": HIDDEN_USER_NAME,
    });
    events.push(console_login(
        &story.later(events.len() as i64),
        unknown,
        ip,
        false,
    ));
    events
}

pub fn no_mfa_events(story: &Story, t: &Target) -> Vec<Value> {
    let identity = sign_in_identity(story.account(), &t.name, &t.id, false);
    vec![console_login(story, identity, STOLEN_PASSWORD_IP, true)]
}

pub fn root_login_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![console_login(
        story,
        root_identity(story.account()),
        ROOT_ATTACKER_IP,
        true,
    )]
}

pub fn root_login_failed_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![console_login(
        story,
        root_identity(story.account()),
        ROOT_ATTACKER_IP,
        false,
    )]
}

pub fn root_password_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![root_password_updated(story, ROOT_ATTACKER_IP)]
}

/// The default threshold of failed sign-ins for one user from one IP, then a success from
/// the same IP: the password was guessed.
pub fn guessed_events(story: &Story, t: &Target) -> Vec<Value> {
    let mut events = brute_force_events(story, t);
    let identity = sign_in_identity(story.account(), &t.name, &t.id, false);
    events.push(console_login(
        &story.later(events.len() as i64),
        identity,
        &story.attacker.source_ip,
        true,
    ));
    events
}
