//! AWS adapters: one narrow async trait per capability, each with an AWS SDK
//! implementation and (feature `fakes`) an in-memory fake.
//!
//! | trait | service | SDK implementation |
//! |---|---|---|
//! | [`IdentityStore`] | IAM | [`IamIdentityStore`] |
//! | [`Notifier`] | SNS | [`SnsNotifier`] |
//! | [`IncidentStore`] | DynamoDB (single table, see `TABLE.md`) | [`DynamoIncidentStore`] |
//! | [`TaskCallbacks`] | Step Functions | [`SfnTaskCallbacks`] |
//! | [`ApprovalStore`] | DynamoDB (approval/release links, same table) | [`DynamoApprovalStore`] |
//!
//! Every SDK error goes through [`error::map_sdk_error`]. Clients are built once from
//! [`load_sdk_config`]; endpoints come from `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>`, which is how the tests and the local stack reach moto.
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub mod approvals;
pub mod caller;
pub mod env;
pub mod error;
pub mod iam;
pub mod sfn;
pub mod sns;
pub mod store;
pub mod telemetry;

#[cfg(feature = "fakes")]
pub mod fakes;
#[cfg(feature = "testing")]
pub mod testing;

pub use approvals::{ApprovalStore, DynamoApprovalStore};
pub use iam::{IamIdentityStore, IdentityStore};
pub use sfn::{SfnTaskCallbacks, TaskCallbacks};
pub use sns::{Notifier, SnsNotifier};
pub use store::{DynamoIncidentStore, IncidentStore};

/// The shared SDK configuration: region, credentials and endpoint overrides from the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). Load it once per process.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// An injectable clock, so handler tests are deterministic.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock stopped at `at`.
pub fn fixed_clock(at: DateTime<Utc>) -> Clock {
    Arc::new(move || at)
}

pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
