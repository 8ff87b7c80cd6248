//! Task resolution for Lambda: `arn:aws:states:::lambda:invoke`,
//! `arn:aws:states:::lambda:invoke.waitForTaskToken` and plain function ARNs, through a
//! [`LambdaBackend`]: in-process handlers ([`InProcessLambda`]) or the Lambda Invoke API
//! ([`HttpLambda`], e.g. `cargo lambda watch` or real Lambda).
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use cordon_engine::resource::is_lambda_function_arn;
use cordon_engine::{TaskDispatcher, TaskFailure, TaskRequest};
use cordon_loopback::Client;
use serde_json::{Value, json};

/// A function error: what a Lambda handler returned as its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct LambdaError {
    pub error_type: String,
    pub error_message: String,
}

impl LambdaError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }
}

/// One Lambda invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    /// The function's name (an ARN is reduced to its name).
    pub function_name: String,
    /// The function as the state named it (name or ARN).
    pub function_ref: String,
    pub qualifier: Option<String>,
    pub payload: Value,
}

/// A successful invocation (the function may still have failed: see [`InvokeError`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeOutput {
    pub payload: Value,
    pub executed_version: String,
}

/// Why an invocation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and returned an error.
    #[error("function error {0}")]
    Function(LambdaError),
    /// No such function.
    #[error("function not found: {0}")]
    ResourceNotFound(String),
    /// Lambda throttled the call.
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// The Lambda service answered with an error.
    #[error("Lambda service error (HTTP {status}): {message}")]
    Service { status: u16, message: String },
    /// Lambda could not be reached, or answered with something unreadable.
    #[error("cannot reach Lambda: {0}")]
    Client(String),
}

/// Where Lambda functions run.
#[async_trait]
pub trait LambdaBackend: Send + Sync {
    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeOutput, InvokeError>;
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Value, LambdaError>> + Send>>;

/// A registered function: its handler, and the invocations it may run at once (its
/// reserved concurrency), if limited.
#[derive(Clone)]
struct Handler {
    run: Arc<dyn Fn(Value) -> BoxFuture + Send + Sync>,
    slots: Option<Arc<tokio::sync::Semaphore>>,
}

/// Handlers registered by function name, called in-process.
#[derive(Default, Clone)]
pub struct InProcessLambda {
    handlers: Arc<RwLock<HashMap<String, Handler>>>,
}

impl InProcessLambda {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the handler of function `name`.
    pub fn register<F, Fut>(&self, name: impl Into<String>, f: F) -> &Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, LambdaError>> + Send + 'static,
    {
        self.register_limited(name, None, f)
    }

    /// [`InProcessLambda::register`] for a function with a reserved concurrency of
    /// `concurrency` (`None`: unlimited): an invocation while that many run is refused
    /// with `TooManyRequestsException`, as Lambda throttles it (the state machine's Retry
    /// backs off and tries again).
    pub fn register_limited<F, Fut>(
        &self,
        name: impl Into<String>,
        concurrency: Option<u32>,
        f: F,
    ) -> &Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, LambdaError>> + Send + 'static,
    {
        let h = Handler {
            run: Arc::new(move |v| Box::pin(f(v))),
            slots: concurrency.map(|n| Arc::new(tokio::sync::Semaphore::new(n as usize))),
        };
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.into(), h);
        self
    }

    /// Builder form of [`InProcessLambda::register`].
    pub fn with<F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, LambdaError>> + Send + 'static,
    {
        self.register(name, f);
        self
    }
}

#[async_trait]
impl LambdaBackend for InProcessLambda {
    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeOutput, InvokeError> {
        let h = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&req.function_name)
            .cloned();
        let Some(h) = h else {
            return Err(InvokeError::ResourceNotFound(req.function_ref));
        };
        let slot = match &h.slots {
            Some(slots) => match slots.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    return Err(InvokeError::TooManyRequests(
                        "Rate Exceeded. (the function's reserved concurrency is in use)".into(),
                    ));
                }
            },
            None => None,
        };
        // A panicking handler is a function error, not a crashed service.
        let ran = tokio::spawn((h.run)(req.payload)).await;
        drop(slot);
        match ran {
            Ok(Ok(payload)) => Ok(InvokeOutput {
                payload,
                executed_version: "$LATEST".into(),
            }),
            Ok(Err(e)) => Err(InvokeError::Function(e)),
            Err(e) => Err(InvokeError::Function(LambdaError::new(
                "Runtime.ExitError",
                format!("the handler did not complete: {e}"),
            ))),
        }
    }
}

