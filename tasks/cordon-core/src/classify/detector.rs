//! The shape of one detection: the calls it claims, the rules it raises, its function.
use super::call::{Call, Verdict};

/// CloudTrail `eventSource`s that have detectors.
pub mod sources {
    pub const SIGNIN: &str = "signin.amazonaws.com";
    pub const IAM: &str = "iam.amazonaws.com";
    pub const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
    pub const EVENTS: &str = "events.amazonaws.com";
    pub const STATES: &str = "states.amazonaws.com";
}

/// One detection. Each lives in the file of its family (`classify/users.rs`, …) as a
/// `const`, and is listed once in [`DETECTORS`](super::DETECTORS).
pub struct Detector {
    /// CloudTrail `eventSource` of the calls it examines.
    pub event_source: &'static str,
    /// The `eventName`s it claims. No two detectors claim the same call, and the
    /// EventBridge rules in `infra/template.yaml` route every one of them whenever it can
    /// be an incident (`tests/tests/agreement`).
    pub event_names: &'static [&'static str],
    /// The incident rules it can raise (ids from [`rules`](super::rules)).
    pub rules: &'static [&'static str],
    /// It also examines failed calls (`errorCode` set). Otherwise a failed call changed
    /// nothing and is not an incident.
    pub examines_failed_calls: bool,
    /// Examines one claimed call.
    pub(super) detect: fn(&Call<'_>) -> Verdict,
}

impl Detector {
    /// This detector examines `event_name` calls to `event_source`.
    pub fn claims(&self, event_source: &str, event_name: &str) -> bool {
        self.event_source == event_source && self.event_names.contains(&event_name)
    }
}
