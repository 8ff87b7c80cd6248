//! The data Cordon passes between its tasks (and through the state machine as JSON).
//!
//! These types are a contract: the state machine's paths (`$.detection.principal.name`, …)
//! and the DynamoDB audit read them. Change them additively.
//!
//! Files: `account.rs` (the home account id), `detection.rs` (what a rule found),
//! `assessment.rs` (severity, disposition and why), `identity.rs` (actor and principal),
//! `user.rs` (IAM user facts and the pre-containment snapshot), `role.rs` (IAM role facts),
//! `inspection.rs` (grants an event names but does not carry, and what enrich read of them), `status.rs` (an incident's
//! lifecycle, and the timeline steps the workflow writes), `failure.rs` (an error the state machine caught, as its failure path passes
//! it on), `approver.rs` (a decider's verified identity).
mod account;
mod approver;
mod assessment;
mod detection;
mod failure;
mod identity;
mod inspection;
mod role;
mod status;
mod user;

pub use account::{AccountId, InvalidAccountId};
pub use approver::VerifiedIdentity;
pub use assessment::{Assessment, Disposition, Severity};
pub use detection::Detection;
pub use failure::{CaughtError, ErrorText};
pub use identity::{Actor, Principal, PrincipalKind};
pub use inspection::{Inspect, Inspection};
pub use role::RoleFacts;
pub use status::{IncidentStatus, timeline_step};
pub use user::{AccessKey, AttachedPolicy, KeyStatus, Snapshot, UserFacts};
