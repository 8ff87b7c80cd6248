//! Who attacks: a compromised IAM user with an access key, really present in IAM, and how
//! CloudTrail names it in `userIdentity`.
use anyhow::Context;
use serde_json::{Value, json};

/// The compromised identity the attacker acts as.
#[derive(Debug, Clone)]
pub struct Attacker {
    pub user_name: String,
    pub principal_id: String,
    pub access_key_id: String,
    pub account_id: String,
    pub source_ip: String,
    pub user_agent: String,
}

impl Attacker {
    /// `jdoe`, compromised, calling from the documentation range with the AWS CLI on Kali,
    /// as in the fixture story.
    pub fn jdoe(account_id: &str, access_key_id: &str, principal_id: &str) -> Self {
        Attacker {
            user_name: "jdoe".into(),
            principal_id: principal_id.into(),
            access_key_id: access_key_id.into(),
            account_id: account_id.into(),
            source_ip: "203.0.113.66".into(),
            user_agent: "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 \
                         md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython \
                         cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 \
                         md/prompt#off md/command#iam.create-user"
                .into(),
        }
    }

    /// Really creates the IAM user `name` with an access key, and returns it as the
    /// compromised identity (calling as [`Attacker::jdoe`] does, under its own name): for
    /// tests that run side by side on one emulator and must not share `jdoe`.
    pub async fn create(
        iam: &aws_sdk_iam::Client,
        account_id: &str,
        name: &str,
    ) -> anyhow::Result<Attacker> {
        let user = iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .with_context(|| format!("creating the attacker {name}"))?
            .user
            .context("IAM returned no user")?;
        let key = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .with_context(|| format!("creating the access key of the attacker {name}"))?
            .access_key
            .context("IAM returned no access key")?;
        let mut attacker = Attacker::jdoe(account_id, &key.access_key_id, &user.user_id);
        attacker.user_name = name.to_string();
        Ok(attacker)
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account_id, self.user_name)
    }

    /// The `userIdentity` of a call made with the attacker's access key.
    pub fn user_identity(&self) -> Value {
        json!({
            "type": "IAMUser",
            "principalId": self.principal_id,
            "arn": self.arn(),
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
            "userName": self.user_name,
        })
    }
}

/// The root user's `userIdentity` in a console session (sign-in events, and calls made
/// from the console: no access key of its own).
pub fn root_identity(account_id: &str) -> Value {
    json!({
        "type": "Root",
        "principalId": account_id,
        "arn": format!("arn:aws:iam::{account_id}:root"),
        "accountId": account_id,
        "accessKeyId": "",
    })
}

/// Ensures the compromised user `jdoe` exists with an access key, and returns it as an
/// [`Attacker`]. Safe when several simulations start at once: whoever loses the race to
/// create `jdoe` (or its key) reads what the winner created.
pub async fn compromised_jdoe(
    iam: &aws_sdk_iam::Client,
    account_id: &str,
) -> anyhow::Result<Attacker> {
    let user = match iam.get_user().user_name("jdoe").send().await {
        Ok(out) => out.user,
        Err(_) => match iam.create_user().user_name("jdoe").send().await {
            Ok(out) => out.user,
            Err(created) => {
                iam.get_user()
                    .user_name("jdoe")
                    .send()
                    .await
                    .map_err(|_| created)
                    .context("creating the compromised user jdoe")?
                    .user
            }
        },
    }
    .context("IAM returned no user for jdoe")?;
    let key_id = match first_key(iam).await? {
        Some(id) => id,
        None => match iam.create_access_key().user_name("jdoe").send().await {
            Ok(out) => {
                out.access_key
                    .context("IAM returned no access key")?
                    .access_key_id
            }
            // Another simulation created one meanwhile (IAM allows two per user).
            Err(e) => first_key(iam)
                .await?
                .ok_or(e)
                .context("creating jdoe's access key")?,
        },
    };
    Ok(Attacker::jdoe(account_id, &key_id, &user.user_id))
}

async fn first_key(iam: &aws_sdk_iam::Client) -> anyhow::Result<Option<String>> {
    let keys = iam
        .list_access_keys()
        .user_name("jdoe")
        .send()
        .await
        .context("listing jdoe's access keys")?;
    Ok(keys
        .access_key_metadata()
        .first()
        .and_then(|k| k.access_key_id())
        .map(str::to_string))
}
