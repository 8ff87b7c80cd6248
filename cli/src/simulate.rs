//! Attack simulation: really perform the attacker's IAM call against the (emulated) IAM API,
//! then build the CloudTrail record exactly as EventBridge delivers it to a rule target.
//!
//! The event's shape follows the shared fixture `iam-create-user-by-iam-user.json`: the
//! EventBridge envelope (`time` = `eventTime`, `region` = `awsRegion`, `account` =
//! `recipientAccountId`, `resources` = `[]`) around a CloudTrail record whose
//! `responseElements.user.createDate` uses IAM's non-ISO date format.
//!
//! [`create_user`] is `cordon simulate create-user`: the attack, then its event put to a
//! running `cordon local up` as an EventBridge client puts it.
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use cordon_loopback::{Client, ClientResponse};
use serde_json::{Value, json};

use crate::local::LOCAL_ACCOUNT;

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

/// What `cordon simulate create-user` did.
#[derive(Debug, Clone)]
pub struct SimulatedCreateUser {
    pub user: CreatedUser,
    pub attacker: Attacker,
    pub event_id: String,
}

/// The compromised user `jdoe` really creates the backdoor user `name` (default: the first
/// free `support-admin[-N]`) in IAM at `AWS_ENDPOINT_URL`, and the CloudTrail record is
/// put to the PutEvents API at `events_endpoint` as an EventBridge client would.
pub async fn create_user(
    name: Option<String>,
    events_endpoint: &str,
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
    let request = json!({"Entries": [put_events_entry(&event)]});
    let response = put_events(events_endpoint, &request)
        .await
        .with_context(|| {
            format!(
                "putting the event to {events_endpoint} (is `cordon local up` running?); \
             the user {name} was created"
            )
        })?;
    let body = response.text();
    if response.status != 200 {
        bail!("PutEvents answered {}: {body}", response.status);
    }
    let response: Value = serde_json::from_str(&body)
        .with_context(|| format!("PutEvents answered something that is not JSON: {body}"))?;
    let entry = &response["Entries"][0];
    let Some(event_id) = entry["EventId"].as_str() else {
        bail!(
            "PutEvents refused the event: {} {}",
            entry["ErrorCode"].as_str().unwrap_or("(no error code)"),
            entry["ErrorMessage"].as_str().unwrap_or("")
        );
    };
    Ok(SimulatedCreateUser {
        user,
        attacker,
        event_id: event_id.to_string(),
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

/// The PutEvents entry an EventBridge client puts for `event` (an envelope as a rule
/// target sees it): `Detail` is JSON text.
pub fn put_events_entry(event: &Value) -> Value {
    json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "Resources": event["resources"],
        "Time": event["time"],
    })
}

/// POSTs a PutEvents request (awsJson1_1) to `endpoint` (`http://host:port`), as the
/// EventBridge SDKs do.
pub async fn put_events(endpoint: &str, request: &Value) -> anyhow::Result<ClientResponse> {
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    Ok(Client::new()
        .post(
            &url,
            &[
                ("x-amz-target", "AWSEvents.PutEvents"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            request.to_string(),
        )
        .await?)
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
