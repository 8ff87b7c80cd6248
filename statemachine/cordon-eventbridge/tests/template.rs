//! Reading rules out of CloudFormation / SAM templates.

use std::path::Path;

use cordon_eventbridge::{Error, RuleState, Rules, TargetArn, load_rules, route, rules_from_str};
use cordon_template::Values;
use serde_json::json;

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "cordon-${Env}"
  CreateUserRule:
    Type: AWS::Events::Rule
    Properties:
      Description: !Sub "CreateUser in ${AWS::AccountId}"
      State: ENABLED
      EventPattern:
        source: [aws.iam]
        detail:
          eventName: [CreateUser]
      Targets:
        - Id: sfn
          Arn: !Ref Machine
          RoleArn: !GetAtt EventsRole.Arn
        - Id: topic
          Arn: !GetAtt [Topic, Arn]
        - Id: long
          Arn:
            Fn::GetAtt: [Queue, Arn]
        - Id: literal
          Arn: arn:aws:sns:us-east-1:111122223333:ops
        - Id: conditional
          Arn: !If [IsProd, !Ref Topic, !Ref AWS::NoValue]
  DisabledRule:
    Type: AWS::Events::Rule
    Properties:
      State: DISABLED
      EventPattern:
        source: [aws.iam]
  NullRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"detail": {"responseElements": [null]}}'
  Nightly:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(0 3 * * ? *)
      Targets:
        - Id: audit
          Arn: !GetAtt Audit.Arn
  Audit:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Events:
        Daily:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
        OnStop:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.cloudtrail]
        Api:
          Type: Api
          Properties:
            Path: /x
            Method: get
Outputs:
  TopicArn:
    Value: !Ref Topic
"#;

#[test]
fn parses_rules_with_cloudformation_tags() {
    let all = Rules::parse(TEMPLATE, &Values::default()).expect("template parses");
    let ids: Vec<&str> = all.rules.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(
        ids,
        ["CreateUserRule", "DisabledRule", "NullRule", "AuditOnStop"]
    );
    let schedules: Vec<(&str, &str)> = all
        .schedules
        .iter()
        .map(|s| (s.logical_id.as_str(), s.schedule_expression.as_str()))
        .collect();
    assert_eq!(
        schedules,
        [
            ("Nightly", "cron(0 3 * * ? *)"),
            ("AuditDaily", "rate(1 day)")
        ]
    );
    assert_eq!(all.schedules[0].targets[0].logical_id(), Some("Audit"));

    let rule = &all.rules[0];
    assert_eq!(
        rule.description.as_deref(),
        Some("CreateUser in ${AWS::AccountId}")
    );
    assert_eq!(rule.state, RuleState::Enabled);
    assert_eq!(rule.target_logical_ids(), ["Machine", "Topic", "Queue"]);
    assert_eq!(rule.targets[0].id.as_deref(), Some("sfn"));
    assert_eq!(
        rule.targets[1].arn,
        TargetArn::GetAtt {
            logical_id: "Topic".into(),
            attribute: "Arn".into()
        }
    );
    assert_eq!(
        rule.targets[3].arn,
        TargetArn::Literal("arn:aws:sns:us-east-1:111122223333:ops".into())
    );
    assert_eq!(rule.targets[4].arn, TargetArn::Unresolved("!If".into()));

    assert_eq!(all.rules[1].state, RuleState::Disabled);
    assert_eq!(all.rules[3].target_logical_ids(), ["Audit"]);
}

#[test]
fn route_returns_enabled_matching_rules_in_order() {
    let rules = rules_from_str(TEMPLATE).expect("template parses");
    let event = json!({"source": "aws.iam", "detail": {"eventName": "CreateUser"}});
    let matched: Vec<&str> = route(&rules, &event)
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    // DisabledRule matches the pattern but is disabled.
    assert!(rules[1].pattern.matches(&event));
    assert_eq!(matched, ["CreateUserRule"]);

    let null_event = json!({"source": "x", "detail": {"responseElements": null}});
    let matched: Vec<&str> = route(&rules, &null_event)
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    assert_eq!(matched, ["NullRule"]);
    assert!(route(&rules, &json!({"source": "aws.s3"})).is_empty());
}

