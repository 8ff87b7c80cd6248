//! Which AWS service and operation a request calls, read the way the services read it.
//!
//! The service is the signing name in SigV4's credential scope
//! (`Credential=AKID/20260101/us-east-1/iam/aws4_request`); the emulator routes on the same
//! field. The operation is `X-Amz-Target`'s suffix for the JSON protocols
//! (`DynamoDB_20120810.PutItem`) or the `Action` form field for the query protocol (IAM,
//! SNS, STS).
use cordon_loopback::{Bytes, Request};

/// The wire protocol a call uses, which decides the shape of an error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// awsQuery: a form body, XML answers (IAM, SNS, STS).
    Query,
    /// awsJson1_0 / awsJson1_1: `X-Amz-Target`, JSON answers with this content type.
    Json { content_type: String },
}

/// One call, as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The SigV4 signing name: `iam`, `dynamodb`, `sns`, `sts`, `sqs`, `states`…;
    /// `unknown` for an unsigned request.
    pub service: String,
    /// The API operation (`CreateUser`, `PutItem`); empty when the request names none.
    pub operation: String,
    pub protocol: Protocol,
}

impl Call {
    /// Reads a request.
    pub fn identify(request: &Request<Bytes>) -> Call {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let target = header("x-amz-target");
        let service = header("authorization")
            .as_deref()
            .and_then(signing_name)
            .map(str::to_owned)
            .unwrap_or_else(|| "unknown".to_owned());
        match target {
            Some(target) => Call {
                service,
                operation: target
                    .rsplit_once('.')
                    .map(|(_, op)| op.to_owned())
                    .unwrap_or_default(),
                protocol: Protocol::Json {
                    content_type: header("content-type")
                        .unwrap_or_else(|| "application/x-amz-json-1.0".to_owned()),
                },
            },
            None => Call {
                service,
                operation: form_field(request.body(), "Action")
                    .or_else(|| {
                        request
                            .uri()
                            .query()
                            .and_then(|q| form_field(q.as_bytes(), "Action"))
                    })
                    .unwrap_or_default(),
                protocol: Protocol::Query,
            },
        }
    }

    /// Whether this is one of IAM's mutating calls (the ones its rate limit counts).
    pub fn is_mutating_iam(&self) -> bool {
        self.service == "iam" && is_mutating_iam_action(&self.operation)
    }
}

/// IAM's read-only actions are `Get*`, `List*`, `Simulate*` and the credential report's
/// `GenerateServiceLastAccessedDetails`-style reads; everything else changes the account.
pub fn is_mutating_iam_action(operation: &str) -> bool {
    const READS: &[&str] = &["Get", "List", "Simulate"];
    !operation.is_empty() && !READS.iter().any(|p| operation.starts_with(p))
}

/// The service of `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …`.
fn signing_name(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let mut parts = scope.split('/');
    // AKID, date, region, service, terminator.
    let service = parts.nth(3)?;
    (parts.next() == Some("aws4_request")).then_some(service)
}

/// A field of an `application/x-www-form-urlencoded` body. Action names are plain
/// alphanumerics, so only `+` needs decoding.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.replace('+', " "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)], body: &str) -> Request<Bytes> {
        let mut builder = Request::builder().method("POST").uri("/");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Bytes::from(body.to_owned())).unwrap()
    }

    const IAM_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";

    #[test]
    fn a_query_call_is_named_by_its_scope_and_action() {
        let call = Call::identify(&request(
            &[("authorization", IAM_AUTH)],
            "Action=AttachUserPolicy&Version=2010-05-08&UserName=x",
        ));
        assert_eq!(call.service, "iam");
        assert_eq!(call.operation, "AttachUserPolicy");
        assert_eq!(call.protocol, Protocol::Query);
        assert!(call.is_mutating_iam());
    }

    #[test]
    fn a_json_call_is_named_by_its_target() {
        let call = Call::identify(&request(
            &[
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=k/20261129/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x",
                ),
                ("x-amz-target", "DynamoDB_20120810.PutItem"),
                ("content-type", "application/x-amz-json-1.0"),
            ],
            "{}",
        ));
        assert_eq!(call.service, "dynamodb");
        assert_eq!(call.operation, "PutItem");
        assert_eq!(
            call.protocol,
            Protocol::Json {
                content_type: "application/x-amz-json-1.0".into()
            }
        );
        assert!(!call.is_mutating_iam());
    }

    #[test]
    fn reads_are_not_mutating_and_unsigned_calls_are_unknown() {
        assert!(!is_mutating_iam_action("GetUser"));
        assert!(!is_mutating_iam_action("ListAttachedUserPolicies"));
        assert!(is_mutating_iam_action("TagUser"));
        assert!(is_mutating_iam_action("UpdateAccessKey"));
        let call = Call::identify(&request(&[], "Action=GetUser"));
        assert_eq!(call.service, "unknown");
        assert_eq!(call.operation, "GetUser");
        // A scope without the terminator is not SigV4.
        assert_eq!(signing_name("AWS4-HMAC-SHA256 Credential=a/b/c/iam"), None);
    }
}
