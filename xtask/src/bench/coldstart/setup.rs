//! What the quarantine task needs in moto, made over the AWS wire protocols on loopback
//! (xtask has no SDK): the stack's roles, policies and incident table, and a user to
//! contain for each sample. moto routes a request by the credential scope of its
//! `Authorization` header and does not check the signature.
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::moto::REGION;

fn authorization(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, \
         SignedHeaders=content-type;host, Signature=0"
    )
}

pub struct Moto {
    agent: ureq::Agent,
    endpoint: String,
}

/// `application/x-www-form-urlencoded` for one value.
fn form_value(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of the first `<tag>…</tag>` in an XML answer.
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Every `<tag>…</tag>` in an XML answer.
pub fn xml_texts<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

pub struct User {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub access_key: String,
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

impl Moto {
    pub fn new(endpoint: &str) -> Moto {
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Moto {
            agent: ureq::Agent::new_with_config(config),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        }
    }

    /// One IAM (query protocol) call; the XML answer.
    pub fn iam(&self, action: &str, params: &[(&str, &str)]) -> anyhow::Result<String> {
        let mut body = format!("Action={action}&Version=2010-05-08");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", form_value(v)));
        }
        let mut resp = self
            .agent
            .post(&format!("{}/", self.endpoint))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header("Authorization", &authorization("iam"))
            .send(body)
            .with_context(|| format!("iam:{action}"))?;
        let status = resp.status();
        let text = resp.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("iam:{action}: HTTP {status}: {text}");
        }
        Ok(text)
    }

    /// One DynamoDB (JSON protocol) call.
    pub fn dynamodb(&self, action: &str, body: &Value) -> anyhow::Result<Value> {
        let mut resp = self
            .agent
            .post(&format!("{}/", self.endpoint))
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", &format!("DynamoDB_20120810.{action}"))
            .header("Authorization", &authorization("dynamodb"))
            .send(body.to_string())
            .with_context(|| format!("dynamodb:{action}"))?;
        let status = resp.status();
        let text = resp.body_mut().read_to_string()?;
        if !status.is_success() {
            bail!("dynamodb:{action}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("dynamodb:{action}: {text}"))
    }

    /// A Lambda execution role named like SAM names them; its ARN.
    pub fn role(&self, name: &str) -> anyhow::Result<String> {
        let xml = self.iam(
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", TRUST)],
        )?;
        xml_text(&xml, "Arn")
            .map(str::to_owned)
            .with_context(|| format!("CreateRole {name}: no Arn in {xml}"))
    }

    /// A customer-managed policy; its ARN.
    pub fn policy(&self, name: &str, document: &str) -> anyhow::Result<String> {
        let xml = self.iam(
            "CreatePolicy",
            &[("PolicyName", name), ("PolicyDocument", document)],
        )?;
        xml_text(&xml, "Arn")
            .map(str::to_owned)
            .with_context(|| format!("CreatePolicy {name}: no Arn in {xml}"))
    }

    /// The incident table (`cordon_aws::dynamo::table::table_definition`, `TABLE.md`).
    pub fn table(&self, name: &str) -> anyhow::Result<()> {
        let attrs: Vec<Value> = [
            "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk",
        ]
        .iter()
        .map(|a| json!({"AttributeName": a, "AttributeType": "S"}))
        .collect();
        let gsi = |name: &str, pk: &str, sk: &str| {
            json!({
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"}
                ],
                "Projection": {"ProjectionType": "ALL"}
            })
        };
        self.dynamodb(
            "CreateTable",
            &json!({
                "TableName": name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": attrs,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"}
                ],
                "GlobalSecondaryIndexes": [
                    gsi("gsi1", "gsi1pk", "gsi1sk"),
                    gsi("gsi2", "gsi2pk", "gsi2sk"),
                    gsi("gsi3", "gsi3pk", "gsi3sk"),
                ]
            }),
        )?;
        for _ in 0..100 {
            let t = self.dynamodb("DescribeTable", &json!({"TableName": name}))?;
            if t["Table"]["TableStatus"] == "ACTIVE" {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("table {name} did not become ACTIVE")
    }

    /// A user with an active access key and a console password: what a backdoor user
    /// has, and what the quarantine's remediation acts on.
    pub fn user(&self, name: &str) -> anyhow::Result<User> {
        let xml = self.iam("CreateUser", &[("UserName", name)])?;
        let arn = xml_text(&xml, "Arn").context("CreateUser: no Arn")?;
        let id = xml_text(&xml, "UserId").context("CreateUser: no UserId")?;
        let key = self.iam("CreateAccessKey", &[("UserName", name)])?;
        let access_key = xml_text(&key, "AccessKeyId").context("CreateAccessKey: no id")?;
        self.iam(
            "CreateLoginProfile",
            &[("UserName", name), ("Password", "Tr0ub4dor&3-long-enough")],
        )?;
        Ok(User {
            name: name.to_owned(),
            arn: arn.to_owned(),
            id: id.to_owned(),
            access_key: access_key.to_owned(),
        })
    }

    /// What the quarantine changed, read back from IAM: attached policy ARNs, the status
    /// of each key, whether the user still has a console password.
    pub fn contained(&self, user: &str) -> anyhow::Result<(Vec<String>, Vec<String>, bool)> {
        let attached = self.iam("ListAttachedUserPolicies", &[("UserName", user)])?;
        let mut policies: Vec<String> = xml_texts(&attached, "PolicyArn")
            .into_iter()
            .map(str::to_owned)
            .collect();
        policies.sort();
        let keys = self.iam("ListAccessKeys", &[("UserName", user)])?;
        let statuses = xml_texts(&keys, "Status")
            .into_iter()
            .map(str::to_owned)
            .collect();
        let login = self.iam("GetLoginProfile", &[("UserName", user)]).is_ok();
        Ok((policies, statuses, login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_forms() {
        let xml = "<R><User><Arn>arn:a</Arn><UserId>AIDA1</UserId></User><Arn>x</Arn></R>";
        assert_eq!(xml_text(xml, "UserId"), Some("AIDA1"));
        assert_eq!(xml_texts(xml, "Arn"), vec!["arn:a", "x"]);
        assert_eq!(form_value("a b&{\"c\"}"), "a%20b%26%7B%22c%22%7D");
    }
}
