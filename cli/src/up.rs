//! `cordon local up`: the local stack as a long-running service, plus a minimal EventBridge
//! PutEvents API in front of the template's rules, so anything that speaks EventBridge
//! (aws-sdk-eventbridge, the AWS CLI, `cordon simulate create-user`) can start incidents.
//!
//! The PutEvents endpoint speaks awsJson1_1 on loopback (`POST /`,
//! `X-Amz-Target: AWSEvents.PutEvents`) and validates like AWS: at most 10 entries
//! (`ValidationException`), and per entry `Source`, `DetailType` and `Detail` are required
//! (`InvalidArgument`) and `Detail` must be a JSON object (`MalformedDetail`). Each accepted
//! entry becomes the EventBridge envelope and goes through [`LocalStack::put_event`]. An
//! entry no rule matches is accepted, as on AWS, and reported on stderr. What the workflow
//! publishes (read back through the topic's SQS tap) is printed to stderr, with the link of
//! every approval request.
//! SigV4 signatures are not checked.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::local::{LocalStack, LocalStackOptions};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// PutEvents requests are at most 256 KiB on AWS; allow some slack for JSON escaping.
const MAX_BODY: usize = 1024 * 1024;
/// The most entries one PutEvents call may carry.
pub const MAX_ENTRIES: usize = 10;
/// How long shutdown waits for in-flight PutEvents requests.
const DRAIN: Duration = Duration::from_secs(5);

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub stack: LocalStackOptions,
    /// Loopback port of the PutEvents API (0 picks a free one).
    pub events_port: u16,
}

/// Starts the local stack and the PutEvents API, prints the endpoints, and serves until
/// SIGTERM or Ctrl-C; then stops the PutEvents API, the approval pages and the Step
/// Functions service, in that order (waiting executions stay in the database).
pub async fn run(options: UpOptions) -> anyhow::Result<()> {
    let stack = Arc::new(LocalStack::start(&options.stack).await?);
    let events = serve_events(stack.clone(), options.events_port).await?;

    // stdout is `eval`-able: exports, then comments.
    println!("export AWS_ENDPOINT_URL_SFN={}", stack.sfn.endpoint());
    println!("export AWS_ENDPOINT_URL_EVENTBRIDGE={}", events.endpoint());
    println!("# approvals:     {}", stack.approval.url);
    println!("# state machine: {}", stack.state_machine_arn);
    println!("# table:         {}", stack.resources.table_name);
    println!("# topic:         {}", stack.resources.topic_arn);
    println!(
        "# emulator:      {}",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "(AWS_ENDPOINT_URL unset)".into())
    );
    println!(
        "# rules:         {}",
        stack
            .rules
            .iter()
            .map(|r| r.logical_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "cordon: local stack up ({} execution(s) resumed from {}); Ctrl-C or SIGTERM stops it",
        stack.sfn.resumed_executions(),
        options.stack.db.display()
    );
    let (stop_mail, stop_mail_rx) = watch::channel(false);
    let mail = tokio::spawn(print_notifications(
        stack.sdk.clone(),
        stack.resources.tap_queue_url.clone(),
        format!("{}/a/", stack.approval.url),
        stop_mail_rx,
    ));

    wait_for_signal().await?;
    eprintln!("cordon: shutting down");
    let _ = stop_mail.send(true);
    let _ = mail.await;
    events.shutdown().await;
    match Arc::try_unwrap(stack) {
        Ok(stack) => {
            let LocalStack { sfn, approval, .. } = stack;
            approval.shutdown().await;
            sfn.shutdown().await;
        }
        // Unreachable once the events server has drained; dropping still stops everything.
        Err(_) => eprintln!("cordon: the local stack is still in use; stopping it abruptly"),
    }
    Ok(())
}