/// The Lambda Invoke API over plain HTTP:
/// `POST {endpoint}/2015-03-31/functions/{name}/invocations` (what `cargo lambda watch`
/// serves on `http://127.0.0.1:9000`). No request signing: use it against local emulators.
#[derive(Clone)]
pub struct HttpLambda {
    endpoint: String,
    client: Client,
}

impl HttpLambda {
    /// `endpoint` such as `http://127.0.0.1:9000` (http only).
    pub fn new(endpoint: impl Into<String>) -> Self {
        let endpoint = endpoint.into().trim_end_matches('/').to_owned();
        Self {
            endpoint,
            client: Client::new(),
        }
    }
}

fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl LambdaBackend for HttpLambda {
    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeOutput, InvokeError> {
        let mut uri = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint,
            encode_path_segment(&req.function_name)
        );
        if let Some(q) = &req.qualifier {
            uri.push_str(&format!("?Qualifier={}", encode_path_segment(q)));
        }
        let body =
            serde_json::to_vec(&req.payload).map_err(|e| InvokeError::Client(e.to_string()))?;
        let resp = self
            .client
            .post(
                &uri,
                &[
                    ("content-type", "application/json"),
                    ("x-amz-invocation-type", "RequestResponse"),
                ],
                body,
            )
            .await
            .map_err(|e| InvokeError::Client(e.to_string()))?;
        let status = resp.status;
        let function_error = resp.header("x-amz-function-error").is_some();
        let version = resp
            .header("x-amz-executed-version")
            .unwrap_or("$LATEST")
            .to_owned();
        let bytes = resp.body;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if status == 404 {
            return Err(InvokeError::ResourceNotFound(req.function_ref));
        }
        if status == 429 {
            return Err(InvokeError::TooManyRequests(text));
        }
        if !(200..300).contains(&status) {
            return Err(InvokeError::Service {
                status,
                message: text,
            });
        }
        let payload: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(text))
        };
        if function_error {
            let field = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
            return Err(InvokeError::Function(LambdaError {
                error_type: field("errorType").unwrap_or_else(|| "Lambda.Unknown".into()),
                error_message: field("errorMessage").unwrap_or_default(),
            }));
        }
        Ok(InvokeOutput {
            payload,
            executed_version: version,
        })
    }
}

/// `arn:aws:lambda:region:acct:function:name[:qualifier]`, `acct:function:name` or `name[:q]`
/// -> (name, qualifier).
pub fn parse_function(reference: &str) -> (String, Option<String>) {
    if let Some(rest) = reference.split(":function:").nth(1) {
        let mut parts = rest.splitn(2, ':');
        let name = parts.next().unwrap_or(rest).to_owned();
        return (name, parts.next().map(str::to_owned));
    }
    match reference.split_once(':') {
        Some((n, q)) => (n.to_owned(), Some(q.to_owned())),
        None => (reference.to_owned(), None),
    }
}

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const LAMBDA_INVOKE_TOKEN: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/// Routes Lambda resources to a [`LambdaBackend`]; every other resource goes to `fallback`.
pub struct LambdaDispatcher {
    backend: Arc<dyn LambdaBackend>,
    fallback: Arc<dyn TaskDispatcher>,
    region: String,
    account: String,
}

impl LambdaDispatcher {
    pub fn new(
        backend: Arc<dyn LambdaBackend>,
        fallback: Arc<dyn TaskDispatcher>,
        region: impl Into<String>,
        account: impl Into<String>,
    ) -> Self {
        Self {
            backend,
            fallback,
            region: region.into(),
            account: account.into(),
        }
    }

    fn function_arn(&self, reference: &str, name: &str) -> String {
        if reference.starts_with("arn:") {
            reference.to_owned()
        } else {
            format!(
                "arn:aws:lambda:{}:{}:function:{name}",
                self.region, self.account
            )
        }
    }

