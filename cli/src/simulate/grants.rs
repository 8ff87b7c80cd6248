//! Administrator access granted: to a user (managed or inline policy, admin group), to a
//! role or a group, by a new default version of a managed policy; and AWS's own
//! compromised-key quarantine policy appearing on a user.
use anyhow::Context;
use serde_json::{Value, json};

use super::cloudtrail::{ApiCall, Story};
use super::scenario::{Lab, Pending, Target};

const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
/// The policy AWS attaches to a user whose access key it found exposed in public.
const AWS_COMPROMISED_KEY_QUARANTINE: &str =
    "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";

/// A policy that grants everything, as the attacker writes it (a JSON string in CloudTrail).
const EVERYTHING: &str = "{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n            \"Sid\": \"Maintenance\",\n            \"Effect\": \"Allow\",\n            \"Action\": \"*\",\n            \"Resource\": \"*\"\n        }\n    ]\n}";
/// A policy that grants all of IAM: administrator access by another name.
const ALL_OF_IAM: &str = "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iam:*\", \"Resource\": \"*\"}]}";
/// A harmless policy, for the version the attack replaces.
const READ_ONE_BUCKET: &str = "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::ci-artifacts/*\"}]}";
/// Who may assume the role that is given administrator access: EC2 instances.
const EC2_TRUST: &str = "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"Service\": \"ec2.amazonaws.com\"}, \"Action\": \"sts:AssumeRole\"}]}";

pub fn admin_policy_attached(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("support-admin").await?;
        lab.iam
            .attach_user_policy()
            .user_name(&user.name)
            .policy_arn(ADMINISTRATOR_ACCESS)
            .send()
            .await
            .with_context(|| format!("attaching AdministratorAccess to {}", user.name))?;
        Ok(user)
    })
}

/// `AttachUserPolicy AdministratorAccess`, as
/// `iam-attach-user-policy-administrator-access.json`.
pub fn admin_policy_attached_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![attach_user_policy(story, &t.name, ADMINISTRATOR_ACCESS)]
}

fn attach_user_policy(story: &Story, user: &str, policy_arn: &str) -> Value {
    ApiCall::new("iam", "AttachUserPolicy")
        .request(json!({ "userName": user, "policyArn": policy_arn }))
        .event(story)
}

/// The inline policy's name.
const INLINE_POLICY: &str = "maintenance-temp";

pub fn inline_admin_policy(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("svc-legacy").await?;
        lab.iam
            .put_user_policy()
            .user_name(&user.name)
            .policy_name(INLINE_POLICY)
            .policy_document(EVERYTHING)
            .send()
            .await
            .with_context(|| format!("putting an inline admin policy on {}", user.name))?;
        Ok(user)
    })
}

/// `PutUserPolicy` of `*` on `*`, as `iam-put-user-policy-inline-admin.json`.
pub fn inline_admin_policy_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "PutUserPolicy")
            .request(json!({
                "userName": t.name,
                "policyName": INLINE_POLICY,
                "policyDocument": EVERYTHING,
            }))
            .event(story),
    ]
}

/// The admin group a user is added to: `<target>-admins`, which holds AdministratorAccess.
fn admin_group(user: &str) -> String {
    format!("{user}-admins")
}

pub fn added_to_admin_group(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("sim-helper").await?;
        let group = admin_group(&user.name);
        lab.iam
            .create_group()
            .group_name(&group)
            .send()
            .await
            .with_context(|| format!("creating the group {group}"))?;
        lab.iam
            .attach_group_policy()
            .group_name(&group)
            .policy_arn(ADMINISTRATOR_ACCESS)
            .send()
            .await
            .with_context(|| format!("attaching AdministratorAccess to {group}"))?;
        lab.iam
            .add_user_to_group()
            .group_name(&group)
            .user_name(&user.name)
            .send()
            .await
            .with_context(|| format!("adding {} to {group}", user.name))?;
        Ok(user)
    })
}

/// `AddUserToGroup` of an administrators' group, as `iam-add-user-to-group-admins.json`.
pub fn added_to_admin_group_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "AddUserToGroup")
            .request(json!({ "groupName": admin_group(&t.name), "userName": t.name }))
            .event(story),
    ]
}

pub fn admin_to_role(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let role = lab.role("app-deployer", EC2_TRUST).await?;
        lab.iam
            .attach_role_policy()
            .role_name(&role.name)
            .policy_arn(ADMINISTRATOR_ACCESS)
            .send()
            .await
            .with_context(|| format!("attaching AdministratorAccess to the role {}", role.name))?;
        Ok(role)
    })
}

