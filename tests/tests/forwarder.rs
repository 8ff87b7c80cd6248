//! The regional forwarder (infra/forwarder.yaml) must forward at least every event the main
//! stack's regional rules would act on; otherwise sign-ins, trail changes and root calls in
//! other Regions go unseen. IAM is global: its events are recorded in us-east-1 only, where
//! the main stack runs, so IamChangeRule's events need no forwarder.
use cordon_eventbridge::{Rule, Rules, route};
use cordon_tests::{FIXTURE_ACCOUNT, fixture_events, stack_values, workspace_root};
use serde_json::{Value, json};

const REGION: &str = "eu-north-1";

fn rules(file: &str, region: &str) -> Vec<Rule> {
    let path = workspace_root().join(file);
    let template = cordon_template::Template::load(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let values = stack_values(&template, FIXTURE_ACCOUNT, region);
    Rules::from_template(&template, &values)
        .unwrap_or_else(|e| panic!("the rules of {file}: {e}"))
        .rules
}

/// `event` as recorded in the forwarder's Region.
fn in_region(mut event: Value) -> Value {
    if let Some(o) = event.as_object_mut() {
        o.insert("region".into(), json!(REGION));
    }
    if let Some(d) = event.get_mut("detail").and_then(Value::as_object_mut) {
        d.insert("awsRegion".into(), json!(REGION));
    }
    event
}

#[test]
fn the_forwarder_forwards_every_regional_event_the_main_stack_acts_on() {
    let main = rules("infra/template.yaml", "us-east-1");
    let forwarder = rules("infra/forwarder.yaml", REGION);
    let mut acted_on = std::collections::BTreeSet::new();
    for (name, event) in fixture_events() {
        let event = in_region(event);
        let routed: Vec<&str> = route(&main, &event)
            .iter()
            .map(|r| r.logical_id.as_str())
            // IAM is global (recorded in us-east-1); CordonTamperRule watches IAM and
            // Cordon's own rules and state machine, which live in the main stack's Region.
            .filter(|id| !["IamChangeRule", "IamEscalationRule", "CordonTamperRule"].contains(id))
            .collect();
        if routed.is_empty() {
            continue;
        }
        acted_on.extend(routed.iter().map(|s| s.to_string()));
        assert!(
            !route(&forwarder, &event).is_empty(),
            "{name} is routed by {routed:?} in the main stack, but the forwarder in {REGION} \
             would not forward it"
        );
    }
    for rule in [
        "ConsoleSignInRule",
        "CloudTrailTamperingRule",
        "RootActivityRule",
    ] {
        assert!(
            acted_on.contains(rule),
            "no fixture exercises {rule}: {acted_on:?}"
        );
    }
}

#[test]
fn the_forwarder_forwards_only_this_accounts_events() {
    let forwarder = rules("infra/forwarder.yaml", REGION);
    for (name, event) in fixture_events() {
        let mut theirs = in_region(event);
        if let Some(o) = theirs.as_object_mut() {
            o.insert("account".into(), json!("444455556666"));
        }
        assert!(
            route(&forwarder, &theirs).is_empty(),
            "{name} from another account would be forwarded"
        );
    }
}
