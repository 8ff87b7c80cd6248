//! Responses of AWS's JSON protocols (awsJson1_0, awsJson1_1), which the local Step
//! Functions and EventBridge APIs speak: a JSON body, the protocol's content type, a request
//! id, and on errors `x-amzn-errortype` beside `{"__type", "message"}` in the body.
use hyper::Response;
use hyper::StatusCode;
use hyper::body::Bytes;

use crate::body::Body;

/// `body` as an awsJson response; `error_type` is set on errors.
pub fn respond(
    status: StatusCode,
    content_type: &str,
    body: &serde_json::Value,
    error_type: Option<&str>,
) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-errortype", t);
    }
    builder
        .body(Body::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Body::new(Bytes::new())))
}

/// An awsJson error: `{"__type": code, "message": message}` with `x-amzn-errortype: code`.
pub fn error(status: StatusCode, content_type: &str, code: &str, message: &str) -> Response<Body> {
    respond(
        status,
        content_type,
        &serde_json::json!({"__type": code, "message": message}),
        Some(code),
    )
}

/// Why a request is not a call of an awsJson API: the error code to answer with and a
/// message saying what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    pub code: &'static str,
    pub message: String,
}

/// Reads an awsJson request: `POST`, `X-Amz-Target: <target_prefix>.<Operation>` and a
/// JSON object body (an empty body reads as `{}`). Returns the operation and the body.
/// `api` names the API in messages ("the Step Functions API").
pub fn read_request<'r>(
    request: &'r hyper::Request<Bytes>,
    api: &str,
    target_prefix: &str,
) -> Result<(&'r str, serde_json::Value), RequestError> {
    if request.method() != hyper::Method::POST {
        return Err(RequestError {
            code: "UnknownOperationException",
            message: format!("{api} takes POST requests"),
        });
    }
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(target_prefix))
        .and_then(|t| t.strip_prefix('.'))
        .filter(|op| !op.is_empty())
        .ok_or_else(|| RequestError {
            code: "UnknownOperationException",
            message: format!(
                "Missing or unknown X-Amz-Target header (expected {target_prefix}.<Operation>)"
            ),
        })?;
    let bytes = request.body();
    let body: serde_json::Value = if bytes.is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|e| RequestError {
            code: "SerializationException",
            message: format!("the request body is not JSON: {e}"),
        })?
    };
    if !body.is_object() {
        return Err(RequestError {
            code: "SerializationException",
            message: "the request body must be a JSON object".into(),
        });
    }
    Ok((operation, body))
}
