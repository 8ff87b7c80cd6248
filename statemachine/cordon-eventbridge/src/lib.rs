//! EventBridge rules for running Cordon without AWS.
//!
//! On AWS, the `AWS::Events::Rule` resources in `infra/template.yaml` decide
//! which CloudTrail events start the incident state machine. Locally (the
//! demo, the tests, an operator's laptop) there is no EventBridge, so Cordon
//! reads the same rules from the same template and evaluates their event
//! patterns itself, with EventBridge's semantics. Patterns are never copied
//! into code: the template is the single source of truth.
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

mod pattern;
mod template;

pub use pattern::{EventPattern, PatternError, PatternErrorKind};
pub use template::{
    Error, Rule, RuleState, Rules, ScheduleRule, Target, TargetArn, load_rules, rules_from_str,
};

use serde_json::Value;

/// The enabled rules whose pattern matches `event`, in template order.
pub fn route<'a>(rules: &'a [Rule], event: &Value) -> Vec<&'a Rule> {
    rules
        .iter()
        .filter(|rule| rule.is_enabled() && rule.pattern.matches(event))
        .collect()
}
