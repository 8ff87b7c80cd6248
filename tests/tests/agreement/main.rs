//! The EventBridge rules of `infra/template.yaml` and the classifier agree.
//!
//! On AWS only what a rule routes ever reaches the classifier, and moto checks neither, so
//! a detection the rules never route can never fire, and a routed event the classifier has
//! no rule for starts an execution for nothing. This test reads the rules through
//! cordon-template (never a copied pattern), resolved as a stack in the fixtures' home
//! account deploys them, and judges events generated from the data (`corpus.rs`): every
//! fixture, every call a detector claims, their variants, and examples of every
//! alternative of every rule made from each of those. For each event:
//!
//! - an incident is routed by a rule (a detection that can fire);
//! - a routed event gets a decision: an incident, a judged non-incident with its reason,
//!   or a rejection; never "no rule";
//! - at most one rule routes it (one execution per event);
//! - another account's copy of a routed event is routed by no rule, and the classifier
//!   rejects it, as it rejects a record whose `recipientAccountId` is another account.
//!
//! And it covers everything, so it fails when something new is added without coverage:
//! every incident rule id is raised by a routed event, every detector's calls have
//! positive and negative examples, and every rule and every alternative of it routes an
//! event.
mod corpus;

use std::collections::{BTreeMap, BTreeSet};

use cordon_core::classify::{
    Classification, DETECTORS, Home, classify_in, is_other_account, rules,
};
use cordon_core::model::AccountId;
use cordon_eventbridge::{Rule, Rules, route};
use cordon_tests::{FIXTURE_ACCOUNT, fixture_events, stack_values, template};
use corpus::{Case, from_other_account, recorded_for_other_account};

fn home() -> AccountId {
    AccountId::parse(FIXTURE_ACCOUNT).expect("a valid account id")
}

/// The stack's name `stack_values` deploys under: Cordon's own resources (attacked by the
/// `cordon.*` detections) are named after it.
const STACK: &str = "cordon";

/// The classifier as the stack's record function runs it (its account and its name).
fn classify(
    event: &serde_json::Value,
    home: &AccountId,
) -> Result<Classification, cordon_core::TaskError> {
    classify_in(event, &Home::new(home.clone()).with_stack(STACK))
}

/// The template's rules as a stack in the fixtures' home account (us-east-1) deploys them.
fn stack_rules() -> Vec<Rule> {
    let template = template();
    let values = stack_values(&template, FIXTURE_ACCOUNT, "us-east-1");
    Rules::from_template(&template, &values)
        .unwrap_or_else(|e| panic!("the template's rules: {e}"))
        .rules
}

/// What was seen over the whole corpus.
#[derive(Default)]
struct Seen {
    /// Rule ids raised by a routed event.
    routed_incidents: BTreeSet<String>,
    /// Template rules that routed an incident.
    rules_with_incidents: BTreeSet<String>,
    /// Claimed calls (source, name) seen as an incident / as not an incident.
    positive_calls: BTreeSet<(String, String)>,
    negative_calls: BTreeSet<(String, String)>,
    events: usize,
}

