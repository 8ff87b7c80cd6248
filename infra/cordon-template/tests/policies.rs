//! Resolving the identity policies of the roles a template deploys.
use std::collections::BTreeMap;

use cordon_template::{Template, Values};
use serde_json::json;

const TEMPLATE: &str = r#"
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Deny:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Deny, Action: "*", Resource: "*"}]
  Worker:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: worker}}
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt Table.Arn
        - LambdaInvokePolicy: {FunctionName: !Ref Helper}
        - !Ref Deny
  Helper:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: helper}}
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref WorkerRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: sns:Publish, Resource: !Sub "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:t"}]
  Unrelated:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: other
      Roles: [!Ref HelperRole]
      PolicyDocument: {Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
  EventsRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: Start
          PolicyDocument:
            Statement: [{Effect: Allow, Action: states:StartExecution, Resource: !Ref Machine}]
      ManagedPolicyArns: [!Ref Deny]
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref Worker}
"#;

fn values() -> Values {
    let mut v = Values::new("123456789012", "eu-west-1", "aws", "s")
        .with_parameters(&[], &BTreeMap::new())
        .expect("no parameters");
    v.set_attribute(
        "Table",
        "Arn",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/t",
    );
    v.set_ref("Helper", "s-Helper-1");
    v.set_ref("Worker", "s-Worker-1");
    v.set_ref(
        "Machine",
        "arn:aws:states:eu-west-1:123456789012:stateMachine:m",
    );
    v
}

#[test]
fn a_functions_role_gets_its_policies_expanded_and_the_attached_ones() {
    let template = Template::parse(TEMPLATE).expect("template");
    let worker = template.function("Worker").expect("worker");
    let policies = template
        .function_policies(worker, &values())
        .expect("resolved");
    let sources: Vec<&str> = policies.iter().map(|p| p.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "Worker Policies[0]",
            "Worker Policies[1] (LambdaInvokePolicy)",
            "Worker Policies[2] = Deny",
            "Extra (AWS::IAM::Policy)"
        ]
    );
    assert_eq!(
        policies[0].document,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/t"}]})
    );
    // SAM's definition, with the parameter put in: any version or alias of the function.
    assert_eq!(
        policies[1].document["Statement"][0],
        json!({"Action": ["lambda:InvokeFunction"], "Effect": "Allow",
            "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:s-Helper-1*"})
    );
    assert_eq!(policies[2].document["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        policies[3].document["Statement"][0]["Resource"],
        "arn:aws:sns:eu-west-1:123456789012:t"
    );
}

#[test]
fn roles_and_state_machines_resolve_too() {
    let template = Template::parse(TEMPLATE).expect("template");
    let role = template
        .role_policies("EventsRole", &values())
        .expect("resolved");
    assert_eq!(role.len(), 2);
    assert_eq!(role[0].source, "EventsRole Policies[Start]");
    assert_eq!(
        role[0].document["Statement"][0]["Resource"],
        "arn:aws:states:eu-west-1:123456789012:stateMachine:m"
    );
    assert_eq!(role[1].source, "EventsRole ManagedPolicyArns[0] = Deny");
    let machine = template.state_machines().next().expect("machine");
    let policies = template
        .state_machine_policies(machine, &values())
        .expect("resolved");
    assert_eq!(
        policies[0].document["Statement"][0]["Resource"],
        "arn:aws:lambda:eu-west-1:123456789012:function:s-Worker-1*"
    );
}

#[test]
fn what_cannot_be_known_offline_is_an_error() {
    let unknown_template = r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [DynamoDBCrudPolicy: {TableName: t}]
"#;
    let template = Template::parse(unknown_template).expect("template");
    let f = template.function("F").expect("F");
    let e = template
        .function_policies(f, &values())
        .expect_err("unknown SAM template");
    assert!(e.to_string().contains("DynamoDBCrudPolicy"), "{e}");

    let aws_managed = r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [AWSLambdaBasicExecutionRole]
"#;
    let template = Template::parse(aws_managed).expect("template");
    let f = template.function("F").expect("F");
    let e = template
        .function_policies(f, &values())
        .expect_err("AWS managed policy");
    assert!(e.to_string().contains("cannot be known offline"), "{e}");

    let bad_parameter = r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [LambdaInvokePolicy: {Function: x}]
"#;
    let template = Template::parse(bad_parameter).expect("template");
    let f = template.function("F").expect("F");
    let e = template
        .function_policies(f, &values())
        .expect_err("wrong parameter");
    assert!(e.to_string().contains("FunctionName"), "{e}");
}

#[test]
fn the_infra_template_resolves_for_every_role() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template = Template::load(&path).expect("template");
    let mut values = Values::new("123456789012", "us-east-1", "aws", "s")
        .with_parameters(template.parameters(), &BTreeMap::new())
        .expect("parameters");
    for r in template.resources() {
        values.set_ref(&r.logical_id, format!("ref-{}", r.logical_id));
        for attribute in ["Arn", "FunctionUrl", "QueueName"] {
            values.set_attribute(
                &r.logical_id,
                attribute,
                format!("arn:aws:x:::{}", r.logical_id),
            );
        }
    }
    for f in template.functions() {
        let policies = template.function_policies(f, &values).expect("resolved");
        assert!(!policies.is_empty(), "{} has policies", f.logical_id);
    }
    let machine = template.state_machines().next().expect("the workflow");
    assert!(
        !template
            .state_machine_policies(machine, &values)
            .expect("resolved")
            .is_empty()
    );
    assert!(
        !template
            .role_policies("EventsToStepFunctionsRole", &values)
            .expect("resolved")
            .is_empty()
    );
}
