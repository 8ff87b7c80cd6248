//! `cordon simulate create-user`, the first simulation (and the demo's): the compromised
//! `jdoe` creates a backdoor user, and its CloudTrail record is put to the local stack.
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::attacker::{Attacker, compromised_jdoe};
use super::cloudtrail::{ApiCall, Story, iam_response_date};
use super::deliver::{Delivery, deliver};
use crate::local::LOCAL_ACCOUNT;

/// What IAM returned for the created user.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub created: DateTime<Utc>,
}

/// The EventBridge event for `attacker` creating `user` at `at`, shaped like
/// `iam-create-user-by-iam-user.json`.
pub fn create_user_event(attacker: &Attacker, user: &CreatedUser, at: DateTime<Utc>) -> Value {
    let story = Story {
        attacker: attacker.clone(),
        stack: String::new(),
        at,
    };
    ApiCall::new("iam", "CreateUser")
        .request(json!({ "userName": user.user_name }))
        .response(json!({
            "user": {
                "path": user.path,
                "userName": user.user_name,
                "userId": user.user_id,
                "arn": user.arn,
                "createDate": iam_response_date(user.created),
            }
        }))
        .event(&story)
}

/// Really creates the backdoor user in IAM and returns what IAM said about it.
pub async fn create_backdoor_user(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> anyhow::Result<CreatedUser> {
    let out = iam
        .create_user()
        .user_name(name)
        .send()
        .await
        .with_context(|| format!("creating the backdoor user {name}"))?;
    let user = out.user.context("IAM returned no user")?;
    let created = DateTime::from_timestamp(user.create_date.secs(), 0).unwrap_or_else(Utc::now);
    Ok(CreatedUser {
        user_name: user.user_name,
        user_id: user.user_id,
        arn: user.arn,
        path: user.path,
        created,
    })
}

/// What `cordon simulate create-user` did.
#[derive(Debug, Clone)]
pub struct SimulatedCreateUser {
    pub user: CreatedUser,
    pub attacker: Attacker,
    pub event_id: String,
}

/// The compromised user `jdoe` really creates the backdoor user `name` (default: the first
/// free `support-admin[-N]`) in IAM at `AWS_ENDPOINT_URL`, and the CloudTrail record is
/// delivered to the stack as CloudTrail would.
pub async fn create_user(
    name: Option<String>,
    to: &Delivery,
    allow_aws: bool,
) -> anyhow::Result<SimulatedCreateUser> {
    crate::local::endpoint::ensure_local("cordon simulate", allow_aws)?;
    let sdk = cordon_aws::load_sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let attacker = compromised_jdoe(&iam, LOCAL_ACCOUNT).await?;
    let name = match name {
        Some(n) => n,
        None => free_user_name(&iam, "support-admin").await?,
    };
    let user = create_backdoor_user(&iam, &name).await?;
    let event = create_user_event(&attacker, &user, Utc::now());
    let ids = deliver(to, std::slice::from_ref(&event))
        .await
        .with_context(|| format!("the user {name} was created"))?;
    Ok(SimulatedCreateUser {
        user,
        attacker,
        event_id: ids.into_iter().next().unwrap_or_default(),
    })
}

/// The first of `base`, `base-1`, `base-2`, ... that is not an IAM user yet.
pub async fn free_user_name(iam: &aws_sdk_iam::Client, base: &str) -> anyhow::Result<String> {
    for n in 0..100 {
        let candidate = if n == 0 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        if iam.get_user().user_name(&candidate).send().await.is_err() {
            return Ok(candidate);
        }
    }
    bail!("could not find a free user name like {base}")
}