    fn failure(&self, e: InvokeError, reference: &str, name: &str) -> TaskFailure {
        let request_id = uuid::Uuid::new_v4();
        let aws = |code: &str, status: u16, msg: &str| {
            format!(
                "{msg} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
            )
        };
        match e {
            InvokeError::Function(f) => {
                let error = if f.error_type.is_empty() {
                    "Lambda.Unknown".to_owned()
                } else {
                    f.error_type.clone()
                };
                let cause = json!({"errorMessage": f.error_message, "errorType": f.error_type});
                TaskFailure::new(error, cause.to_string())
            }
            InvokeError::ResourceNotFound(_) => TaskFailure::new(
                "Lambda.ResourceNotFoundException",
                aws(
                    "ResourceNotFoundException",
                    404,
                    &format!("Function not found: {}", self.function_arn(reference, name)),
                ),
            ),
            InvokeError::TooManyRequests(m) => TaskFailure::new(
                "Lambda.TooManyRequestsException",
                aws("TooManyRequestsException", 429, &m),
            ),
            InvokeError::Service { status, message } => TaskFailure::new(
                "Lambda.ServiceException",
                aws("ServiceException", status, &message),
            ),
            InvokeError::Client(m) => TaskFailure::new(
                "Lambda.SdkClientException",
                format!("Unable to execute HTTP request: {m}"),
            ),
        }
    }

    async fn call(
        &self,
        reference: &str,
        qualifier: Option<String>,
        payload: Value,
    ) -> Result<InvokeOutput, TaskFailure> {
        let (name, q) = parse_function(reference);
        let req = InvokeRequest {
            function_name: name.clone(),
            function_ref: reference.to_owned(),
            qualifier: qualifier.or(q),
            payload,
        };
        self.backend
            .invoke(req)
            .await
            .map_err(|e| self.failure(e, reference, &name))
    }
}

/// Lambda's Invoke result as `lambda:invoke` returns it.
pub fn result_envelope(out: &InvokeOutput) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let length = serde_json::to_string(&out.payload)
        .map(|s| s.len())
        .unwrap_or(0)
        .to_string();
    let headers = json!({
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": date,
        "X-Amz-Executed-Version": out.executed_version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
    });
    let all: serde_json::Map<String, Value> = headers
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), json!([v]))).collect())
        .unwrap_or_default();
    json!({
        "ExecutedVersion": out.executed_version,
        "Payload": out.payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": headers,
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

#[async_trait]
impl TaskDispatcher for LambdaDispatcher {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskFailure> {
        if req.resource == LAMBDA_INVOKE || req.resource == LAMBDA_INVOKE_TOKEN {
            let Some(function) = req.input.get("FunctionName").and_then(Value::as_str) else {
                return Err(TaskFailure::new(
                    "States.Runtime",
                    "The Parameters of a lambda:invoke Task must include FunctionName",
                ));
            };
            let qualifier = req
                .input
                .get("Qualifier")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let payload = req.input.get("Payload").cloned().unwrap_or(json!({}));
            let out = self.call(function, qualifier, payload).await?;
            return Ok(result_envelope(&out));
        }
        if is_lambda_function_arn(&req.resource) {
            let out = self.call(&req.resource, None, req.input).await?;
            return Ok(out.payload);
        }
        self.fallback.invoke(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_references() {
        assert_eq!(parse_function("f"), ("f".into(), None));
        assert_eq!(parse_function("f:live"), ("f".into(), Some("live".into())));
        assert_eq!(
            parse_function("arn:aws:lambda:us-east-1:1:function:f:$LATEST"),
            ("f".into(), Some("$LATEST".into()))
        );
        assert_eq!(parse_function("1:function:f"), ("f".into(), None));
    }

    #[tokio::test]
    async fn function_errors_use_aws_naming() {
        let backend = InProcessLambda::new().with("boom", |_| async {
            Err(LambdaError::new("Cordon.Transient", "try again"))
        });
        let d = LambdaDispatcher::new(
            Arc::new(backend),
            Arc::new(cordon_engine::UnresolvedDispatcher),
            "us-east-1",
            "123456789012",
        );
        let err = d.call("boom", None, json!({})).await.unwrap_err();
        assert_eq!(err.error, "Cordon.Transient");
        assert_eq!(
            err.cause,
            r#"{"errorMessage":"try again","errorType":"Cordon.Transient"}"#
        );
        let missing = d.call("nope", None, json!({})).await.unwrap_err();
        assert_eq!(missing.error, "Lambda.ResourceNotFoundException");
        assert!(
            missing
                .cause
                .contains("arn:aws:lambda:us-east-1:123456789012:function:nope")
        );
    }
}
