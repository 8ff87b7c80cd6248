//! Cordon's domain. No AWS SDK, no Lambda event shapes: pure functions and data.
//!
//! - [`event`]: lenient parsing of the EventBridge envelope and the CloudTrail record;
//! - [`mod@classify`]: detection rules (event → incident / not an incident / audit trigger);
//! - [`incident`]: deterministic incident ids;
//! - [`policy`]: the response policy (severity, disposition, containability);
//! - [`failure`]: the failed sign-in counter (per user, per IP, sliding window);
//! - [`quarantine`], [`tags`]: what containment attaches;
//! - [`release`]: the record of a release (who, when, what was restored, drift);
//! - [`notify`]: SNS notification rendering.
pub mod classify;
pub mod error;
pub mod event;
pub mod failure;
pub mod incident;
pub mod model;
pub mod notify;
pub mod policy;
pub mod quarantine;
pub mod release;
pub mod tags;

pub use classify::{Classification, classify};
pub use error::{TaskError, names};
pub use model::{Assessment, Detection};
pub use policy::ResponsePolicy;
