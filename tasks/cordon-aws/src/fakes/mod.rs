//! In-memory fakes of every trait, with the same idempotency semantics as the SDK
//! implementations (conditional writes, first snapshot wins, attach-once, decide-once).
//!
//! Each fake records the operations it served (`calls()`), and can be told to fail an
//! operation (`fail_on("iam:AttachUserPolicy", err)`), so handler tests can check both
//! what was done and what happens when AWS says no.
mod calls;
mod credential_report;
mod executions;
mod failures;
mod iam;
mod incidents;
mod links;
mod policies;
mod roles;
mod sfn;
mod signin;
mod sns;
mod stacks;

pub use credential_report::FakeCredentialReports;
pub use executions::FakeIncidentExecutions;
pub use failures::FakeFailureCounter;
pub use iam::{FAKE_ACCOUNT, FakeIdentityStore};
pub use incidents::FakeIncidentStore;
pub use links::FakeLinkStore;
pub use policies::FakePolicyReader;
pub use roles::FakeRoleStore;
pub use sfn::{Callback, FakeTaskCallbacks};
pub use signin::FakeSignInStore;
pub use sns::{FakeNotifier, Published};
pub use stacks::FakeStackOutputs;
