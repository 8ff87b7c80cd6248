//! The IAM requests one SDK operation makes: its action on the real resource ARN, with
//! the condition keys the call carries, and the KMS requests it implies.
//!
//! Resource ARNs are rendered from the ARN formats in [`cordon_core::iam::catalogue`],
//! so an action's resource type is the one AWS documents (a `dynamodb:Query` on an index
//! is a request on the index; `states:SendTaskSuccess` is a request on `*`).
//!
//! An operation this file does not model becomes a request on `*`. That is never looser
//! than AWS: only a statement whose `Resource` is `*` (or a `NotResource`) matches `*`,
//! and such a statement also matches the real resource.
//!
//! KMS: a call on a table or topic encrypted with a customer managed key is also a KMS
//! request on that key, which the service makes with the caller's permissions
//! (`kms:ViaService` names the service). SNS documents what a publisher needs
//! (`kms:GenerateDataKey` and `kms:Decrypt`). For DynamoDB the developer guide describes
//! DynamoDB decrypting the table key with the caller's permissions (`kms:Decrypt`) on
//! every access; whether a write also needs `kms:GenerateDataKey` could not be settled
//! from the documentation, so writes require it too: offline must never be looser than
//! AWS.
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use cordon_core::iam::{Request, catalogue};

use super::guard::Access;

/// Renders the ARN of one of the action's resource types (by its name in the catalogue)
/// from the type's own placeholders; `*` when it cannot.
type Render<'a> = &'a dyn Fn(&str, &[(&str, &str)]) -> String;

/// The requests of operation `operation` of SDK service `service` (`Metadata::service`,
/// e.g. `DynamoDB`, `SFN`) with `input`, each with the action that implies it when it is
/// a KMS request made on the caller's behalf.
pub(crate) fn requests(
    access: &Access,
    service: &str,
    operation: &str,
    input: &Input,
) -> Vec<(Request, Option<String>)> {
    let action = format!("{}:{operation}", iam_prefix(service));
    let resource = |kind: &str, names: &[(&str, &str)]| -> String {
        let id = &access.identity;
        catalogue::lookup(&action)
            .and_then(|a| a.resource_type(kind))
            .and_then(|t| t.render(&id.partition, &id.region, &id.account, names))
            .unwrap_or_else(|| "*".into())
    };
    let mut request = match service {
        "DynamoDB" => dynamodb(&action, input, &resource),
        "IAM" => iam(&action, input, &resource),
        "SNS" => sns(&action, input),
        "SFN" => sfn(&action, input),
        _ => Request::new(action.clone(), "*"),
    };
    request = request
        .with("aws:RequestedRegion", vec![access.identity.region.clone()])
        .with(
            "aws:PrincipalAccount",
            vec![access.identity.account.clone()],
        )
        .with("aws:PrincipalArn", vec![access.role_arn.clone()]);
    let implied = implied_kms(access, service, &request);
    let mut out = vec![(request, None)];
    out.extend(implied.into_iter().map(|r| (r, Some(action.clone()))));
    out
}

/// The IAM service prefix of an SDK service name.
fn iam_prefix(service: &str) -> String {
    match service {
        "SFN" => "states".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// A table name may also be given as the table's ARN.
fn table<'a>(name: Option<&'a str>, resource: Render<'_>) -> (String, Option<&'a str>) {
    match name {
        Some(arn) if arn.starts_with("arn:") => {
            (arn.to_owned(), arn.rsplit_once("table/").map(|(_, n)| n))
        }
        Some(name) => (resource("table", &[("TableName", name)]), Some(name)),
        None => ("*".into(), None),
    }
}

fn leading_key(item: Option<&std::collections::HashMap<String, AttributeValue>>) -> Vec<String> {
    item.and_then(|i| i.get("pk"))
        .and_then(|v| v.as_s().ok())
        .map(|s| vec![s.clone()])
        .unwrap_or_default()
}

fn dynamodb(action: &str, input: &Input, resource: Render<'_>) -> Request {
    use aws_sdk_dynamodb::operation::{
        get_item::GetItemInput, put_item::PutItemInput, query::QueryInput,
        update_item::UpdateItemInput,
    };
    let with_key = |request: Request, keys: Vec<String>| match keys.is_empty() {
        true => request,
        false => request.with("dynamodb:LeadingKeys", keys),
    };
    if let Some(i) = input.downcast_ref::<GetItemInput>() {
        let (arn, _) = table(i.table_name(), resource);
        return with_key(Request::new(action, arn), leading_key(i.key()));
    }
    if let Some(i) = input.downcast_ref::<PutItemInput>() {
        let (arn, _) = table(i.table_name(), resource);
        return with_key(Request::new(action, arn), leading_key(i.item()));
    }
    if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
        let (arn, _) = table(i.table_name(), resource);
        return with_key(Request::new(action, arn), leading_key(i.key()));
    }
    if let Some(i) = input.downcast_ref::<QueryInput>() {
        let (arn, name) = table(i.table_name(), resource);
        return match (i.index_name(), name) {
            (Some(index), Some(name)) => Request::new(
                action,
                resource("index", &[("TableName", name), ("IndexName", index)]),
            ),
            _ => Request::new(action, arn),
        };
    }
    Request::new(action, "*")
}

