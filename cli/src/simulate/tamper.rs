//! Attacks on Cordon itself, and root at work. Containment undone is really performed
//! (the `AWSDenyAll` policy containment attaches, detached); Cordon's own rules,
//! executions and quarantine policy live in the local stack, not the emulator, and the
//! emulator has no root session, so those scenarios deliver the events alone.
use anyhow::Context;
use serde_json::{Value, json};

use super::attacker::root_identity;
use super::cloudtrail::{ApiCall, Story, iam_response_date};
use super::scenario::{Lab, Pending, Target};

/// The AWS-managed policy containment attaches besides Cordon's own.
const AWS_DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";

pub fn quarantine_detached(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("sim-contained").await?;
        // What containment did to the user...
        lab.iam
            .attach_user_policy()
            .user_name(&user.name)
            .policy_arn(AWS_DENY_ALL)
            .send()
            .await
            .with_context(|| {
                format!(
                    "attaching AWSDenyAll to {} (the emulator needs AWS's managed policies: \
                     MOTO_IAM_LOAD_MANAGED_POLICIES=true)",
                    user.name
                )
            })?;
        // ...and the attacker undoing it.
        lab.iam
            .detach_user_policy()
            .user_name(&user.name)
            .policy_arn(AWS_DENY_ALL)
            .send()
            .await
            .with_context(|| format!("detaching AWSDenyAll from {}", user.name))?;
        Ok(user)
    })
}

/// `DetachUserPolicy AWSDenyAll`, as `cordon-detach-quarantine-policy.json`.
pub fn quarantine_detached_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "DetachUserPolicy")
            .request(json!({ "userName": t.name, "policyArn": AWS_DENY_ALL }))
            .event(story),
    ]
}

/// `CreatePolicyVersion` on the stack's quarantine policy, made the default: a quarantine
/// that denies nothing.
pub fn quarantine_policy_events(story: &Story, _: &Target) -> Vec<Value> {
    let arn = story.iam_arn(&format!(
        "policy/{}-{}",
        story.stack,
        cordon_core::quarantine::QUARANTINE_POLICY_NAME
    ));
    vec![
        ApiCall::new("iam", "CreatePolicyVersion")
            .request(json!({
                "policyArn": arn,
                "policyDocument": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"sts:GetCallerIdentity\", \"Resource\": \"*\"}]}",
                "setAsDefault": true,
            }))
            .response(json!({
                "policyVersion": {
                    "versionId": "v2",
                    "isDefaultVersion": true,
                    "createDate": iam_response_date(story.at),
                }
            }))
            .event(story),
    ]
}

/// `DisableRule` on the stack's IAM rule (CloudFormation names it
/// `<stack>-<LogicalId>-<suffix>`), as `cordon-disable-rule.json`.
pub fn rule_disabled_events(story: &Story, _: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("events", "DisableRule")
            .request(json!({
                "name": format!("{}-IamChangeRule-1PQ2R3S4T5U6", story.stack),
                "eventBusName": "default",
            }))
            .event(story),
    ]
}

/// `StopExecution` of one of the stack's incident executions, as
/// `cordon-stop-execution.json`.
pub fn execution_stopped_events(story: &Story, _: &Target) -> Vec<Value> {
    let execution = format!(
        "arn:aws:states:us-east-1:{}:execution:{}-incidents:{}",
        story.account(),
        story.stack,
        uuid::Uuid::new_v4()
    );
    vec![
        ApiCall::new("states", "StopExecution")
            .request(json!({ "executionArn": execution, "error": "", "cause": "" }))
            .response(json!({ "stopDate": iam_response_date(story.at) }))
            .event(story),
    ]
}

/// Root makes a bucket public (`PutBucketPolicy`): a write no detector claims, which Cordon
/// reports because root made it.
pub fn root_call_events(story: &Story, _: &Target) -> Vec<Value> {
    let bucket = format!("finance-exports-{}", story.account());
    vec![
        ApiCall::new("s3", "PutBucketPolicy")
            .by(root_identity(story.account()), "203.0.113.14")
            .request(json!({
                "bucketName": bucket,
                "Host": format!("{bucket}.s3.us-east-1.amazonaws.com"),
                "bucketPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "PublicRead",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": format!("arn:aws:s3:::{bucket}/*"),
                    }]
                },
                "policy": "",
            }))
            .event(story),
    ]
}