fn parse_err(yaml: &str) -> Error {
    match Rules::parse(yaml, &Values::default()) {
        Ok(r) => panic!("template accepted: {r:?}"),
        Err(e) => e,
    }
}

/// Without the stack's values, nothing in a pattern can be resolved: refused, naming the
/// resource, the field and the intrinsic.
#[test]
fn intrinsic_inside_a_pattern_names_resource_and_field() {
    let e = parse_err(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        account: [!Ref AWS::AccountId]\n",
    );
    let msg = e.to_string();
    assert!(
        matches!(&e, Error::Field { resource, field, .. } if resource == "R" && field == "Properties.EventPattern.account[0]"),
        "{msg}"
    );
    assert!(msg.contains("!Ref"), "{msg}");

    let e = parse_err(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        account:\n          - Ref: AWS::AccountId\n",
    );
    assert!(
        e.to_string().contains("Properties.EventPattern.account[0]"),
        "{e}"
    );
    assert!(e.to_string().contains("Ref"), "{e}");
}

#[test]
fn invalid_pattern_names_resource_field_and_problem() {
    let e = parse_err(
        "Resources:\n  BadRule:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        detail:\n          eventName: [{begins-with: Create}]\n",
    );
    assert_eq!(
        e.to_string(),
        "resource `BadRule`, field `Properties.EventPattern`: invalid event pattern at \
         `detail.eventName`: unknown match operator \"begins-with\"; expected one of prefix, \
         suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr"
    );
    assert!(matches!(e, Error::Pattern { .. }));
}

#[test]
fn other_template_errors() {
    let e = parse_err(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      State: !If [C, ENABLED, DISABLED]\n      EventPattern: {source: [x]}\n",
    );
    assert!(
        e.to_string()
            .contains("resource `R`, field `Properties.State`"),
        "{e}"
    );
    assert!(e.to_string().contains("!If"), "{e}");

    let e = parse_err(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      State: ENABLED\n",
    );
    assert!(
        e.to_string()
            .contains("neither an event pattern nor a schedule"),
        "{e}"
    );

    let e = parse_err(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: '{broken'\n",
    );
    assert!(e.to_string().contains("not valid JSON"), "{e}");

    assert!(matches!(
        parse_err("Parameters: {}\n"),
        Error::Template(cordon_template::Error::NoResources)
    ));
    assert!(matches!(
        parse_err("Resources: [\n"),
        Error::Template(cordon_template::Error::Yaml(_))
    ));

    let missing = Path::new("/nonexistent/cordon/template.yaml");
    let e = load_rules(missing, &Values::default()).expect_err("missing file");
    assert!(
        e.to_string().contains("/nonexistent/cordon/template.yaml"),
        "{e}"
    );
}

fn stack() -> Values {
    Values::new("111122223333", "us-east-1", "aws", "cordon")
}

const PINNED: &str = r#"
Parameters:
  Watched:
    Type: CommaDelimitedList
    Default: "alice,bob"
