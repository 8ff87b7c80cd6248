//! The error response AWS sends for a call the caller's policies do not allow, in each
//! service's protocol, so the SDK parses it into the same service error it would get
//! from AWS:
//!
//! | service | protocol | HTTP | code |
//! |---|---|---|---|
//! | IAM, STS | awsQuery (XML) | 403 | `AccessDenied` |
//! | SNS | awsQuery (XML) | 403 | `AuthorizationError` (a missing `kms:*` on the topic's key: 400 `KMSAccessDenied`) |
//! | DynamoDB, Step Functions | awsJson1_0 | 400 | `AccessDeniedException` (DynamoDB names a missing `kms:*` on the table's key in the message) |
//!
//! The message is IAM's: `User: <session ARN> is not authorized to perform: <action> on
//! resource: <resource> because no identity-based policy allows the <action> action` (or
//! `with an explicit deny in an identity-based policy`).
use cordon_core::iam::{Decision, Request};

/// An HTTP response to give the SDK instead of sending the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeniedResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

fn message(caller: &str, request: &Request, decision: &Decision) -> String {
    let why = match decision {
        Decision::ExplicitDeny { .. } => {
            "with an explicit deny in an identity-based policy".to_string()
        }
        _ => format!(
            "because no identity-based policy allows the {} action",
            request.action
        ),
    };
    format!(
        "User: {caller} is not authorized to perform: {} on resource: {} {why}",
        request.action, request.resource
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn query_error(namespace: &str, status: u16, code: &str, message: &str) -> DeniedResponse {
    DeniedResponse {
        status,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{}</Message></Error><RequestId>cordon-local-access-guard</RequestId>\
             </ErrorResponse>",
            xml_escape(message)
        ),
    }
}

fn json_error(code: &str, message: &str) -> DeniedResponse {
    DeniedResponse {
        status: 400,
        content_type: "application/x-amz-json-1.0",
        body: serde_json::json!({
            "__type": format!("com.amazon.coral.service#{code}"),
            "Message": message,
        })
        .to_string(),
    }
}

/// What AWS answers `service`'s operation when `request` (the operation's own, or a KMS
/// request it implies) is denied to `caller`.
pub(crate) fn denied_response(
    service: &str,
    caller: &str,
    request: &Request,
    implied_by: Option<&str>,
    decision: &Decision,
) -> DeniedResponse {
    let message = message(caller, request, decision);
    match service {
        "IAM" => query_error(
            "https://iam.amazonaws.com/doc/2010-05-08/",
            403,
            "AccessDenied",
            &message,
        ),
        "STS" => query_error(
            "https://sts.amazonaws.com/doc/2011-06-15/",
            403,
            "AccessDenied",
            &message,
        ),
        "SNS" if implied_by.is_some() => query_error(
            "http://sns.amazonaws.com/doc/2010-03-31/",
            400,
            "KMSAccessDenied",
            &format!(
                "{message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)"
            ),
        ),
        "SNS" => query_error(
            "http://sns.amazonaws.com/doc/2010-03-31/",
            403,
            "AuthorizationError",
            &message,
        ),
        _ => json_error("AccessDeniedException", &message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_iams() {
        let request = Request::new(
            "dynamodb:UpdateItem",
            "arn:aws:dynamodb:us-east-1:1:table/t",
        );
        let denied = Decision::ImplicitDeny { closest: None };
        let r = denied_response(
            "DynamoDB",
            "arn:aws:sts::1:assumed-role/R/s",
            &request,
            None,
            &denied,
        );
        assert_eq!(r.status, 400);
        let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(
            body["__type"],
            "com.amazon.coral.service#AccessDeniedException"
        );
        assert_eq!(
            body["Message"],
            "User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: \
             dynamodb:UpdateItem on resource: arn:aws:dynamodb:us-east-1:1:table/t because no \
             identity-based policy allows the dynamodb:UpdateItem action"
        );
        let explicit = Decision::ExplicitDeny {
            statement: "x".into(),
        };
        let r = denied_response(
            "IAM",
            "c",
            &Request::new("iam:TagUser", "u"),
            None,
            &explicit,
        );
        assert_eq!(r.status, 403);
        assert!(r.body.contains("<Code>AccessDenied</Code>"), "{}", r.body);
        assert!(r.body.contains("with an explicit deny"), "{}", r.body);
        let kms = Request::new("kms:GenerateDataKey", "k");
        let r = denied_response("SNS", "c", &kms, Some("sns:Publish"), &denied);
        assert!(
            r.body.contains("<Code>KMSAccessDenied</Code>"),
            "{}",
            r.body
        );
    }
}
