//! AWS's error answers, in the protocol and with the codes of the service called, so the
//! SDK parses them as it parses the real ones (and its retry classifier sees what it would
//! see on AWS).
//!
//! - awsQuery (IAM, SNS, STS): `text/xml`,
//!   `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`
//!   in the service's XML namespace;
//! - awsJson (DynamoDB…): `{"__type": "<namespace>#<Code>", "message": …}` in the
//!   request's JSON content type.
use cordon_loopback::{Body, Bytes, Response};

use crate::call::{Call, Protocol};
use crate::plan::Fault;

/// An AWS error: HTTP status, code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AwsError {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
}

const RATE_EXCEEDED: &str = "Rate exceeded";

/// The error `service` answers for `fault`; `None` for faults that are not an answer.
pub(crate) fn error_for(service: &str, fault: Fault) -> Option<AwsError> {
    let error = |status, code, message| {
        Some(AwsError {
            status,
            code,
            message,
        })
    };
    match (fault, service) {
        (Fault::ProvisionedThroughputExceeded, "dynamodb") => error(
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. \
             Consider increasing your provisioning level with the UpdateTable API.",
        ),
        (Fault::Throttle, "dynamodb") => error(
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
        // SNS models its throttling as `Throttled` with HTTP 429 (ThrottledException).
        (Fault::Throttle | Fault::ProvisionedThroughputExceeded, "sns") => {
            error(429, "Throttled", RATE_EXCEEDED)
        }
        (Fault::Throttle | Fault::ProvisionedThroughputExceeded, "iam" | "sts") => {
            error(400, "Throttling", RATE_EXCEEDED)
        }
        (Fault::Throttle | Fault::ProvisionedThroughputExceeded, _) => {
            error(400, "ThrottlingException", RATE_EXCEEDED)
        }
        (Fault::InternalError, "iam") => error(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (Fault::InternalError, "dynamodb") => {
            error(500, "InternalServerError", "Internal server error")
        }
        (Fault::InternalError, "sns") => error(500, "InternalError", "Internal Error"),
        (Fault::InternalError, _) => error(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        (Fault::ServiceUnavailable, _) => error(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        (Fault::Reset | Fault::Stall(_) | Fault::ResponseLost, _) => None,
    }
}

/// The XML namespace of a query service's answers.
fn query_namespace(service: &str) -> String {
    match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/".to_owned(),
        "sns" => "http://sns.amazonaws.com/doc/2010-03-31/".to_owned(),
        "sts" => "https://sts.amazonaws.com/doc/2011-06-15/".to_owned(),
        other => format!("https://{other}.amazonaws.com/doc/"),
    }
}

/// The `__type` namespace of a JSON service's errors.
fn json_namespace(service: &str) -> &'static str {
    match service {
        "dynamodb" => "com.amazonaws.dynamodb.v20120810",
        _ => "com.amazonaws.coral",
    }
}

/// `error` as `call`'s service answers it.
pub(crate) fn respond(call: &Call, error: AwsError) -> Response<Body> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (content_type, body) = match &call.protocol {
        Protocol::Query => {
            // Client errors are the sender's; server errors the receiver's.
            let kind = if error.status < 500 {
                "Sender"
            } else {
                "Receiver"
            };
            (
                "text/xml".to_owned(),
                format!(
                    "<ErrorResponse xmlns=\"{}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
                     <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
                     <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
                    query_namespace(&call.service),
                    error.code,
                    error.message
                ),
            )
        }
        Protocol::Json { content_type } => (
            content_type.clone(),
            format!(
                "{{\"__type\":\"{}#{}\",\"message\":\"{}\"}}",
                json_namespace(&call.service),
                error.code,
                error.message
            ),
        ),
    };
    Response::builder()
        .status(error.status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", request_id)
        .body(Body::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Body::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_throttles_in_its_own_words() {
        let code = |service, fault| error_for(service, fault).map(|e| (e.status, e.code));
        assert_eq!(code("iam", Fault::Throttle), Some((400, "Throttling")));
        assert_eq!(code("sts", Fault::Throttle), Some((400, "Throttling")));
        assert_eq!(code("sns", Fault::Throttle), Some((429, "Throttled")));
        assert_eq!(
            code("dynamodb", Fault::Throttle),
            Some((400, "ThrottlingException"))
        );
        assert_eq!(
            code("dynamodb", Fault::ProvisionedThroughputExceeded),
            Some((400, "ProvisionedThroughputExceededException"))
        );
        assert_eq!(
            code("iam", Fault::ProvisionedThroughputExceeded),
            Some((400, "Throttling"))
        );
        assert_eq!(
            code("iam", Fault::InternalError),
            Some((500, "ServiceFailure"))
        );
        assert_eq!(
            code("sns", Fault::ServiceUnavailable),
            Some((503, "ServiceUnavailable"))
        );
        assert_eq!(code("iam", Fault::Reset), None);
    }

    #[test]
    fn a_query_error_is_xml() {
        let call = Call {
            service: "iam".into(),
            operation: "CreateUser".into(),
            protocol: Protocol::Query,
        };
        let response = respond(&call, error_for("iam", Fault::Throttle).unwrap());
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], "text/xml");
    }
}