Resources:
  R:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        account: [!Ref AWS::AccountId]
        region: [!Ref AWS::Region]
        detail:
          userIdentity:
            arn: [!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/jdoe"]
            userName: !Ref Watched
"#;

/// Intrinsics in a pattern resolve against the stack's values, as CloudFormation resolves
/// them before `PutRule`: the rule then matches the stack's own account only.
#[test]
fn intrinsics_in_a_pattern_resolve_against_the_stack() {
    let template = cordon_template::Template::parse(PINNED).expect("template");
    let values = stack()
        .with_parameters(template.parameters(), &Default::default())
        .expect("parameters");
    let rules = Rules::from_template(&template, &values)
        .expect("resolved")
        .rules;
    assert_eq!(
        rules[0].pattern.source(),
        &json!({
            "account": ["111122223333"],
            "region": ["us-east-1"],
            "detail": {"userIdentity": {
                "arn": ["arn:aws:iam::111122223333:user/jdoe"],
                "userName": ["alice", "bob"]
            }}
        })
    );
    let event = |account: &str| {
        json!({"account": account, "region": "us-east-1", "detail": {"userIdentity": {
            "arn": "arn:aws:iam::111122223333:user/jdoe", "userName": "bob"}}})
    };
    assert_eq!(route(&rules, &event("111122223333")).len(), 1);
    assert!(route(&rules, &event("444455556666")).is_empty());
}

#[test]
fn what_the_stack_cannot_resolve_is_refused() {
    let unknown = "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        detail:\n          bucket: [!Ref LogBucket]\n";
    let e = Rules::parse(unknown, &stack()).expect_err("unknown name");
    assert!(
        matches!(&e, Error::Field { resource, field, .. } if resource == "R" && field == "Properties.EventPattern.detail.bucket[0]"),
        "{e}"
    );
    assert!(e.to_string().contains("LogBucket"), "{e}");
    let conditional = "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        account: [!If [C, '1', '2']]\n";
    let e = Rules::parse(conditional, &stack()).expect_err("!If");
    assert!(e.to_string().contains("!If"), "{e}");
    assert!(
        e.to_string().contains("Properties.EventPattern.account[0]"),
        "{e}"
    );
    // A value that resolves to something a pattern cannot hold is the pattern's error.
    let number = "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        account: !Ref AWS::AccountId\n";
    let e = Rules::parse(number, &stack()).expect_err("not a list");
    assert!(matches!(e, Error::Pattern { .. }), "{e}");
}

const STATES: &str = r#"
Resources:
  Changes:
    Type: AWS::Events::Rule
    Properties:
      State: ENABLED
      EventPattern: {source: [{prefix: "aws."}], detail: {eventName: [{exists: true}]}}
  Everything:
    Type: AWS::Events::Rule
    Properties:
      State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
      EventPattern: {source: [{prefix: "aws."}], detail: {eventName: [{exists: true}]}}
  Off:
    Type: AWS::Events::Rule
    Properties:
      State: DISABLED
      EventPattern: {source: [{prefix: "aws."}], detail: {eventName: [{exists: true}]}}
"#;

fn call(source: &str, name: &str, read_only: bool, category: &str) -> serde_json::Value {
    json!({
        "source": source, "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventName": name, "readOnly": read_only, "eventCategory": category,
                   "managementEvent": category == "Management"}
    })
}

fn routed(rules: &[cordon_eventbridge::Rule], event: &serde_json::Value) -> Vec<String> {
    route(rules, event)
        .into_iter()
        .map(|r| r.logical_id.clone())
        .collect()
}

/// An ENABLED rule is not offered read-only management events; only
/// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS receives them; DISABLED receives nothing.
#[test]
fn rule_state_decides_which_cloudtrail_events_a_rule_sees() {
    let rules = rules_from_str(STATES).expect("rules");
    assert_eq!(
        routed(&rules, &call("aws.iam", "CreateUser", false, "Management")),
        ["Changes", "Everything"]
    );
    assert_eq!(
        routed(&rules, &call("aws.iam", "ListUsers", true, "Management")),
        ["Everything"]
    );
    // Data events are not management events: the ENABLED rule sees a read-only one.
    assert_eq!(
        routed(&rules, &call("aws.s3", "GetObject", true, "Data")),
        ["Changes", "Everything"]
    );
    let mut sign_in = call("aws.signin", "ConsoleLogin", true, "Management");
    sign_in["detail-type"] = json!("AWS Console Sign In via CloudTrail");
    assert_eq!(routed(&rules, &sign_in), ["Everything"]);
    // Not from CloudTrail: the state does not filter it.
    let mut custom = call("aws.iam", "ListUsers", true, "Management");
    custom["detail-type"] = json!("Something else");
    assert_eq!(routed(&rules, &custom), ["Changes", "Everything"]);
    assert!(RuleState::Enabled.receives(&call("aws.iam", "CreateUser", false, "Management")));
    assert!(!RuleState::Disabled.receives(&call("aws.iam", "CreateUser", false, "Management")));
}
