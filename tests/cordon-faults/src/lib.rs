//! A fault-injection proxy on loopback, in front of the AWS emulator.
//!
//! Moto answers every call at once and never fails one; AWS throttles, answers `5xx`, drops
//! connections and sometimes never answers. Tests and the bench point the SDK clients of
//! the code under test at a [`FaultProxy`], which forwards each call to the emulator or,
//! as its [`FaultPlan`] says for that service and operation, answers with a fault instead:
//!
//! - the service's own throttling error, in its own protocol ([`Fault::Throttle`]: IAM's
//!   and STS's `Throttling`, SNS's `Throttled`, DynamoDB's `ThrottlingException`, and
//!   [`Fault::ProvisionedThroughputExceeded`] for DynamoDB's other one);
//! - `500` and `503` with the service's error codes;
//! - a TCP reset before the call reaches the service, or after it took effect
//!   ([`Fault::ResponseLost`]: the caller cannot tell whether it happened);
//! - a stall that holds the call past the caller's timeout;
//! - a token-bucket rate limit on IAM's mutating calls ([`RateLimit`]).
//!
//! The plan can change while the proxy runs (set-up without faults, then a burst with
//! them), and [`FaultProxy::stats`] says what each call met.
//!
//! - `call.rs`: which service and operation a request is;
//! - `plan.rs`: what to inject, where, how often;
//! - `bucket.rs`: the token bucket;
//! - `responses.rs`: AWS's error responses, per protocol and service;
//! - `stats.rs`: what happened to the calls;
//! - `proxy.rs`: the loopback handler that decides and forwards.
mod bucket;
mod call;
mod plan;
mod proxy;
mod responses;
mod stats;

pub use bucket::RateLimit;
pub use call::{Call, Protocol, is_mutating_iam_action};
pub use plan::{Fault, FaultPlan, Rule};
pub use proxy::FaultProxy;
pub use stats::{CallStats, Stats};