/// `AttachRolePolicy AdministratorAccess`.
pub fn admin_to_role_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "AttachRolePolicy")
            .request(json!({ "roleName": t.name, "policyArn": ADMINISTRATOR_ACCESS }))
            .event(story),
    ]
}

/// The inline policy put on a group.
const GROUP_POLICY: &str = "iam-everything";

pub fn admin_to_group(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let name = lab.name("helpdesk");
        let group = lab
            .iam
            .create_group()
            .group_name(&name)
            .send()
            .await
            .with_context(|| format!("creating the group {name}"))?
            .group
            .context("IAM returned no group")?;
        lab.iam
            .put_group_policy()
            .group_name(&name)
            .policy_name(GROUP_POLICY)
            .policy_document(ALL_OF_IAM)
            .send()
            .await
            .with_context(|| format!("putting iam:* on the group {name}"))?;
        Ok(Target {
            name,
            id: group.group_id,
            ..Target::default()
        })
    })
}

/// `PutGroupPolicy` of `iam:*`.
pub fn admin_to_group_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "PutGroupPolicy")
            .request(json!({
                "groupName": t.name,
                "policyName": GROUP_POLICY,
                "policyDocument": ALL_OF_IAM,
            }))
            .event(story),
    ]
}

pub fn admin_policy_version(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let name = lab.name("ci-deploy");
        let policy = lab
            .iam
            .create_policy()
            .policy_name(&name)
            .policy_document(READ_ONE_BUCKET)
            .send()
            .await
            .with_context(|| format!("creating the policy {name}"))?
            .policy
            .context("IAM returned no policy")?;
        let arn = policy.arn.context("IAM returned no policy ARN")?;
        lab.iam
            .create_policy_version()
            .policy_arn(&arn)
            .policy_document(EVERYTHING)
            .set_as_default(true)
            .send()
            .await
            .with_context(|| format!("making an admin version of {name} its default"))?;
        Ok(Target {
            name,
            id: policy.policy_id.unwrap_or_default(),
            ..Target::default()
        })
    })
}

/// `CreatePolicyVersion` granting everything, made the default, as
/// `iam-create-policy-version-admin-default.json`.
pub fn admin_policy_version_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "CreatePolicyVersion")
            .request(json!({
                "policyArn": story.iam_arn(&format!("policy/{}", t.name)),
                "policyDocument": EVERYTHING,
                "setAsDefault": true,
            }))
            .response(json!({
                "policyVersion": {
                    "versionId": "v2",
                    "isDefaultVersion": true,
                    "createDate": super::cloudtrail::iam_response_date(story.at),
                }
            }))
            .event(story),
    ]
}

pub fn aws_quarantine(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("svc-uploader").await?;
        lab.iam
            .attach_user_policy()
            .user_name(&user.name)
            .policy_arn(AWS_COMPROMISED_KEY_QUARANTINE)
            .send()
            .await
            .with_context(|| {
                format!(
                    "attaching AWSCompromisedKeyQuarantineV3 to {} (the emulator needs AWS's \
                     managed policies: MOTO_IAM_LOAD_MANAGED_POLICIES=true)",
                    user.name
                )
            })?;
        Ok(user)
    })
}

/// AWS Support's service role attaches `AWSCompromisedKeyQuarantineV3`, as
/// `iam-attach-user-policy-aws-compromised-key-quarantine.json`.
pub fn aws_quarantine_events(story: &Story, t: &Target) -> Vec<Value> {
    let account = story.account();
    let role_id = "AROAJ7NAMRQ3KZGTJ5ZPE";
    let support = json!({
        "type": "AssumedRole",
        "principalId": format!("{role_id}:AWSCompromisedKeyQuarantine"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/AWSServiceRoleForSupport/AWSCompromisedKeyQuarantine"),
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": format!("arn:aws:iam::{account}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"),
                "accountId": account,
                "userName": "AWSServiceRoleForSupport",
            },
            "attributes": {
                "creationDate": story.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "mfaAuthenticated": "false",
            }
        },
        "invokedBy": "support.amazonaws.com",
    });
    vec![
        ApiCall::new("iam", "AttachUserPolicy")
            .by(support, "support.amazonaws.com")
            .user_agent("support.amazonaws.com")
            .request(json!({ "userName": t.name, "policyArn": AWS_COMPROMISED_KEY_QUARANTINE }))
            .event(story),
    ]
}
