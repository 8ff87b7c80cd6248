//! AWS adapters: one narrow async trait per capability, each with an AWS SDK
//! implementation and (feature `fakes`) an in-memory fake.
//!
//! | trait | service | SDK implementation | fake |
//! |---|---|---|---|
//! | [`IdentityStore`] | IAM | [`IamIdentityStore`] | `FakeIdentityStore` |
//! | [`Notifier`] | SNS | [`SnsNotifier`] | `FakeNotifier` |
//! | [`IncidentStore`] | DynamoDB (single table, see `TABLE.md`) | [`DynamoIncidentStore`] | `FakeIncidentStore` |
//! | [`LinkStore`] | DynamoDB (approval/release links, same table) | [`DynamoLinkStore`] | `FakeLinkStore` |
//! | [`TaskCallbacks`], [`WorkflowStarter`] | Step Functions | [`SfnTaskCallbacks`] | `FakeTaskCallbacks` |
//! | [`SignInStore`] | DynamoDB (approvers' sign-in sessions and used nonces, same table) | [`DynamoSignInStore`] | `FakeSignInStore` |
//! | [`StackOutputs`] | CloudFormation (the operator CLI) | [`CloudFormationStacks`] | `FakeStackOutputs` |
//! | [`RoleStore`] | IAM roles | [`IamRoleStore`] | `FakeRoleStore` |
//! | [`PolicyReader`] | IAM policy documents | [`IamPolicyReader`] | `FakePolicyReader` |
//! | [`CredentialReports`] | IAM credential report | [`IamCredentialReports`] | `FakeCredentialReports` |
//! | [`FailureCounter`] | DynamoDB (failed sign-in counters, same table) | [`DynamoFailureCounter`] | `FakeFailureCounter` |
//! | [`IncidentExecutions`] | Step Functions | [`SfnIncidentExecutions`] | `FakeIncidentExecutions` |
//!
//! Codemap:
//!
//! - [`aws`]: [`Aws`], the process's AWS configuration and the one place SDK clients are
//!   built; task crates get their adapters from it and never name an SDK type;
//! - [`iam`], [`sns`], [`sfn`], [`roles`], [`policies`], [`credential_report`],
//!   [`executions`]: small capabilities, trait and SDK implementation together;
//! - [`failures`]: the failed sign-in counters (their DynamoDB adapter is in [`dynamo`]);
//! - [`incidents`], [`links`]: the two DynamoDB-backed capabilities and their records (the
//!   link domain includes its secrets, [`links::secret`]);
//! - [`dynamo`]: the DynamoDB item codec and conditional writes, the table definition, and
//!   the two DynamoDB adapters;
//! - [`error`]: every SDK error mapped onto `TaskError` in one place (throttling, 5xx and
//!   timeouts become `Cordon.Transient`);
//! - [`env`], [`caller`], [`telemetry`], [`clock`]: what every Lambda's `main` needs;
//!   [`function_env`]: a deployed function's SDK configuration, from its environment;
//! - for the operator CLI: [`stack`] (a deployed stack's outputs), [`caller_identity`]
//!   (who is calling, verified by STS), [`dynamo::listing`] (incidents through the
//!   indexes, a page at a time);
//! - [`identities`]: the identities a function trusts or protects, resolved to IAM unique
//!   ids at its first use;
//! - [`function`]: a function configured once, answering every invocation with its
//!   configuration error when it has one; `lambda` (feature `lambda`) runs one on the
//!   Lambda runtime, the whole `main` of every task crate;
//! - [`access`]: the access guard, which records every call a function's clients make and
//!   checks it against the function's own IAM policies (the local stack enforces them);
//! - `fakes` (feature `fakes`), `testing` (feature `testing`): for other crates' tests.
//!
//! Endpoints come from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`, which is how the
//! tests and the local stack reach moto.
pub mod access;
pub mod aws;
pub mod caller;
pub mod caller_identity;
pub mod clock;
pub mod credential_report;
pub mod deadline;
pub mod dynamo;
pub mod env;
pub mod error;
pub mod executions;
pub mod failures;
pub mod function;
pub mod function_env;
pub mod iam;
pub mod identities;
pub mod incidents;
pub mod links;
pub mod metrics;
pub mod policies;
pub mod roles;
pub mod sfn;
pub mod signin;
pub mod sns;
pub mod stack;
pub mod telemetry;
pub mod trust;

#[cfg(feature = "fakes")]
pub mod fakes;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "testing")]
pub mod testing;

pub use aws::{Aws, function_timeouts, load_sdk_config};
pub use clock::{Clock, fixed_clock, system_clock};
pub use credential_report::{CredentialReports, IamCredentialReports};
pub use dynamo::failures::DynamoFailureCounter;
pub use dynamo::incidents::DynamoIncidentStore;
pub use dynamo::links::DynamoLinkStore;
pub use dynamo::listing::{IncidentListing, IncidentPage, IncidentQuery};
pub use dynamo::signin::DynamoSignInStore;
pub use executions::{IncidentExecutions, SfnIncidentExecutions};
pub use failures::FailureCounter;
pub use function::{Configure, Function, Running};
pub use iam::{IamIdentityStore, IdentityStore};
pub use incidents::IncidentStore;
pub use links::LinkStore;
pub use policies::{IamPolicyReader, PolicyReader};
pub use roles::{IamRoleStore, RoleStore};
pub use sfn::{SfnTaskCallbacks, Started, TaskCallbacks, WorkflowStarter};
pub use signin::SignInStore;
pub use sns::{Notifier, SnsNotifier};
pub use stack::{CloudFormationStacks, StackOutputs};
