//! Cordon's domain: pure functions and data. No AWS SDK, no Lambda event shapes, no I/O
//! (the optional `lambda` feature only maps [`TaskError`] onto the runtime's diagnostic).
//!
//! An event flows through the modules in this order:
//!
//! - [`event`]: lenient parsing of the EventBridge envelope and the CloudTrail record
//!   (`envelope.rs`, `cloudtrail.rs`, and the field readers in `fields.rs`);
//! - [`mod@classify`]: the detection rules, event → incident / not an incident / audit
//!   trigger. `classify/mod.rs` is the dispatcher over [`classify::DETECTORS`]; each
//!   detection is a [`classify::Detector`] in the file of its family (`signin.rs`,
//!   `users.rs`, `credentials.rs`, `admin_grants.rs`, `roles.rs`, `cloudtrail.rs`, and
//!   `root.rs` for calls no detector claims), and [`classify::rules`] is the catalogue of
//!   stable rule ids;
//! - [`policy_document`]: what an IAM policy document grants (administrator access,
//!   judged with the IAM evaluator; trusted principals), shared by the detections and the
//!   response policy;
//! - [`failures`]: failed console sign-ins counted per user and per IP (keys, windows,
//!   escalation, a success after failures);
//! - [`audit`]: the scheduled MFA compliance audit (the credential report, findings per
//!   user, the EMF metrics);
//! - [`iam`]: what a set of identity policies allows, evaluated as IAM does (the
//!   least-privilege check and the local stack's access guard), and the service
//!   authorization data of the actions Cordon calls;
//! - [`incident`]: deterministic incident ids (also the execution names);
//! - [`policy`]: the response policy, detection → severity, disposition, containability
//!   (`settings.rs`, `load.rs`, `assess.rs`, `containment.rs`);
//! - [`quarantine`], [`tags`]: what containment attaches (deny-all and force-MFA
//!   policies on a user, the session-revocation policy on a role);
//! - [`release`]: the record of a release (who, when, what was restored, drift);
//! - [`notify`]: SNS notification rendering (`message.rs`, `sanitize.rs`, `render.rs`,
//!   `actions.rs`).
//!
//! [`metrics`] renders and validates CloudWatch Embedded Metric Format lines, and names
//! every metric Cordon emits.
//!
//! [`model`] holds the data passed between the tasks and through the state machine
//! (detection, assessment, identities, user facts and snapshot, incident status), and
//! [`error`] the task error contract with its `Cordon.*` names.
//!
//! There is no import circle between files: a `mod.rs` uses its children, so they never
//! use it and share items through sibling files. `tests/layout.rs` checks this, and that
//! no file exceeds 800 lines.
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

pub mod audit;
pub mod classify;
pub mod error;
pub mod event;
pub mod failures;
pub mod iam;
pub mod incident;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod policy;
pub mod policy_document;
pub mod quarantine;
pub mod release;
pub mod tags;

pub use classify::{Classification, classify, classify_in};
pub use error::{TaskError, names};
pub use model::{Assessment, Detection};
pub use policy::ResponsePolicy;
