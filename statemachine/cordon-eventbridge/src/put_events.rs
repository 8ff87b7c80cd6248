//! The EventBridge PutEvents API in front of a [`Bus`], so anything that speaks EventBridge
//! (aws-sdk-eventbridge, the AWS CLI, `cordon simulate create-user`) can put events locally.
//!
//! awsJson1_1 on loopback (`POST /`, `X-Amz-Target: AWSEvents.PutEvents`), validating like
//! AWS: at most 10 entries whose total size, as AWS computes it, is under 256 KB
//! (`ValidationException`), and per entry `Source`, `DetailType` and
//! `Detail` are required (`InvalidArgument`) and `Detail` must be a JSON object
//! (`MalformedDetail`). Each accepted entry becomes its envelope and goes on the bus. An
//! entry no rule matches is accepted, as on AWS. SigV4 signatures are not checked.
//!
//! As on AWS, a customer cannot put events in the name of an AWS service: an entry whose
//! `Source` starts with `aws.` fails with `NotAuthorizedForSourceException`, so nothing
//! local can forge a CloudTrail record that AWS would refuse. What AWS services deliver
//! (CloudTrail records, the schedule's events) comes in through the stack's own path
//! instead: `X-Amz-Target: CordonLocal.DeliverAwsEvents`, the same request shape, allowed
//! only with the delivery token the local stack created (`x-cordon-delivery-token`), which
//! `cordon simulate` reads from the stack's state directory.
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cordon_loopback::{Body, Bytes, Request, Response, Server, StatusCode, aws_json};
use serde_json::{Value, json};

use crate::bus::{Bus, Delivery, DeliveryError};
use crate::event::{Entry, Event};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// What the server reads of a request at most: the entries' size is checked as AWS
/// computes it ([`MAX_ENTRIES_SIZE`]); this leaves room for JSON escaping around them.
const MAX_BODY: usize = 1024 * 1024;
/// "The total entry size must be less than 256KB", computed as AWS documents
/// ([`entries_size`]).
pub const MAX_ENTRIES_SIZE: usize = 256 * 1024;
/// The most entries one PutEvents call may carry.
pub const MAX_ENTRIES: usize = 10;

/// Where the API is served and whose bus it is.
#[derive(Debug, Clone)]
pub struct PutEventsConfig {
    /// The loopback port (0 picks a free one).
    pub port: u16,
    /// The account and region envelopes carry.
    pub account: String,
    pub region: String,
    /// The secret the AWS-service delivery path requires; `None` closes that path.
    pub delivery_token: Option<String>,
}

/// The target prefix of the AWS-service delivery path (`<prefix>.DeliverAwsEvents`).
pub const DELIVERY_TARGET_PREFIX: &str = "CordonLocal";
/// Its operation.
pub const DELIVERY_OPERATION: &str = "DeliverAwsEvents";
/// The header carrying the delivery token.
pub const DELIVERY_TOKEN_HEADER: &str = "x-cordon-delivery-token";

/// Who is putting the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// A customer, through PutEvents: `aws.*` sources are refused.
    Customer,
    /// An AWS service, through the stack's delivery path.
    AwsService,
}

/// What the API reports about each accepted entry, for whoever runs it (`cordon local up`
/// prints it). Both methods default to saying nothing.
pub trait PutEventsObserver: Send + Sync + 'static {
    /// The bus took `event`; `deliveries` is empty when no rule matched.
    fn delivered(&self, event: &Event, deliveries: &[Delivery]) {
        let _ = (event, deliveries);
    }

    /// A target refused `event`; the entry is reported as `InternalFailure`.
    fn failed(&self, event: &Event, error: &DeliveryError) {
        let _ = (event, error);
    }
}

/// An observer that reports nothing.
pub struct Quiet;

impl PutEventsObserver for Quiet {}

/// A running PutEvents API. Dropping it stops it abruptly; prefer
/// [`PutEventsServer::shutdown`].
#[derive(Debug)]
pub struct PutEventsServer {
    server: Server,
}

