//! Backdoor users and stolen credentials: users created, deleted or renamed, keys and
//! console passwords given to someone else, MFA removed.
use anyhow::Context;
use serde_json::{Value, json};

use super::attacker::root_identity;
use super::cloudtrail::{ApiCall, Story, iam_response_date};
use super::create_user::{CreatedUser, create_user_event};
use super::scenario::{Lab, Pending, Target};

/// The MFA codes the emulator accepts when a device is enabled.
const MFA_CODES: (&str, &str) = ("123456", "654321");

pub fn backdoor_user(lab: &Lab) -> Pending<'_> {
    Box::pin(lab.user("support-admin"))
}

/// `CreateUser`, as `iam-create-user-by-iam-user.json`.
pub fn create_user_events(story: &Story, t: &Target) -> Vec<Value> {
    let user = CreatedUser {
        user_name: t.name.clone(),
        user_id: t.id.clone(),
        arn: story.iam_arn(&format!("user/{}", t.name)),
        path: "/".into(),
        created: story.at,
    };
    vec![create_user_event(&story.attacker, &user, story.at)]
}

pub fn delete_user(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("secops-monitor").await?;
        lab.iam
            .delete_user()
            .user_name(&user.name)
            .send()
            .await
            .with_context(|| format!("deleting {}", user.name))?;
        Ok(user)
    })
}

pub fn delete_user_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "DeleteUser")
            .request(json!({ "userName": t.name }))
            .event(story),
    ]
}

/// The name a renamed user gets: a familiar one, that name-based lists trust.
fn renamed(name: &str) -> String {
    format!("breakglass-{name}")
}

pub fn rename_user(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.user("sim-backdoor").await?;
        lab.iam
            .update_user()
            .user_name(&user.name)
            .new_user_name(renamed(&user.name))
            .send()
            .await
            .with_context(|| format!("renaming {}", user.name))?;
        Ok(user)
    })
}

pub fn rename_user_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "UpdateUser")
            .request(json!({ "userName": t.name, "newUserName": renamed(&t.name) }))
            .event(story),
    ]
}

pub fn key_for_other_user(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let mut user = lab.user("svc-backup").await?;
        let key = lab
            .iam
            .create_access_key()
            .user_name(&user.name)
            .send()
            .await
            .with_context(|| format!("creating an access key for {}", user.name))?
            .access_key
            .context("IAM returned no access key")?;
        user.key_id = Some(key.access_key_id);
        Ok(user)
    })
}

/// `CreateAccessKey` for another user, as `iam-create-access-key-for-other-user.json`.
pub fn key_for_other_user_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "CreateAccessKey")
            .request(json!({ "userName": t.name }))
            .response(json!({
                "accessKey": {
                    "userName": t.name,
                    "accessKeyId": t.key_id,
                    "status": "Active",
                    "createDate": iam_response_date(story.at),
                }
            }))
            .event(story),
    ]
}

/// Root mints itself an access key from the console. The emulator has no root session
/// to call as: the event alone is delivered.
pub fn root_key_events(story: &Story, _: &Target) -> Vec<Value> {
    let key = format!("AKIA{}", &uuid::Uuid::new_v4().simple().to_string()[..16]).to_uppercase();
    vec![
        ApiCall::new("iam", "CreateAccessKey")
            .by(root_identity(story.account()), "203.0.113.14")
            .request(Value::Null)
            .response(json!({
                "accessKey": {
                    "accessKeyId": key,
                    "status": "Active",
                    "createDate": iam_response_date(story.at),
                }
            }))
            .event(story),
    ]
}

pub fn login_profile_created(lab: &Lab) -> Pending<'_> {
    Box::pin(lab.console_user("svc-reporting"))
}

/// `CreateLoginProfile` for a programmatic user, as `iam-create-login-profile.json`.
pub fn login_profile_created_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "CreateLoginProfile")
            .request(json!({ "userName": t.name, "passwordResetRequired": false }))
            .response(json!({
                "loginProfile": {
                    "userName": t.name,
                    "createDate": iam_response_date(story.at),
                    "passwordResetRequired": false,
                }
            }))
            .event(story),
    ]
}

pub fn login_profile_updated(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let user = lab.console_user("sim-bob").await?;
        lab.iam
            .update_login_profile()
            .user_name(&user.name)
            .password(format!("Reset-{}-Passw0rd!", lab.suffix))
            .password_reset_required(false)
            .send()
            .await
            .with_context(|| format!("resetting the password of {}", user.name))?;
        Ok(user)
    })
}

/// `UpdateLoginProfile` (a password reset), as `iam-update-login-profile.json`.
pub fn login_profile_updated_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "UpdateLoginProfile")
            .request(json!({ "userName": t.name, "passwordResetRequired": false }))
            .event(story),
    ]
}

/// The serial number of the virtual MFA device named after the user.
fn mfa_serial(story: &Story, user: &str) -> String {
    story.iam_arn(&format!("mfa/{user}"))
}

/// A user with an enabled virtual MFA device (named after the user), then deactivated.
async fn user_with_mfa_deactivated(lab: &Lab, base: &str) -> anyhow::Result<(Target, String)> {
    let user = lab.console_user(base).await?;
    let serial = lab
        .iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(&user.name)
        .send()
        .await
        .with_context(|| format!("creating {}'s virtual MFA device", user.name))?
        .virtual_mfa_device
        .context("IAM returned no MFA device")?
        .serial_number;
    lab.iam
        .enable_mfa_device()
        .user_name(&user.name)
        .serial_number(&serial)
        .authentication_code1(MFA_CODES.0)
        .authentication_code2(MFA_CODES.1)
        .send()
        .await
        .with_context(|| format!("enabling {}'s MFA device", user.name))?;
    lab.iam
        .deactivate_mfa_device()
        .user_name(&user.name)
        .serial_number(&serial)
        .send()
        .await
        .with_context(|| format!("deactivating {}'s MFA device", user.name))?;
    Ok((user, serial))
}

pub fn mfa_deactivated(lab: &Lab) -> Pending<'_> {
    Box::pin(async move { Ok(user_with_mfa_deactivated(lab, "sim-carol").await?.0) })
}

/// `DeactivateMFADevice`, as `iam-deactivate-mfa-device.json`.
pub fn mfa_deactivated_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "DeactivateMFADevice")
            .request(json!({ "userName": t.name, "serialNumber": mfa_serial(story, &t.name) }))
            .event(story),
    ]
}

pub fn mfa_device_deleted(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let (user, serial) = user_with_mfa_deactivated(lab, "sim-dave").await?;
        lab.iam
            .delete_virtual_mfa_device()
            .serial_number(&serial)
            .send()
            .await
            .with_context(|| format!("deleting {}'s MFA device", user.name))?;
        Ok(user)
    })
}

/// `DeleteVirtualMFADevice` after the device was deactivated.
pub fn mfa_device_deleted_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "DeleteVirtualMFADevice")
            .request(json!({ "serialNumber": mfa_serial(story, &t.name) }))
            .event(story),
    ]
}
