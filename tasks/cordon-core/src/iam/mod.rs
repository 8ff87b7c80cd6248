//! What an IAM identity policy allows, evaluated the way IAM does.
//!
//! The least-privilege check (every AWS call a function makes is allowed by its own policy
//! in `infra/template.yaml`) and the local stack's access guard (a call the policy does not
//! allow is refused, as AWS would) both ask one question: does this set of identity
//! policies allow this request? The answer lives here once, with no AWS SDK and no I/O.
//!
//! - [`document`]: a policy document read strictly into typed statements ([`Policy`],
//!   [`Statement`]). What the evaluator cannot evaluate exactly (an unknown condition
//!   operator, a policy variable, a `Principal` in an identity policy) is an error, never
//!   a guess: offline must never be looser than AWS.
//! - [`pattern`]: `Action` and `Resource` wildcards (`*`, `?`): actions case-insensitive,
//!   ARNs case-sensitive and matched segment by segment.
//! - [`condition`]: the condition operators (`String*`, `Arn*`, `Bool`, `Null`, with
//!   `...IfExists` and the `ForAnyValue:` / `ForAllValues:` set operators).
//! - [`evaluate`]: one [`Request`] against a [`PolicySet`]: an explicit `Deny` wins, then
//!   an `Allow`, else the implicit deny, which names the statement that came closest.
//! - [`catalogue`]: the resource types and condition keys of the actions Cordon calls,
//!   taken from AWS's service authorization data (cross-checked against parliament's copy
//!   of it by `tests/tests/iam_catalogue.rs`).
//!
//! Only identity-based policies of one account are modelled: no resource policies, no
//! permissions boundaries, no SCPs, no sessions policies (Cordon's functions have none).
pub mod catalogue;
pub mod condition;
pub mod document;
pub mod evaluate;
pub mod pattern;

pub use catalogue::{ActionInfo, ResourceType};
pub use document::{Effect, Policy, PolicyError, Statement};
pub use evaluate::{Decision, Near, PolicySet, Request};
