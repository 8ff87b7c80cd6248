//! Ways in from outside: a role another account can assume, an identity provider whoever
//! controls it can federate through.
use anyhow::Context;
use serde_json::{Value, json};

use super::cloudtrail::{ApiCall, Story, iam_response_date};
use super::scenario::{Lab, MAX_SESSION_SECONDS, Pending, Target};

/// The attacker's own account, trusted by the backdoor role.
const ATTACKER_ACCOUNT: &str = "444455556666";

fn external_trust() -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Principal\": {{\n        \"AWS\": \"arn:aws:iam::{ATTACKER_ACCOUNT}:root\"\n      }},\n      \"Action\": \"sts:AssumeRole\"\n    }}\n  ]\n}}"
    )
}

/// CloudTrail's copy of a policy document in `responseElements`: URL-encoded.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn external_role(lab: &Lab) -> Pending<'_> {
    Box::pin(async move { lab.role("vendor-support-access", &external_trust()).await })
}

/// `CreateRole` trusting another account, as `iam-create-role-external-trust.json` (the
/// request's trust policy a JSON string, the response's URL-encoded).
pub fn external_role_events(story: &Story, t: &Target) -> Vec<Value> {
    let trust = external_trust();
    vec![
        ApiCall::new("iam", "CreateRole")
            .request(json!({
                "roleName": t.name,
                "assumeRolePolicyDocument": trust,
                "maxSessionDuration": MAX_SESSION_SECONDS,
            }))
            .response(json!({
                "role": {
                    "path": "/",
                    "roleName": t.name,
                    "roleId": t.id,
                    "arn": story.iam_arn(&format!("role/{}", t.name)),
                    "createDate": iam_response_date(story.at),
                    "assumeRolePolicyDocument": url_encoded(&trust),
                    "maxSessionDuration": MAX_SESSION_SECONDS,
                }
            }))
            .event(story),
    ]
}

/// GitHub's OIDC thumbprint, which an attacker copies to look legitimate.
const THUMBPRINT: &str = "6938fd4d98bab03faadb97b34396831e3780aea1";

pub fn identity_provider(lab: &Lab) -> Pending<'_> {
    Box::pin(async move {
        let host = format!("{}.idp.attacker.example", lab.suffix);
        lab.iam
            .create_open_id_connect_provider()
            .url(format!("https://{host}"))
            .client_id_list("sts.amazonaws.com")
            .thumbprint_list(THUMBPRINT)
            .send()
            .await
            .with_context(|| format!("creating the OIDC provider {host}"))?;
        Ok(Target {
            name: host,
            ..Target::default()
        })
    })
}

/// `CreateOpenIDConnectProvider`, as `iam-create-oidc-provider.json`.
pub fn identity_provider_events(story: &Story, t: &Target) -> Vec<Value> {
    vec![
        ApiCall::new("iam", "CreateOpenIDConnectProvider")
            .request(json!({
                "url": format!("https://{}", t.name),
                "clientIDList": ["sts.amazonaws.com"],
                "thumbprintList": [THUMBPRINT],
            }))
            .response(json!({
                "openIDConnectProviderArn": story.iam_arn(&format!("oidc-provider/{}", t.name)),
            }))
            .event(story),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_url_encoded_as_cloudtrail_writes_them() {
        assert_eq!(
            url_encoded("{\n  \"AWS\": \"arn:aws:iam::4:root\"}"),
            "%7B%0A%20%20%22AWS%22%3A%20%22arn%3Aaws%3Aiam%3A%3A4%3Aroot%22%7D"
        );
    }
}
