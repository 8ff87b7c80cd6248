//! The local event bus: the template's rules and the targets they deliver to.
//!
//! The bus owns both, so routing never calls back into whoever put the event: the CLI
//! registers a [`Target`] for each resource rules may target (e.g. "start an execution of
//! the incident state machine") and then only puts events.
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::event::Event;
use crate::template::Rule;

/// Something a rule delivers events to, registered under the logical id rules name it by.
#[async_trait]
pub trait Target: Send + Sync {
    /// Delivers `event`; returns what the target made of it (e.g. an execution ARN).
    async fn deliver(&self, event: &Event) -> Result<String, TargetError>;
}

/// Why a target did not take an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// One delivery of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The rule that matched.
    pub rule: String,
    /// The target's logical id.
    pub target: String,
    /// What the target returned.
    pub receipt: String,
}

/// A delivery that failed; the deliveries before it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule}, target {target}: {error}")]
pub struct DeliveryError {
    pub rule: String,
    pub target: String,
    pub error: TargetError,
}

/// The rules EventBridge would deliver `event` to, in template order: enabled, in a state
/// that receives it (an `ENABLED` rule gets no read-only CloudTrail management events),
/// and with a matching pattern.
pub fn route<'a>(rules: &'a [Rule], event: &Value) -> Vec<&'a Rule> {
    rules.iter().filter(|rule| rule.receives(event)).collect()
}

/// The rules and their targets.
pub struct Bus {
    rules: Vec<Rule>,
    targets: BTreeMap<String, Arc<dyn Target>>,
}

impl Bus {
    /// A bus with `rules` and no targets yet.
    pub fn new(rules: Vec<Rule>) -> Bus {
        Bus {
            rules,
            targets: BTreeMap::new(),
        }
    }

    /// Delivers to `target` whatever a rule sends to `logical_id` (`!Ref X` or
    /// `!GetAtt X.Arn` in its `Targets`). Targets nobody registered receive nothing.
    pub fn with_target(mut self, logical_id: impl Into<String>, target: Arc<dyn Target>) -> Bus {
        self.targets.insert(logical_id.into(), target);
        self
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Delivers `event` as EventBridge would: to every registered target of every enabled
    /// rule whose pattern matches, in template order. An empty result means nothing took
    /// it; the caller must say so, never drop it silently.
    pub async fn put(&self, event: &Event) -> Result<Vec<Delivery>, DeliveryError> {
        let mut deliveries = Vec::new();
        for rule in route(&self.rules, event.json()) {
            for id in rule.target_logical_ids() {
                let Some(target) = self.targets.get(id) else {
                    continue;
                };
                let receipt = target.deliver(event).await.map_err(|error| DeliveryError {
                    rule: rule.logical_id.clone(),
                    target: id.to_owned(),
                    error,
                })?;
                deliveries.push(Delivery {
                    rule: rule.logical_id.clone(),
                    target: id.to_owned(),
                    receipt,
                });
            }
        }
        Ok(deliveries)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait]
    impl Target for Recorder {
        async fn deliver(&self, event: &Event) -> Result<String, TargetError> {
            let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(event.text().to_owned());
            Ok(format!("delivery-{}", seen.len()))
        }
    }

    struct Broken;

    #[async_trait]
    impl Target for Broken {
        async fn deliver(&self, _: &Event) -> Result<String, TargetError> {
            Err(TargetError("down".into()))
        }
    }

    const TEMPLATE: &str = r#"
Resources:
  Iam:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.iam]}
      Targets:
        - {Id: a, Arn: !Ref Machine}
        - {Id: b, Arn: !GetAtt Elsewhere.Arn}
  Off:
    Type: AWS::Events::Rule
    Properties:
      State: DISABLED
      EventPattern: {source: [aws.iam]}
      Targets: [{Id: a, Arn: !Ref Machine}]
"#;

    fn event(source: &str) -> Event {
        Event::from_json(json!({"id": "e1", "source": source, "detail-type": "d", "detail": {}}))
            .expect("event")
    }

    #[tokio::test]
    async fn matching_rules_deliver_to_registered_targets_only() {
        let recorder = Arc::new(Recorder::default());
        let bus = Bus::new(crate::rules_from_str(TEMPLATE).expect("rules"))
            .with_target("Machine", recorder.clone());
        let delivered = bus.put(&event("aws.iam")).await.expect("delivered");
        assert_eq!(
            delivered,
            [Delivery {
                rule: "Iam".into(),
                target: "Machine".into(),
                receipt: "delivery-1".into()
            }]
        );
        let texts = recorder.0.lock().expect("lock").clone();
        assert_eq!(texts, [event("aws.iam").text().to_owned()]);
        assert!(bus.put(&event("aws.s3")).await.expect("ok").is_empty());
    }

    #[tokio::test]
    async fn a_failing_target_names_the_rule_and_target() {
        let bus = Bus::new(crate::rules_from_str(TEMPLATE).expect("rules"))
            .with_target("Machine", Arc::new(Broken));
        let e = bus.put(&event("aws.iam")).await.expect_err("failed");
        assert_eq!(e.to_string(), "rule Iam, target Machine: down");
    }
}
