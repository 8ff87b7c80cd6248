//! The CloudFormation adapter (`StackOutputs`) against moto, over the real wire protocol:
//! a stack's outputs by key, and a missing stack said as such. moto's CloudFormation
//! covers this (a topic and its outputs), not Cordon's whole template.
use cordon_aws::StackOutputs;
use cordon_aws::stack::StackError;
use cordon_aws::testing::{moto, unique};

#[tokio::test]
async fn outputs_are_read_by_key_and_a_missing_stack_is_not_found() {
    let m = moto().await;
    let name = unique("cordon-stack");
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"IncidentTopic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "IncidentTopicArn": {"Value": {"Ref": "IncidentTopic"}},
            "IncidentTableName": {"Value": "cordon-IncidentTable-X"}
        }
    });
    m.aws
        .cloudformation()
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating the stack: {e:?}"));
    let outputs = m.aws.stack_outputs().outputs(&name).await.expect("outputs");
    assert_eq!(outputs.stack_name, name);
    assert_eq!(
        outputs.get("IncidentTableName"),
        Some("cordon-IncidentTable-X")
    );
    assert!(
        outputs
            .get("IncidentTopicArn")
            .is_some_and(|arn| arn.starts_with("arn:aws:sns:")),
        "{outputs:?}"
    );
    assert_eq!(outputs.get("StateMachineArn"), None);

    let missing = unique("no-such-stack");
    assert_eq!(
        m.aws.stack_outputs().outputs(&missing).await,
        Err(StackError::NotFound { stack: missing })
    );
}