/// The `UserName` of the IAM operations Cordon calls.
fn iam_user_name(input: &Input) -> Option<&str> {
    use aws_sdk_iam::operation::*;
    macro_rules! user_name_of {
        ($($module:ident::$ty:ident),* $(,)?) => {
            $(if let Some(i) = input.downcast_ref::<$module::$ty>() {
                return i.user_name();
            })*
        };
    }
    user_name_of!(
        get_user::GetUserInput,
        list_user_tags::ListUserTagsInput,
        list_groups_for_user::ListGroupsForUserInput,
        list_attached_user_policies::ListAttachedUserPoliciesInput,
        list_user_policies::ListUserPoliciesInput,
        list_access_keys::ListAccessKeysInput,
        list_mfa_devices::ListMfaDevicesInput,
        get_login_profile::GetLoginProfileInput,
        attach_user_policy::AttachUserPolicyInput,
        detach_user_policy::DetachUserPolicyInput,
        update_access_key::UpdateAccessKeyInput,
        delete_login_profile::DeleteLoginProfileInput,
        tag_user::TagUserInput,
        untag_user::UntagUserInput,
    );
    None
}

fn iam(action: &str, input: &Input, resource: Render<'_>) -> Request {
    use aws_sdk_iam::operation::{
        attach_user_policy::AttachUserPolicyInput, detach_user_policy::DetachUserPolicyInput,
        get_role::GetRoleInput, tag_user::TagUserInput, untag_user::UntagUserInput,
    };
    // Roles are read by name too (resolving identities), so the ARN has no path either.
    if let Some(role) = input
        .downcast_ref::<GetRoleInput>()
        .and_then(GetRoleInput::role_name)
    {
        return Request::new(action, resource("role", &[("RoleNameWithPath", role)]));
    }
    // The user's ARN has its path (`user/ops/bob`), which the request does not carry; the
    // users Cordon contains are read by name, so the ARN is rendered without a path. A
    // statement that names users by a path would be checked against the wrong ARN here.
    let arn = match iam_user_name(input) {
        Some(name) => resource("user", &[("UserNameWithPath", name)]),
        None => "*".into(),
    };
    let mut request = Request::new(action, arn);
    let policy_arn = input
        .downcast_ref::<AttachUserPolicyInput>()
        .and_then(AttachUserPolicyInput::policy_arn)
        .or_else(|| {
            input
                .downcast_ref::<DetachUserPolicyInput>()
                .and_then(DetachUserPolicyInput::policy_arn)
        });
    if let Some(policy) = policy_arn {
        request = request.with("iam:PolicyARN", vec![policy.to_owned()]);
    }
    if let Some(i) = input.downcast_ref::<TagUserInput>() {
        let keys = i.tags().iter().map(|t| t.key().to_owned()).collect();
        request = request.with("aws:TagKeys", keys);
        for tag in i.tags() {
            request = request.with(
                format!("aws:RequestTag/{}", tag.key()),
                vec![tag.value().to_owned()],
            );
        }
    }
    if let Some(i) = input.downcast_ref::<UntagUserInput>() {
        request = request.with("aws:TagKeys", i.tag_keys().to_vec());
    }
    request
}

fn sns(action: &str, input: &Input) -> Request {
    use aws_sdk_sns::operation::publish::PublishInput;
    let topic = input
        .downcast_ref::<PublishInput>()
        .and_then(|i| i.topic_arn().or(i.target_arn()));
    Request::new(action, topic.unwrap_or("*"))
}

fn sfn(action: &str, input: &Input) -> Request {
    use aws_sdk_sfn::operation::start_execution::StartExecutionInput;
    let machine = input
        .downcast_ref::<StartExecutionInput>()
        .and_then(StartExecutionInput::state_machine_arn);
    // SendTask* take no resource type (see the catalogue): their resource is `*`.
    Request::new(action, machine.unwrap_or("*"))
}

/// The KMS requests a call on an encrypted table or topic implies.
fn implied_kms(access: &Access, service: &str, request: &Request) -> Vec<Request> {
    let (via, context_key, context_value, actions): (&str, &str, String, &[&str]) = match service {
        "DynamoDB" => {
            // An index is encrypted with its table's key.
            let table = request.resource.split("/index/").next().unwrap_or_default();
            let Some(name) = table.rsplit_once("table/").map(|(_, n)| n.to_owned()) else {
                return Vec::new();
            };
            let actions: &[&str] = match request.action.as_str() {
                "dynamodb:GetItem" | "dynamodb:Query" => &["kms:Decrypt"],
                _ => &["kms:Decrypt", "kms:GenerateDataKey"],
            };
            let Some(key) = access.key_of(table) else {
                return Vec::new();
            };
            return kms(
                access,
                key,
                "dynamodb",
                "aws:dynamodb:tableName",
                name,
                actions,
            );
        }
        "SNS" => (
            "sns",
            "aws:sns:topicArn",
            request.resource.clone(),
            &["kms:GenerateDataKey", "kms:Decrypt"],
        ),
        _ => return Vec::new(),
    };
    match access.key_of(&request.resource) {
        Some(key) => kms(access, key, via, context_key, context_value, actions),
        None => Vec::new(),
    }
}

fn kms(
    access: &Access,
    key: &str,
    via: &str,
    context_key: &str,
    context_value: String,
    actions: &[&str],
) -> Vec<Request> {
    actions
        .iter()
        .map(|action| {
            Request::new(*action, key)
                .with(
                    "kms:ViaService",
                    vec![format!("{via}.{}.amazonaws.com", access.identity.region)],
                )
                .with("kms:CallerAccount", vec![access.identity.account.clone()])
                .with(
                    format!("kms:EncryptionContext:{context_key}"),
                    vec![context_value.clone()],
                )
                .with("aws:RequestedRegion", vec![access.identity.region.clone()])
                .with(
                    "aws:PrincipalAccount",
                    vec![access.identity.account.clone()],
                )
                .with("aws:PrincipalArn", vec![access.role_arn.clone()])
        })
        .collect()
}
