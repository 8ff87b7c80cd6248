//! Lenient parsing of the EventBridge envelope and the CloudTrail record in `detail`.
//!
//! Only what Cordon needs is required: a JSON object envelope, an object `detail`, and
//! for CloudTrail records `userIdentity`, `eventTime` (ISO 8601), `eventSource`,
//! `eventName` and `eventID`. Everything else is optional, and optional fields of the
//! wrong type are treated as absent rather than failing the event.
//!
//! `requestParameters`, `responseElements`, `additionalEventData` and
//! `serviceEventDetails` stay raw [`serde_json::Value`]s: IAM and STS write non-ISO
//! dates there (`"Sep 27, 2024 2:05:02 PM"`, `"Aug 1, 2024, 11:45:21 AM"`), and those
//! must never break parsing.
//!
//! Files: `envelope.rs` (the EventBridge envelope), `cloudtrail.rs` (the CloudTrail record
//! and its `userIdentity`), `fields.rs` (the lenient field readers both use, also used by
//! the detections), `essentials.rs` (what a person needs from an event that never became a
//! detection, read without failing).
mod cloudtrail;
mod envelope;
mod essentials;
mod fields;

pub use cloudtrail::{
    CloudTrailRecord, SessionContext, SessionIssuer, UserIdentity, WebIdFederationData,
    parse_cloudtrail, parse_user_identity,
};
pub use envelope::{Envelope, parse_envelope};
pub use essentials::EventEssentials;
pub(crate) use fields::excerpt;
pub use fields::{json_type_name, parse_bool_lenient, parse_iso8601, str_at, value_at};
