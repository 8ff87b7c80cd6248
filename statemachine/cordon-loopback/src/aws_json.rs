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