impl PutEventsServer {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_EVENTBRIDGE`.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    /// Stops accepting connections, lets requests in flight finish (up to a few seconds),
    /// and waits. Afterwards the server holds no reference to the bus.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Serves PutEvents for `bus` on `127.0.0.1:{config.port}`.
pub async fn serve(
    bus: Arc<Bus>,
    config: PutEventsConfig,
    observer: Arc<dyn PutEventsObserver>,
) -> Result<PutEventsServer, cordon_loopback::BindError> {
    let server_config = cordon_loopback::ServerConfig::new("PutEvents API")
        .port(config.port)
        .max_body(MAX_BODY);
    let api = PutEventsApi {
        bus,
        account: config.account,
        region: config.region,
        delivery_token: config.delivery_token,
        observer,
    };
    let server = cordon_loopback::serve(server_config, api).await?;
    Ok(PutEventsServer { server })
}

struct PutEventsApi {
    bus: Arc<Bus>,
    account: String,
    region: String,
    delivery_token: Option<String>,
    observer: Arc<dyn PutEventsObserver>,
}

impl cordon_loopback::Handler for PutEventsApi {
    async fn handle(&self, request: Request<Bytes>, _peer: SocketAddr) -> Response<Body> {
        match self.put_events(request).await {
            Ok(v) => aws_json::respond(StatusCode::OK, CONTENT_TYPE, &v, None),
            Err(e) => e.response(),
        }
    }

    fn refuse(&self, refusal: &cordon_loopback::Refusal) -> Response<Body> {
        ApiError::new(
            "ValidationException",
            format!("cannot read the request body: {refusal}"),
        )
        .response()
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

    fn response(&self) -> Response<Body> {
        aws_json::error(
            StatusCode::BAD_REQUEST,
            CONTENT_TYPE,
            self.code,
            &self.message,
        )
    }
}

impl PutEventsApi {
    async fn put_events(&self, request: Request<Bytes>) -> Result<Value, ApiError> {
        let sender = self.sender(&request)?;
        let (prefix, expected) = match sender {
            Sender::Customer => ("AWSEvents", "PutEvents"),
            Sender::AwsService => (DELIVERY_TARGET_PREFIX, DELIVERY_OPERATION),
        };
        let (operation, body) = aws_json::read_request(&request, "The EventBridge API", prefix)
            .map_err(|e| ApiError::new(e.code, e.message))?;
        if operation != expected {
            return Err(ApiError::new(
                "UnknownOperationException",
                format!("the local stack serves only {prefix}.{expected}, not {operation}"),
            ));
        }
        let events = validate(&body, &self.account, &self.region, Utc::now(), sender)?;
        let mut entries = Vec::with_capacity(events.len());
        let mut failed = 0;
        for event in events {
            match event {
                Err(e) => {
                    failed += 1;
                    entries.push(json!({"ErrorCode": e.code, "ErrorMessage": e.message}));
                }
                Ok(event) => match self.bus.put(&event).await {
                    Ok(deliveries) => {
                        self.observer.delivered(&event, &deliveries);
                        entries.push(json!({"EventId": event.id()}));
                    }
                    Err(e) => {
                        failed += 1;
                        self.observer.failed(&event, &e);
                        entries.push(
                            json!({"ErrorCode": "InternalFailure", "ErrorMessage": e.to_string()}),
                        );
                    }
                },
            }
        }
        Ok(json!({"FailedEntryCount": failed, "Entries": entries}))
    }
}

impl PutEventsApi {
    /// The delivery path when the request names it (and carries the stack's token), else
    /// PutEvents.
    fn sender(&self, request: &Request<Bytes>) -> Result<Sender, ApiError> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !target.starts_with(&format!("{DELIVERY_TARGET_PREFIX}.")) {
            return Ok(Sender::Customer);
        }
        let given = request
            .headers()
            .get(DELIVERY_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        match &self.delivery_token {
            Some(token) if same_secret(token.as_bytes(), given) => Ok(Sender::AwsService),
            Some(_) => Err(ApiError::new(
                "AccessDeniedException",
                format!(
                    "the AWS-service delivery path needs the local stack's delivery token in \
                     {DELIVERY_TOKEN_HEADER}; customers put events with PutEvents"
                ),
            )),
            None => Err(ApiError::new(
                "AccessDeniedException",
                "this PutEvents API has no AWS-service delivery path",
            )),
        }
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Validates a PutEvents request as AWS does: request-level problems are an error; each
/// entry becomes either its event or a per-entry error.
fn validate(
    body: &Value,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
    sender: Sender,
) -> Result<Vec<Result<Event, ApiError>>, ApiError> {
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
    if entries_size(entries) >= MAX_ENTRIES_SIZE {
        return Err(ApiError::new(
            "ValidationException",
            "Total size of the entries in the request is over the limit.",
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
            Ok(self::entry(entry, now, sender).map(|e| Event::envelope(e, account, region)))
        })
        .collect()
}

/// The entries' size as EventBridge computes it ("Calculating PutEvents event entry
/// size"): 14 bytes for a `Time`, and the UTF-8 bytes of `Source`, `DetailType`,
/// `Detail` and each of `Resources`.
pub fn entries_size(entries: &[Value]) -> usize {
    let text = |v: &Value| v.as_str().map_or(0, str::len);
    entries
        .iter()
        .map(|e| {
            let time = if e.get("Time").is_some_and(|t| !t.is_null()) {
                14
            } else {
                0
            };
            let resources: usize = e
                .get("Resources")
                .and_then(Value::as_array)
                .map_or(0, |r| r.iter().map(text).sum());
            time + text(&e["Source"]) + text(&e["DetailType"]) + text(&e["Detail"]) + resources
        })
        .sum()
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

/// One PutEvents entry, validated.
fn entry(entry: &Value, now: DateTime<Utc>, sender: Sender) -> Result<Entry, ApiError> {
    let source = required(entry, "Source")?;
    // AWS reserves the `aws.` prefix for its services.
    if sender == Sender::Customer && source.starts_with("aws.") {
        return Err(ApiError::new(
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        ));
    }
    let detail_type = required(entry, "DetailType")?;
    let detail = required(entry, "Detail")?;
    let detail: Value = match serde_json::from_str(detail) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err(ApiError::new("MalformedDetail", "Detail is malformed.")),
    };
    let resources = match entry.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
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
    Ok(Entry {
        source: source.to_owned(),
        detail_type: detail_type.to_owned(),
        detail,
        resources,
        time,
    })
}

fn invalid_time(value: &str) -> ApiError {
    ApiError::new(
        "InvalidArgument",
        format!(
            "Parameter Time is not valid. Reason: {value} is neither epoch seconds nor an RFC 3339 time."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_727_445_902, 0).expect("time")
    }

    fn envelope(entry: &Value) -> Result<Value, ApiError> {
        self::entry(entry, at(), Sender::AwsService).map(|e| {
            Event::envelope(e, "123456789012", "us-east-1")
                .json()
                .clone()
        })
    }

    #[test]
    fn an_entry_becomes_the_envelope_rules_see() {
        let entry = json!({
            "Source": "aws.iam",
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": "{\"eventName\":\"CreateUser\"}",
            "Time": 1_727_445_000.5,
        });
        let e = envelope(&entry).expect("valid");
        assert_eq!(e["version"], "0");
        assert_eq!(e["account"], "123456789012");
        assert_eq!(e["time"], "2024-09-27T13:50:00Z");
        assert_eq!(e["resources"], json!([]));
        assert_eq!(e["detail"]["eventName"], "CreateUser");
        let no_time = json!({"Source": "s", "DetailType": "d", "Detail": "{}"});
        assert_eq!(
            envelope(&no_time).expect("valid")["time"],
            "2024-09-27T14:05:02Z"
        );
        let rfc = json!({"Source": "s", "DetailType": "d", "Detail": "{}", "Time": "2024-09-27T16:05:02.123+02:00"});
        assert_eq!(
            envelope(&rfc).expect("valid")["time"],
            "2024-09-27T14:05:02Z"
        );
    }

    #[test]
    fn entries_are_validated_like_aws() {
        let code = |entry: Value| envelope(&entry).map(|_| "ok").unwrap_or_else(|e| e.code);
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
        let validate =
            |body: &Value| validate(body, "123456789012", "us-east-1", at(), Sender::Customer);
        let too_many = json!({"Entries": vec![json!({}); 11]});
        assert_eq!(
            validate(&too_many).map(|_| ()).unwrap_err().code,
            "ValidationException"
        );
        assert!(validate(&json!({"Entries": []})).is_err());
        assert!(validate(&json!({})).is_err());
    }

    #[test]
    fn the_entries_total_size_is_limited_as_aws_computes_it() {
        let entry = |detail_len: usize| {
            json!({
                "Source": "app", "DetailType": "t", "Time": "2026-01-01T00:00:00Z",
                "Resources": ["r1"],
                "Detail": format!("{{\"x\":\"{}\"}}", "a".repeat(detail_len)),
            })
        };
        // 14 (Time) + 3 + 1 + 2 (Resources) + the Detail's bytes.
        assert_eq!(entries_size(&[entry(0)]), 14 + 3 + 1 + 2 + 8);
        let fits = MAX_ENTRIES_SIZE - 1 - (14 + 3 + 1 + 2 + 8);
        let body = |entries: Vec<Value>| json!({ "Entries": entries });
        let ok = validate(&body(vec![entry(fits)]), "1", "r", at(), Sender::Customer)
            .expect("just under the limit");
        assert!(ok[0].is_ok());
        let over = validate(
            &body(vec![entry(fits + 1)]),
            "1",
            "r",
            at(),
            Sender::Customer,
        )
        .expect_err("at the limit");
        assert_eq!(over.code, "ValidationException");
        assert!(over.message.contains("over the limit"), "{}", over.message);
        // The sum over the entries counts, not each alone.
        let halves = validate(
            &body(vec![entry(fits / 2), entry(fits / 2)]),
            "1",
            "r",
            at(),
            Sender::Customer,
        )
        .expect_err("two halves and their overheads");
        assert_eq!(halves.code, "ValidationException");
    }

    #[test]
    fn customers_cannot_put_events_in_the_name_of_an_aws_service() {
        let cloudtrail = json!({
            "Source": "aws.iam",
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": "{}",
        });
        let refused = self::entry(&cloudtrail, at(), Sender::Customer).expect_err("refused");
        assert_eq!(refused.code, "NotAuthorizedForSourceException");
        assert_eq!(refused.message, "Not authorized for the source.");
        assert!(self::entry(&cloudtrail, at(), Sender::AwsService).is_ok());
        // Only the `aws.` prefix is reserved.
        let own = json!({"Source": "awsome.app", "DetailType": "d", "Detail": "{}"});
        assert!(self::entry(&own, at(), Sender::Customer).is_ok());
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokex"));
        assert!(!same_secret(b"token", b"token2"));
    }
}
