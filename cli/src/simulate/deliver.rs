//! Delivering the simulated events to a running `cordon local up` as CloudTrail delivers
//! them: through the stack's delivery path ([`crate::local::delivery`]; PutEvents refuses
//! `aws.*` sources from customers, as on AWS), at most ten entries a call.
use anyhow::{Context, bail};
use cordon_loopback::{Client, ClientResponse};
use serde_json::{Value, json};

/// The most entries one PutEvents call may carry.
const MAX_ENTRIES: usize = 10;

/// The PutEvents entry an EventBridge client puts for `event` (an envelope as a rule
/// target sees it): `Detail` is JSON text.
pub fn put_events_entry(event: &Value) -> Value {
    json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "Resources": event["resources"],
        "Time": event["time"],
    })
}

/// POSTs a PutEvents request (awsJson1_1) to `endpoint` (`http://host:port`), as the
/// EventBridge SDKs do.
pub async fn put_events(endpoint: &str, request: &Value) -> anyhow::Result<ClientResponse> {
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    Ok(Client::new()
        .post(
            &url,
            &[
                ("x-amz-target", "AWSEvents.PutEvents"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            request.to_string(),
        )
        .await?)
}

/// Where and how to deliver: the PutEvents API of `cordon local up` and the delivery token
/// it wrote next to its database.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub endpoint: String,
    pub token: String,
}

impl Delivery {
    /// The stack at `endpoint`, with the token read from `token_file`.
    pub fn to(endpoint: &str, token_file: &std::path::Path) -> anyhow::Result<Delivery> {
        Ok(Delivery {
            endpoint: endpoint.to_string(),
            token: crate::local::delivery::read_token(token_file)?,
        })
    }
}

/// Delivers `events` to the stack, in order, and returns the event id EventBridge gave
/// each. Fails on the first entry it refuses, naming its error code.
pub async fn deliver(to: &Delivery, events: &[Value]) -> anyhow::Result<Vec<String>> {
    let endpoint = to.endpoint.as_str();
    let mut ids = Vec::with_capacity(events.len());
    for chunk in events.chunks(MAX_ENTRIES) {
        let request = json!({"Entries": chunk.iter().map(put_events_entry).collect::<Vec<_>>()});
        let response = crate::local::delivery::deliver(endpoint, &to.token, &request)
            .await
            .with_context(|| {
                format!("putting the events to {endpoint} (is `cordon local up` running?)")
            })?;
        let body = response.text();
        if response.status != 200 {
            bail!("PutEvents answered {}: {body}", response.status);
        }
        let answer: Value = serde_json::from_str(&body)
            .with_context(|| format!("PutEvents answered something that is not JSON: {body}"))?;
        let entries = answer["Entries"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if entries.len() != chunk.len() {
            bail!(
                "PutEvents answered {} entries for {}: {body}",
                entries.len(),
                chunk.len()
            );
        }
        for entry in entries {
            let Some(id) = entry["EventId"].as_str() else {
                bail!(
                    "PutEvents refused the event: {} {}",
                    entry["ErrorCode"].as_str().unwrap_or("(no error code)"),
                    entry["ErrorMessage"].as_str().unwrap_or("")
                );
            };
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}
