//! The access guard against moto: a call the function's policy does not allow is
//! answered with AWS's error and has no effect; an allowed one goes through; every call is
//! logged with its decision. Needs moto (`cargo xtask test`); fails without it.
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cordon_aws::access::{Access, Encryption, Identity, Mode};
use cordon_aws::testing::{moto, unique};
use cordon_core::iam::{Policy, PolicySet};
use serde_json::json;

const ACCOUNT: &str = "123456789012";

fn identity() -> Identity {
    Identity {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account: ACCOUNT.into(),
    }
}

fn access(statements: serde_json::Value) -> Access {
    let policy = Policy::parse("Test Policies[0]", &statements).expect("policy");
    Access::new(
        "TestFunction",
        format!("arn:aws:iam::{ACCOUNT}:role/test-TestFunctionRole"),
        "test-function",
        PolicySet::new(vec![policy]),
        identity(),
    )
}

#[tokio::test]
async fn a_denied_dynamodb_write_is_answered_as_aws_does_and_never_sent() {
    let m = moto().await;
    let store = m.incident_store().await;
    let table = store.table_name().to_string();
    let table_arn = format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}");
    let key = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k");
    let access = access(json!([
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table_arn},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key}
    ]))
    .with_encryption(vec![Encryption {
        resource: table_arn.clone(),
        key: key.clone(),
    }]);
    let log = access.log.clone();
    let guarded = m.aws.clone().with_access(access).dynamodb();

    let item = |pk: &str| {
        [
            ("pk".to_string(), AttributeValue::S(pk.into())),
            ("sk".to_string(), AttributeValue::S("META".into())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let denied = guarded
        .put_item()
        .table_name(&table)
        .set_item(Some(item("INCIDENT#guard")))
        .send()
        .await
        .expect_err("PutItem is not allowed");
    assert_eq!(denied.code(), Some("AccessDeniedException"), "{denied:?}");
    let message = denied.message().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/test-TestFunctionRole/test-function \
             is not authorized to perform: dynamodb:PutItem on resource: {table_arn}"
        )),
        "{message}"
    );
    // It was never sent: the unguarded client finds no item.
    let found = m
        .dynamodb()
        .get_item()
        .table_name(&table)
        .set_key(Some(item("INCIDENT#guard")))
        .send()
        .await
        .expect("GetItem");
    assert!(found.item.is_none(), "a refused write must have no effect");

    // An allowed read goes through, and implies kms:Decrypt on the table's key.
    guarded
        .get_item()
        .table_name(&table)
        .set_key(Some(item("INCIDENT#guard")))
        .send()
        .await
        .expect("GetItem is allowed");
    let calls = log.calls();
    let actions: Vec<(&str, bool)> = calls
        .iter()
        .map(|c| (c.request.action.as_str(), c.decision.is_allowed()))
        .collect();
    assert_eq!(
        actions,
        [
            ("dynamodb:PutItem", false),
            ("kms:Decrypt", true),
            ("kms:GenerateDataKey", false),
            ("dynamodb:GetItem", true),
            ("kms:Decrypt", true),
        ]
    );
    assert_eq!(calls[1].implied_by.as_deref(), Some("dynamodb:PutItem"));
    assert_eq!(
        calls[1].request.values("kms:ViaService"),
        Some(&["dynamodb.us-east-1.amazonaws.com".to_string()][..])
    );
}

#[tokio::test]
async fn the_quarantine_condition_decides_an_attach() {
    let m = moto().await;
    let user = unique("guard-user");
    m.create_user(&user).await;
    let quarantine = m
        .create_policy(
            &unique("guard-quarantine"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        )
        .await;
    let other = m
        .create_policy(
            &unique("guard-other"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .await;
    let access = access(json!([{
        "Effect": "Allow", "Action": "iam:AttachUserPolicy",
        "Resource": format!("arn:aws:iam::{ACCOUNT}:user/*"),
        "Condition": {"ArnEquals": {"iam:PolicyARN": quarantine}}
    }]));
    let iam = m.aws.clone().with_access(access).iam();
    let denied = iam
        .attach_user_policy()
        .user_name(&user)
        .policy_arn(&other)
        .send()
        .await
        .expect_err("only the quarantine policy may be attached");
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied:?}");
    assert_eq!(m.attached_policy_arns(&user).await, Vec::<String>::new());
    iam.attach_user_policy()
        .user_name(&user)
        .policy_arn(&quarantine)
        .send()
        .await
        .expect("the quarantine policy may be attached");
    assert_eq!(m.attached_policy_arns(&user).await, vec![quarantine]);
}

#[tokio::test]
async fn publishing_to_an_encrypted_topic_needs_the_key_and_record_mode_only_logs() {
    let m = moto().await;
    let topic = m.create_topic().await;
    let key = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k");
    let policy = json!([{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}]);
    let encrypted = vec![Encryption {
        resource: topic.clone(),
        key,
    }];
    let enforced = access(policy.clone()).with_encryption(encrypted.clone());
    let denied = m
        .aws
        .clone()
        .with_access(enforced)
        .sns()
        .publish()
        .topic_arn(&topic)
        .message("m")
        .send()
        .await
        .expect_err("no kms:GenerateDataKey on the topic's key");
    assert_eq!(denied.code(), Some("KMSAccessDenied"), "{denied:?}");

    let recorded = access(policy)
        .with_encryption(encrypted)
        .with_mode(Mode::Record);
    let log = recorded.log.clone();
    m.aws
        .clone()
        .with_access(recorded)
        .sns()
        .publish()
        .topic_arn(&topic)
        .message("m")
        .send()
        .await
        .expect("record mode sends every call");
    let denied: Vec<String> = log
        .denied()
        .iter()
        .map(|c| c.request.action.clone())
        .collect();
    assert_eq!(denied, ["kms:GenerateDataKey", "kms:Decrypt"]);
}
