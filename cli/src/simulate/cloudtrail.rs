//! CloudTrail records, as EventBridge delivers them to a rule target, shaped like the
//! shared fixtures (`../shared/fixtures/events`, whose README lists the envelope mapping):
//! `time` = `eventTime`, `region` = `awsRegion`, `account` = `recipientAccountId`,
//! `resources` = `[]`; API calls as `AWS API Call via CloudTrail` from `aws.<service>`,
//! console sign-ins as `AWS Console Sign In via CloudTrail` from `aws.signin` (no
//! `requestID`, no `arn` on a failed sign-in); dates inside `responseElements` in IAM's
//! non-ISO format.
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::attacker::Attacker;

/// The Region IAM, root and sign-in events are recorded in.
const REGION: &str = "us-east-1";

/// Where the events of a simulation happen and who acts in them.
#[derive(Debug, Clone)]
pub struct Story {
    pub attacker: Attacker,
    /// The stack whose own resources the tamper scenarios attack (`CORDON_STACK_NAME`).
    pub stack: String,
    pub at: DateTime<Utc>,
}

impl Story {
    pub fn account(&self) -> &str {
        &self.attacker.account_id
    }

    /// The same story `seconds` later.
    pub fn later(&self, seconds: i64) -> Story {
        Story {
            at: self.at + Duration::seconds(seconds),
            ..self.clone()
        }
    }

    /// `arn:aws:iam::<account>:<resource>`.
    pub fn iam_arn(&self, resource: &str) -> String {
        format!("arn:aws:iam::{}:{resource}", self.account())
    }
}

/// IAM's `createDate` format in CloudTrail `responseElements`: `Sep 27, 2024 2:05:02 PM`.
pub fn iam_response_date(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

fn event_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The EventBridge envelope around a CloudTrail record `detail`.
fn envelope(
    detail_type: &str,
    source: &str,
    account: &str,
    at: DateTime<Utc>,
    detail: Value,
) -> Value {
    json!({
        "version": "0",
        "id": uuid(),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(at),
        "region": REGION,
        "resources": [],
        "detail": detail,
    })
}

/// One API call's CloudTrail record: by the story's attacker unless [`ApiCall::by`] says
/// otherwise.
#[derive(Debug, Clone)]
pub struct ApiCall {
    service: &'static str,
    name: &'static str,
    identity: Option<Value>,
    source_ip: Option<String>,
    user_agent: Option<String>,
    request: Value,
    response: Value,
}

impl ApiCall {
    /// `name` on `<service>.amazonaws.com` (`service` as in the event source: `iam`,
    /// `cloudtrail`, `events`, `states`, `s3`).
    pub fn new(service: &'static str, name: &'static str) -> ApiCall {
        ApiCall {
            service,
            name,
            identity: None,
            source_ip: None,
            user_agent: None,
            request: Value::Null,
            response: Value::Null,
        }
    }

    pub fn request(mut self, request: Value) -> ApiCall {
        self.request = request;
        self
    }

    pub fn response(mut self, response: Value) -> ApiCall {
        self.response = response;
        self
    }

    /// Made by `identity` (a `userIdentity`) from `source_ip`.
    pub fn by(mut self, identity: Value, source_ip: &str) -> ApiCall {
        self.identity = Some(identity);
        self.source_ip = Some(source_ip.to_string());
        self
    }

    /// Made with `user_agent` (an AWS service calls as itself: `support.amazonaws.com`).
    pub fn user_agent(mut self, user_agent: &str) -> ApiCall {
        self.user_agent = Some(user_agent.to_string());
        self
    }

    /// The EventBridge event for this call in `story`.
    pub fn event(self, story: &Story) -> Value {
        let account = story.account();
        let time = event_time(story.at);
        let host = if self.service == "iam" {
            "iam.amazonaws.com".to_string()
        } else {
            format!("{}.{REGION}.amazonaws.com", self.service)
        };
        let detail = json!({
            "eventVersion": if self.service == "iam" { "1.09" } else { "1.10" },
            "userIdentity": self.identity.unwrap_or_else(|| story.attacker.user_identity()),
            "eventTime": time,
            "eventSource": format!("{}.amazonaws.com", self.service),
            "eventName": self.name,
            "awsRegion": REGION,
            "sourceIPAddress": self.source_ip.unwrap_or_else(|| story.attacker.source_ip.clone()),
            "userAgent": self.user_agent.unwrap_or_else(|| story.attacker.user_agent.clone()),
            "requestParameters": self.request,
            "responseElements": self.response,
            "requestID": uuid(),
            "eventID": uuid(),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": host,
            }
        });
        envelope(
            "AWS API Call via CloudTrail",
            &format!("aws.{}", self.service),
            account,
            story.at,
            detail,
        )
    }
}

