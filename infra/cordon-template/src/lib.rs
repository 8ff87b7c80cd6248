//! The one reader of Cordon's SAM template (`infra/template.yaml`).
//!
//! The template is the single source of truth for what Cordon deploys: the EventBridge
//! rules, the state machine and its substitutions, every function with its binary,
//! environment and policies. Everything that runs Cordon without AWS (the local stack, the
//! tests, the EventBridge rules) reads it through this crate, parsed once into typed
//! resources, so no copy of it can drift.
//!
//! Values are kept as written ([`Expr`]: short and long intrinsic forms read alike) and
//! resolved on request against [`Values`]: the parameters, the pseudo parameters and the
//! physical ids and attributes of the resources, which only the caller knows.
//!
//! The identity policies of every role the template deploys (a function's, the state
//! machine's, an `AWS::IAM::Role`'s, with SAM policy templates expanded and attached
//! `AWS::IAM::Policy` resources included) resolve the same way
//! ([`Template::function_policies`], [`Template::state_machine_policies`],
//! [`Template::role_policies`]).
//!
//! ```
//! use cordon_template::{Template, Values};
//!
//! let template = Template::parse(r#"
//! Parameters:
//!   Retention: {Type: Number, Default: 30}
//! Globals:
//!   Function:
//!     Environment:
//!       Variables:
//!         TABLE: !Ref Table
//!         RETENTION: !Ref Retention
//! Resources:
//!   Table: {Type: AWS::DynamoDB::Table}
//!   Worker:
//!     Type: AWS::Serverless::Function
//!     Metadata: {BuildProperties: {Binary: worker}}
//!     Properties:
//!       Environment:
//!         Variables:
//!           SELF: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-*"
//! "#).expect("valid template");
//!
//! let mut values = Values::new("123456789012", "us-east-1", "aws", "demo")
//!     .with_parameters(template.parameters(), &Default::default())
//!     .expect("parameters");
//! values.set_ref("Table", "incidents");
//! let worker = template.function_by_binary("worker").expect("the worker");
//! let env = template.resolved_environment(worker, &values).expect("resolved");
//! assert_eq!(env["TABLE"], "incidents");
//! assert_eq!(env["RETENTION"], "30");
//! assert_eq!(env["SELF"], "arn:aws:iam::123456789012:role/demo-*");
//! ```
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

mod error;
mod expr;
mod parameter;
mod policies;
mod resolve;
mod sam_policies;
mod serverless;
mod template;
mod yaml;

pub use error::{Error, ResolveError};
pub use expr::{Call, Expr, Form, Intrinsic, NotLiteral};
pub use parameter::Parameter;
pub use policies::ResolvedPolicy;
pub use resolve::Values;
pub use sam_policies::SAM_POLICY_TEMPLATES;
pub use serverless::{EventSource, Function, Policy, Serverless, StateMachine};
pub use template::{Resource, Template};
