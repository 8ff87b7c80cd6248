//! Attack simulation: really perform an attacker's calls against the (emulated) AWS APIs,
//! then deliver the CloudTrail records, exactly as EventBridge delivers them to a rule
//! target, to a running `cordon local up`.
//!
//! - `attacker.rs`: who attacks (the compromised `jdoe`, or a user a test creates);
//! - `cloudtrail.rs`: the records, shaped like the shared fixtures;
//! - `deliver.rs`: the PutEvents client;
//! - `scenario.rs`: what a scenario is (real calls, then its events) and running one;
//! - `table.rs`: every scenario, one entry each, in the files of their families
//!   (`signin.rs`, `users.rs`, `grants.rs`, `roles.rs`, `trail.rs`, `tamper.rs`,
//!   `audit.rs`);
//! - `create_user.rs`: `cordon simulate create-user --name`, which the demo uses too.
mod attacker;
mod audit;
mod cloudtrail;
mod create_user;
mod deliver;
mod grants;
mod roles;
mod scenario;
mod signin;
mod table;
mod tamper;
mod trail;
mod users;

#[cfg(test)]
mod tests;

pub use attacker::{Attacker, compromised_jdoe, root_identity};
pub use cloudtrail::{ApiCall, Story, iam_response_date};
pub use create_user::{
    CreatedUser, SimulatedCreateUser, create_backdoor_user, create_user, create_user_event,
    free_user_name,
};
pub use deliver::{Delivery, deliver, put_events, put_events_entry};
pub use scenario::{Lab, Opened, Pending, Scenario, Simulated, Target, run};
pub use table::SCENARIOS;

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