/// Judges one event; returns the disagreements it shows.
fn judge(rules: &[Rule], home: &AccountId, case: &Case, seen: &mut Seen) -> Vec<String> {
    let mut problems = Vec::new();
    let origin = &case.origin;
    let routed: Vec<&str> = route(rules, &case.event)
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    let decision = classify(&case.event, home);
    seen.events += 1;
    let call = (
        case.event["detail"]["eventSource"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        case.event["detail"]["eventName"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    );
    if routed.len() > 1 {
        problems.push(format!("{origin}: routed by several rules {routed:?}"));
    }
    match &decision {
        Ok(Classification::Incident(d)) => {
            seen.positive_calls.insert(call);
            if routed.is_empty() {
                problems.push(format!(
                    "{origin}: the classifier raises {} ({}) but no rule routes it",
                    d.rule, d.title
                ));
            } else {
                seen.routed_incidents.insert(d.rule.clone());
                seen.rules_with_incidents
                    .extend(routed.iter().map(|r| r.to_string()));
            }
        }
        Ok(c @ Classification::NotAnIncident { reason, .. }) => {
            seen.negative_calls.insert(call);
            if !routed.is_empty() && c.is_no_rule() {
                problems.push(format!(
                    "{origin}: routed by {routed:?}, but the classifier has no rule: {reason}"
                ));
            }
        }
        Ok(Classification::AuditTrigger { .. }) => {
            if !routed.is_empty() {
                problems.push(format!(
                    "{origin}: an audit trigger is routed by {routed:?}; only the schedule starts it"
                ));
            }
        }
        Err(_) => {}
    }
    // A record that cannot be read is rejected before its account can be: only readable
    // ones are checked for their account.
    if !routed.is_empty() && decision.is_ok() {
        let theirs = from_other_account(&case.event);
        let still = route(rules, &theirs);
        if !still.is_empty() {
            problems.push(format!(
                "{origin}: another account's copy is routed by {:?}",
                still.iter().map(|r| &r.logical_id).collect::<Vec<_>>()
            ));
        }
        for (what, event) in [
            ("another account's copy", Some(theirs)),
            (
                "a copy recorded for another account",
                recorded_for_other_account(&case.event),
            ),
        ] {
            let Some(event) = event else { continue };
            match classify(&event, home) {
                Err(e) if is_other_account(&e) => {}
                other => problems.push(format!(
                    "{origin}: {what} is not rejected for its account: {other:?}"
                )),
            }
        }
    }
    problems
}

fn report(problems: &[String]) -> String {
    let shown: Vec<&String> = problems.iter().take(40).collect();
    format!(
        "{} disagreement(s) between infra/template.yaml and the classifier; the first:\n{}",
        problems.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    )
}

#[test]
fn the_rules_route_what_the_classifier_decides_and_nothing_else() {
    let rules = stack_rules();
    let home = home();
    let fixtures = fixture_events();
    let events = corpus::events(&fixtures);
    let examples = corpus::rule_examples(&rules, &corpus::bases(&fixtures));
    let mut seen = Seen::default();
    let mut problems = Vec::new();
    for case in &events {
        problems.extend(judge(&rules, &home, case, &mut seen));
    }
    let mut branches: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for example in &examples {
        branches
            .entry(example.rule.as_str())
            .or_default()
            .insert(example.branch);
        problems.extend(judge(&rules, &home, &example.case, &mut seen));
    }
    assert!(problems.is_empty(), "{}", report(&problems));

    // Coverage: every incident rule the classifier can raise was raised by a routed
    // event. The MFA audit's findings are raised by the scheduled audit, and a success
    // after failures by the failed sign-in counter (from a routed sign-in), not by an
    // event's classification.
    let missing: Vec<&&str> = rules::INCIDENT_RULES
        .iter()
        .filter(|r| {
            !rules::AUDIT_RULES.contains(*r)
                && **r != rules::CONSOLE_LOGIN_AFTER_FAILURES
                && !seen.routed_incidents.contains(**r)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no routed event raises {missing:?}: add a positive example (a fixture under \
         tasks/cordon-core/tests/fixtures) and make sure a rule routes it"
    );
    // Every call a detector claims has a positive and a negative example.
    for detector in DETECTORS {
        for name in detector.event_names {
            let call = (detector.event_source.to_string(), name.to_string());
            assert!(
                seen.positive_calls.contains(&call),
                "{} {name} ({:?}) never classifies as an incident: add a positive example",
                detector.event_source,
                detector.rules
            );
            assert!(
                seen.negative_calls.contains(&call),
                "{} {name} never classifies as not an incident",
                detector.event_source
            );
        }
    }
    // Every rule routes an incident, and every alternative of it was exercised.
    for rule in &rules {
        assert!(
            seen.rules_with_incidents.contains(&rule.logical_id),
            "{} routes no incident: it starts executions for nothing",
            rule.logical_id
        );
        let built = branches
            .get(rule.logical_id.as_str())
            .cloned()
            .unwrap_or_default();
        let all: BTreeSet<usize> = (0..rule.pattern.branch_count()).collect();
        assert_eq!(
            built, all,
            "{}: some alternatives could not be exercised",
            rule.logical_id
        );
    }
    assert!(
        seen.events > 1000,
        "the corpus is too small: {}",
        seen.events
    );
    eprintln!("judged {} events", seen.events);
}

/// The test's own teeth: a rule the classifier has no detection for, or a detection no
/// rule routes, is caught.
#[test]
fn the_check_catches_both_kinds_of_disagreement() {
    let home = home();
    let fixtures = fixture_events();
    let events = corpus::events(&fixtures);
    let extra = cordon_eventbridge::rules_from_str(
        "Resources:\n  Ec2:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: [aws.ec2]\n        account: ['111122223333']\n",
    )
    .expect("rule");
    let ec2 = corpus::rule_examples(&extra, &corpus::bases(&fixtures));
    let mut seen = Seen::default();
    let problems: Vec<String> = ec2
        .iter()
        .flat_map(|e| judge(&extra, &home, &e.case, &mut seen))
        .collect();
    assert!(
        problems.iter().any(|p| p.contains("has no rule")),
        "a rule routing EC2 calls by IAM users must disagree: {problems:?}"
    );
    // Without IamChangeRule, the IAM detections are never routed.
    let without_iam: Vec<Rule> = stack_rules()
        .into_iter()
        .filter(|r| r.logical_id != "IamChangeRule")
        .collect();
    let problems: Vec<String> = events
        .iter()
        .flat_map(|c| judge(&without_iam, &home, c, &mut seen))
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("iam.user-created") && p.contains("no rule routes it")),
        "{}",
        report(&problems)
    );
}