/// Reads what the workflow published to the topic (through the stack's SQS tap, consuming
/// it) and prints each notification, and the link of every approval request, to stderr:
/// locally there is no email.
async fn print_notifications(
    sdk: aws_config::SdkConfig,
    queue_url: String,
    approval_prefix: String,
    mut stop: watch::Receiver<bool>,
) {
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut warned = false;
    loop {
        match sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
        {
            Ok(out) => {
                warned = false;
                for m in out.messages.unwrap_or_default() {
                    let envelope: Value =
                        serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
                    let attribute = |k: &str| {
                        envelope["MessageAttributes"][k]["Value"]
                            .as_str()
                            .unwrap_or("-")
                    };
                    eprintln!(
                        "cordon: notified [{}] {}",
                        attribute("severity"),
                        envelope["Subject"].as_str().unwrap_or_default()
                    );
                    let body = envelope["Message"].as_str().unwrap_or_default();
                    if attribute("kind") == "approvalRequest"
                        && let Some(start) = body.find(&approval_prefix)
                    {
                        let link: String = body[start..]
                            .chars()
                            .take_while(|c| !c.is_whitespace())
                            .collect();
                        eprintln!("cordon: approve or reject at {link}");
                    }
                    if let Some(handle) = m.receipt_handle() {
                        let _ = sqs
                            .delete_message()
                            .queue_url(&queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await;
                    }
                }
            }
            Err(e) if !warned => {
                warned = true;
                eprintln!(
                    "cordon: cannot read the notifications from {queue_url}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            r = tokio::signal::ctrl_c() => r,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// A running PutEvents API. Dropping it stops it abruptly; prefer [`EventsServer::shutdown`].
#[derive(Debug)]
pub struct EventsServer {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EventsServer {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_EVENTBRIDGE`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a few seconds),
    /// and waits. Afterwards the server holds no reference to the stack.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EventsServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves the EventBridge PutEvents API on `127.0.0.1:port` (0 picks a free port),
/// delivering every accepted entry through `stack`'s rules.
pub async fn serve_events(stack: Arc<LocalStack>, port: u16) -> anyhow::Result<EventsServer> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding the PutEvents API to 127.0.0.1:{port}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, stack, stop_rx));
    Ok(EventsServer {
        addr,
        stop,
        task: Some(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    stack: Arc<LocalStack>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("cordon: PutEvents API: accept failed: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let stack = stack.clone();
                let mut stop = stop.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let stack = stack.clone();
                        async move { Ok::<_, Infallible>(handle(&stack, req).await) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = &mut conn => {}
                        _ = stop.changed() => {
                            // Finish the request in flight, then close.
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

/// An awsJson error: HTTP 400, `{"__type", "message"}`, `x-amzn-errortype`.
#[derive(Debug)]
struct ApiError {
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

fn respond(status: StatusCode, body: &Value, error_type: Option<&str>) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut b = Response::builder()
        .status(status)
        .header("content-type", CONTENT_TYPE)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    if let Some(t) = error_type {
        b = b.header("x-amzn-errortype", t);
    }
    b.body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(stack: &LocalStack, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match handle_inner(stack, req).await {
        Ok(v) => respond(StatusCode::OK, &v, None),
        Err(e) => respond(
            StatusCode::BAD_REQUEST,
            &json!({"__type": e.code, "message": e.message}),
            Some(e.code),
        ),
    }
}

async fn handle_inner(stack: &LocalStack, req: Request<Incoming>) -> Result<Value, ApiError> {
    if req.method() != hyper::Method::POST {
        return Err(ApiError::new(
            "UnknownOperationException",
            "The EventBridge API takes POST requests",
        ));
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match target.strip_prefix("AWSEvents.") {
        Some("PutEvents") => {}
        Some(other) => {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("the local stack serves only PutEvents, not {other}"),
            ));
        }
        None => {
            return Err(ApiError::new(
                "UnknownOperationException",
                "Missing or unknown X-Amz-Target header (expected AWSEvents.PutEvents)",
            ));
        }
    }
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            ApiError::new(
                "ValidationException",
                format!("cannot read the request body: {e}"),
            )
        })?
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            "SerializationException",
            format!("the request body is not JSON: {e}"),
        )
    })?;
    let region = stack
        .sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| crate::functions::LOCAL_REGION.to_string());
    let envelopes = validate(&body, &region, Utc::now())?;
    let mut entries = Vec::with_capacity(envelopes.len());
    let mut failed = 0;
    for envelope in envelopes {
        match envelope {
            Err(e) => {
                failed += 1;
                entries.push(json!({"ErrorCode": e.code, "ErrorMessage": e.message}));
            }
            Ok(event) => {
                match deliver(stack, &event).await {
                    Ok(()) => entries.push(json!({"EventId": event["id"]})),
                    Err(e) => {
                        failed += 1;
                        eprintln!("cordon: PutEvents: event {}: {e:#}", event["id"]);
                        entries.push(json!({"ErrorCode": "InternalFailure", "ErrorMessage": format!("{e:#}")}));
                    }
                }
            }
        }
    }
    Ok(json!({"FailedEntryCount": failed, "Entries": entries}))
}

/// Routes one envelope; says on stderr what it started, or that nothing matched.
async fn deliver(stack: &LocalStack, event: &Value) -> anyhow::Result<()> {
    let started = stack.put_event(event).await?;
    let what = describe(event);
    if started.is_empty() {
        eprintln!(
            "cordon: PutEvents: no rule matched event {} ({what}); accepted, nothing started",
            event["id"].as_str().unwrap_or_default()
        );
    }
    for s in started {
        eprintln!(
            "cordon: PutEvents: event {} ({what}) matched {} -> {}",
            event["id"].as_str().unwrap_or_default(),
            s.rule,
            s.execution_arn
        );
    }
    Ok(())
}

fn describe(event: &Value) -> String {
    let mut text = format!(
        "{} / {}",
        event["source"].as_str().unwrap_or_default(),
        event["detail-type"].as_str().unwrap_or_default()
    );
    if let Some(name) = event["detail"]["eventName"].as_str() {
        text.push_str(&format!(" / {name}"));
    }
    text
}

/// Validates a PutEvents request as AWS does: request-level problems are an error; each
/// entry becomes either its EventBridge envelope or a per-entry error.
fn validate(
    body: &Value,
    region: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Result<Value, ApiError>>, ApiError> {
    let entries = match body.get("Entries") {
        None | Some(Value::Null) => {
            return Err(ApiError::new(
                "ValidationException",
                "1 validation error detected: Value null at 'entries' failed to satisfy \
                 constraint: Member must not be null",
            ));
        }
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(ApiError::new(
                "SerializationException",
                "Entries must be a list of PutEventsRequestEntry",
            ));
        }
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        let bound = if entries.is_empty() {
            "greater than or equal to 1"
        } else {
            "less than or equal to 10"
        };
        return Err(ApiError::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' \
                 failed to satisfy constraint: Member must have length {bound}"
            ),
        ));
    }
    entries
        .iter()
        .map(|entry| {
            if !entry.is_object() {
                return Err(ApiError::new(
                    "SerializationException",
                    "each entry must be a PutEventsRequestEntry object",
                ));
            }
            Ok(envelope(entry, region, now))
        })
        .collect()
}

fn string_field<'a>(entry: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::new(
            "InvalidArgument",
            format!("Parameter {name} is not valid. Reason: {name} must be a string."),
        )),
    }
}

fn required<'a>(entry: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match string_field(entry, name)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::new(
            "InvalidArgument",
            format!("Parameter {name} is not valid. Reason: {name} is a required argument."),
        )),
    }
}

/// One PutEvents entry as the EventBridge envelope a rule target receives.
fn envelope(entry: &Value, region: &str, now: DateTime<Utc>) -> Result<Value, ApiError> {
    let source = required(entry, "Source")?;
    let detail_type = required(entry, "DetailType")?;
    let detail = required(entry, "Detail")?;
    let detail: Value = match serde_json::from_str(detail) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err(ApiError::new("MalformedDetail", "Detail is malformed.")),
    };
    let resources = match entry.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items.clone(),
        Some(_) => {
            return Err(ApiError::new(
                "InvalidArgument",
                "Parameter Resources is not valid. Reason: Resources must be a list of strings.",
            ));
        }
    };
    if let Some(bus) = string_field(entry, "EventBusName")? {
        let name = bus.rsplit_once(":event-bus/").map_or(bus, |(_, n)| n);
        if name != "default" {
            return Err(ApiError::new(
                "ResourceNotFoundException",
                format!(
                    "Event bus {name} does not exist. The local stack has only the default bus, \
                     which holds the template's rules."
                ),
            ));
        }
    }
    let time = match entry.get("Time") {
        None | Some(Value::Null) => now,
        // What the SDKs and the AWS CLI send: epoch seconds.
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| DateTime::from_timestamp(secs.floor() as i64, 0))
            .ok_or_else(|| invalid_time(&n.to_string()))?,
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| invalid_time(s))?,
        Some(other) => return Err(invalid_time(&other.to_string())),
    };
    Ok(json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": source,
        "account": crate::functions::LOCAL_ACCOUNT,
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": resources,
        "detail": detail,
    }))
}

fn invalid_time(value: &str) -> ApiError {
    ApiError::new(
        "InvalidArgument",
        format!(
            "Parameter Time is not valid. Reason: {value} is neither epoch seconds nor an RFC 3339 time."
        ),
    )
}

/// What `cordon simulate create-user` did.
#[derive(Debug, Clone)]
pub struct SimulatedCreateUser {
    pub user: crate::simulate::CreatedUser,
    pub attacker: crate::simulate::Attacker,
    pub event_id: String,
}

/// The compromised user `jdoe` really creates the backdoor user `name` (default: the first
/// free `support-admin[-N]`) in IAM at `AWS_ENDPOINT_URL`, and the CloudTrail record is
/// put to the PutEvents API at `events_endpoint` as an EventBridge client would.
pub async fn simulate_create_user(
    name: Option<String>,
    events_endpoint: &str,
) -> anyhow::Result<SimulatedCreateUser> {
    let sdk = cordon_aws::load_sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let attacker = crate::simulate::compromised_jdoe(&iam, crate::functions::LOCAL_ACCOUNT).await?;
    let name = match name {
        Some(n) => n,
        None => free_user_name(&iam, "support-admin").await?,
    };
    let user = crate::simulate::create_backdoor_user(&iam, &name).await?;
    let event = crate::simulate::create_user_event(&attacker, &user, Utc::now());
    let request = json!({
        "Entries": [{
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": event["detail"].to_string(),
            "Resources": event["resources"],
            "Time": event["time"],
        }]
    });
    let (status, body) = put_events(events_endpoint, &request)
        .await
        .with_context(|| {
            format!(
                "putting the event to {events_endpoint} (is `cordon local up` running?); \
             the user {name} was created"
            )
        })?;
    if status != 200 {
        bail!("PutEvents answered {status}: {body}");
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

async fn free_user_name(iam: &aws_sdk_iam::Client, base: &str) -> anyhow::Result<String> {
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

/// POSTs a PutEvents request (awsJson1_1) to `endpoint` (`http://host:port`); returns the
/// HTTP status and body.
pub async fn put_events(endpoint: &str, request: &Value) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = endpoint
        .strip_prefix("http://")
        .context("the events endpoint must be http://host:port")?
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    let body = request.to_string();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nX-Amz-Target: AWSEvents.PutEvents\r\n\
         Content-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the events endpoint sent no HTTP status")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_727_445_902, 0).expect("time")
    }

    #[test]
    fn an_entry_becomes_the_envelope_rules_see() {
        let entry = json!({
            "Source": "aws.iam",
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": "{\"eventName\":\"CreateUser\"}",
            "Time": 1_727_445_000.5,
        });
        let e = envelope(&entry, "us-east-1", at()).expect("valid");
        assert_eq!(e["version"], "0");
        assert_eq!(e["account"], "123456789012");
        assert_eq!(e["time"], "2024-09-27T13:50:00Z");
        assert_eq!(e["resources"], json!([]));
        assert_eq!(e["detail"]["eventName"], "CreateUser");
        let no_time = json!({"Source": "s", "DetailType": "d", "Detail": "{}"});
        assert_eq!(
            envelope(&no_time, "us-east-1", at()).expect("valid")["time"],
            "2024-09-27T14:05:02Z"
        );
        let rfc = json!({"Source": "s", "DetailType": "d", "Detail": "{}", "Time": "2024-09-27T16:05:02.123+02:00"});
        assert_eq!(
            envelope(&rfc, "us-east-1", at()).expect("valid")["time"],
            "2024-09-27T14:05:02Z"
        );
    }

    #[test]
    fn entries_are_validated_like_aws() {
        let code = |entry: Value| {
            envelope(&entry, "us-east-1", at())
                .map(|_| "ok")
                .unwrap_or_else(|e| e.code)
        };
        assert_eq!(
            code(json!({"DetailType": "d", "Detail": "{}"})),
            "InvalidArgument"
        );
        assert_eq!(
            code(json!({"Source": "s", "Detail": "{}"})),
            "InvalidArgument"
        );
        assert_eq!(
            code(json!({"Source": "s", "DetailType": "d"})),
            "InvalidArgument"
        );
        for bad in ["[1]", "\"x\"", "{", "42"] {
            assert_eq!(
                code(json!({"Source": "s", "DetailType": "d", "Detail": bad})),
                "MalformedDetail"
            );
        }
        let too_many = json!({"Entries": vec![json!({}); 11]});
        assert_eq!(
            validate(&too_many, "us-east-1", at())
                .map(|_| ())
                .unwrap_err()
                .code,
            "ValidationException"
        );
        assert!(validate(&json!({"Entries": []}), "us-east-1", at()).is_err());
        assert!(validate(&json!({}), "us-east-1", at()).is_err());
    }
}