/// The browser an attacker signs in with.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

/// Where a console sign-in goes after it succeeds.
const LOGIN_TO: &str = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&region=us-east-1&state=hashArgsFromTB_us-east-1_7d0c8a2f1b3e4c55";

/// The `userIdentity` of an IAM user's console sign-in. A failed one has no `arn` (and
/// an empty `accessKeyId`), as CloudTrail writes it.
pub fn sign_in_identity(account: &str, user_name: &str, user_id: &str, failed: bool) -> Value {
    if failed {
        json!({
            "type": "IAMUser",
            "principalId": user_id,
            "accountId": account,
            "accessKeyId": "",
            "userName": user_name,
        })
    } else {
        json!({
            "type": "IAMUser",
            "principalId": user_id,
            "arn": format!("arn:aws:iam::{account}:user/{user_name}"),
            "accountId": account,
            "userName": user_name,
        })
    }
}

/// A `ConsoleLogin` without MFA by `identity` from `source_ip`: `Success`, or `Failure`
/// with CloudTrail's `Failed authentication`.
pub fn console_login(story: &Story, identity: Value, source_ip: &str, success: bool) -> Value {
    let mut detail = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": event_time(story.at),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": REGION,
        "sourceIPAddress": source_ip,
        "userAgent": BROWSER,
    });
    let fields = detail.as_object_mut().expect("an object");
    if !success {
        // Where CloudTrail writes it: after userAgent.
        fields.insert("errorMessage".into(), json!("Failed authentication"));
    }
    let rest = json!({
        "requestParameters": null,
        "responseElements": {"ConsoleLogin": if success { "Success" } else { "Failure" }},
        "additionalEventData": {
            "LoginTo": LOGIN_TO,
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
        "eventID": uuid(),
        "readOnly": false,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": true,
        "recipientAccountId": story.account(),
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "signin.aws.amazon.com",
        }
    });
    if let Value::Object(rest) = rest {
        fields.extend(rest);
    }
    envelope(
        "AWS Console Sign In via CloudTrail",
        "aws.signin",
        story.account(),
        story.at,
        detail,
    )
}

/// The root user's console password changed (`PasswordUpdated`), from `source_ip`.
pub fn root_password_updated(story: &Story, source_ip: &str) -> Value {
    let detail = json!({
        "eventVersion": "1.09",
        "userIdentity": super::attacker::root_identity(story.account()),
        "eventTime": event_time(story.at),
        "eventSource": "signin.amazonaws.com",
        "eventName": "PasswordUpdated",
        "awsRegion": REGION,
        "sourceIPAddress": source_ip,
        "userAgent": BROWSER,
        "requestParameters": null,
        "responseElements": {"PasswordUpdated": "Success"},
        "additionalEventData": null,
        "requestID": uuid(),
        "eventID": uuid(),
        "readOnly": false,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": true,
        "recipientAccountId": story.account(),
        "eventCategory": "Management",
    });
    envelope(
        "AWS Console Sign In via CloudTrail",
        "aws.signin",
        story.account(),
        story.at,
        detail,
    )
}

/// The schedule rule's event that starts the MFA audit (`detail` `{}`, the rule in
/// `resources`), as `scheduled-daily-audit-trigger.json`.
pub fn scheduled_event(account: &str, rule_name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": event_time(at),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{account}:rule/{rule_name}")],
        "detail": {},
    })
}
