//! Attack simulation: really perform the attacker's IAM call against the (emulated) IAM API,
//! then build the CloudTrail record exactly as EventBridge delivers it to a rule target.
//!
//! The event's shape follows the shared fixture `iam-create-user-by-iam-user.json`: the
//! EventBridge envelope (`time` = `eventTime`, `region` = `awsRegion`, `account` =
//! `recipientAccountId`, `resources` = `[]`) around a CloudTrail record whose
//! `responseElements.user.createDate` uses IAM's non-ISO date format.
use anyhow::Context;
use chrono::{DateTime, Utc};
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

    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account_id, self.user_name)
    }
}

/// What IAM returned for the created user.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub created: DateTime<Utc>,
}

/// IAM's `createDate` format in CloudTrail `responseElements`: `Sep 27, 2024 2:05:02 PM`.
pub fn iam_response_date(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

/// The EventBridge event for `attacker` creating `user` at `at`.
pub fn create_user_event(attacker: &Attacker, user: &CreatedUser, at: DateTime<Utc>) -> Value {
    let time = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": attacker.account_id,
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": attacker.principal_id,
                "arn": attacker.arn(),
                "accountId": attacker.account_id,
                "accessKeyId": attacker.access_key_id,
                "userName": attacker.user_name,
            },
            "eventTime": time,
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser",
            "awsRegion": "us-east-1",
            "sourceIPAddress": attacker.source_ip,
            "userAgent": attacker.user_agent,
            "requestParameters": { "userName": user.user_name },
            "responseElements": {
                "user": {
                    "path": user.path,
                    "userName": user.user_name,
                    "userId": user.user_id,
                    "arn": user.arn,
                    "createDate": iam_response_date(user.created),
                }
            },
            "requestID": uuid::Uuid::new_v4().to_string(),
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": attacker.account_id,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": "iam.amazonaws.com"
            }
        }
    })
}

/// Ensures the compromised user `jdoe` exists with an access key, and returns it as an
/// [`Attacker`].
pub async fn compromised_jdoe(
    iam: &aws_sdk_iam::Client,
    account_id: &str,
) -> anyhow::Result<Attacker> {
    let user = match iam.get_user().user_name("jdoe").send().await {
        Ok(out) => out.user,
        Err(_) => {
            iam.create_user()
                .user_name("jdoe")
                .send()
                .await
                .context("creating the compromised user jdoe")?
                .user
        }
    }
    .context("IAM returned no user for jdoe")?;
    let keys = iam
        .list_access_keys()
        .user_name("jdoe")
        .send()
        .await
        .context("listing jdoe's access keys")?;
    let key_id = match keys
        .access_key_metadata()
        .first()
        .and_then(|k| k.access_key_id())
    {
        Some(id) => id.to_string(),
        None => {
            iam.create_access_key()
                .user_name("jdoe")
                .send()
                .await
                .context("creating jdoe's access key")?
                .access_key
                .context("IAM returned no access key")?
                .access_key_id
        }
    };
    Ok(Attacker::jdoe(account_id, &key_id, &user.user_id))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn iam_dates_look_like_cloudtrail_writes_them() {
        let at = Utc
            .with_ymd_and_hms(2024, 9, 27, 14, 5, 2)
            .single()
            .expect("date");
        assert_eq!(iam_response_date(at), "Sep 27, 2024 2:05:02 PM");
        let morning = Utc
            .with_ymd_and_hms(2022, 1, 3, 0, 9, 18)
            .single()
            .expect("date");
        assert_eq!(iam_response_date(morning), "Jan 3, 2022 12:09:18 AM");
    }

    #[test]
    fn the_simulated_event_classifies_like_the_fixture() {
        let at = Utc
            .with_ymd_and_hms(2024, 9, 27, 14, 5, 2)
            .single()
            .expect("date");
        let attacker = Attacker::jdoe(
            "111122223333",
            "AKIASIIC13IR9CP5I5N9",
            "AIDATKH17R74G9JS70Z8W",
        );
        let user = CreatedUser {
            user_name: "support-admin".into(),
            user_id: "AIDAS6N9IR1JRT0EET1YF".into(),
            arn: "arn:aws:iam::111122223333:user/support-admin".into(),
            path: "/".into(),
            created: at,
        };
        let event = create_user_event(&attacker, &user, at);
        assert_eq!(event["time"], event["detail"]["eventTime"]);
        assert_eq!(event["account"], event["detail"]["recipientAccountId"]);
        match cordon_core::classify::classify(&event).expect("valid") {
            cordon_core::classify::Classification::Incident(d) => {
                assert_eq!(d.rule, "iam.user-created");
                let principal = d.principal.expect("principal");
                assert_eq!(principal.name.as_deref(), Some("support-admin"));
                assert_eq!(d.actor.name.as_deref(), Some("jdoe"));
            }
            other => panic!("expected an incident, got {other:?}"),
        }
        // The fixture and the simulation agree on every key of the envelope and record.
        let dir = std::env::var_os("CORDON_FIXTURES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../shared/fixtures/events")
            });
        let fixture_path = dir.join("iam-create-user-by-iam-user.json");
        let text = std::fs::read_to_string(&fixture_path).unwrap_or_else(|e| {
            panic!(
                "the shared fixture {} is missing ({e}); the checkout needs ../shared beside it, \
                 or set CORDON_FIXTURES_DIR",
                fixture_path.display()
            )
        });
        let fixture: Value = serde_json::from_str(&text).expect("json");
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys(&event), keys(&fixture));
        assert_eq!(keys(&event["detail"]), keys(&fixture["detail"]));
        assert_eq!(
            keys(&event["detail"]["userIdentity"]),
            keys(&fixture["detail"]["userIdentity"])
        );
    }
}
