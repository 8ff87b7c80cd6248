//! EventBridge rules for running Cordon without AWS.
//!
//! On AWS, the `AWS::Events::Rule` resources in `infra/template.yaml` decide
//! which CloudTrail events start the incident state machine. Locally (the
//! demo, the tests, an operator's laptop) there is no EventBridge, so Cordon
//! reads the same rules from the same template and evaluates their event
//! patterns itself, with EventBridge's semantics. Patterns are never copied
//! into code: the template is the single source of truth.
//!
//! - `template.rs` reads the rules (through [`cordon_template`], the one reader), with
//!   the intrinsics in their patterns (`!Ref AWS::AccountId`) resolved against the
//!   stack's values, and says which events a rule's state lets it see;
//! - `pattern/` validates and evaluates event patterns, and makes example events that
//!   match each alternative (`example.rs`);
//! - `bus.rs` is the local bus: the rules and the [`Target`]s they deliver to;
//! - `event.rs` is the envelope a target receives, built and serialised once;
//! - `put_events.rs` serves the PutEvents API in front of a bus.
//!
//! ```
//! use cordon_eventbridge::{route, rules_from_str};
//! use serde_json::json;
//!
//! let rules = rules_from_str(r#"
//! Resources:
//!   CreateUserRule:
//!     Type: AWS::Events::Rule
//!     Properties:
//!       EventPattern:
//!         source: [aws.iam]
//!         detail:
//!           eventName: [CreateUser]
//!           errorCode: [{ exists: false }]
//!       Targets:
//!         - Id: sfn
//!           Arn: !Ref IncidentStateMachine
//! "#).expect("valid template");
//!
//! let event = json!({"source": "aws.iam", "detail": {"eventName": "CreateUser"}});
//! let matched = route(&rules, &event);
//! assert_eq!(matched[0].logical_id, "CreateUserRule");
//! assert_eq!(matched[0].target_logical_ids(), ["IncidentStateMachine"]);
//! ```
// No unsafe code: the fuzz targets, which link this crate, run without a sanitizer
// (xtask/src/fuzz.rs).
#![forbid(unsafe_code)]

mod bus;
mod event;
mod pattern;
pub mod put_events;
mod template;

pub use bus::{Bus, Delivery, DeliveryError, Target, TargetError, route};
pub use event::{Entry, Event, NotAnEvent};
pub use pattern::{EventPattern, Example, PatternError, PatternErrorKind};
pub use put_events::{
    DELIVERY_OPERATION, DELIVERY_TARGET_PREFIX, DELIVERY_TOKEN_HEADER, PutEventsConfig,
    PutEventsObserver, PutEventsServer,
};
pub use template::{
    Error, Rule, RuleState, RuleTarget, Rules, ScheduleRule, TargetArn, load_rules, rules_from_str,
};
