//! The loopback APIs' request parsers, fed over HTTP exactly as a client sends them: the
//! PutEvents API (awsJson1_1, a body) and the Step Functions API (awsJson1_0, an operation
//! then, after the separator, a body). Each must answer every request in its protocol's
//! shape (a JSON body, never a dropped connection, never a server error for bad input).
use std::sync::Arc;

use cordon_eventbridge::{Bus, PutEventsConfig, PutEventsObserver, PutEventsServer};
use cordon_loopback::Client;
use cordon_sfn_local::{ServiceConfig, ServiceHandle};

use crate::input::split;

struct Quiet;
impl PutEventsObserver for Quiet {}

/// The servers of this thread (made on first use, on this thread's runtime).
struct Servers {
    put_events: PutEventsServer,
    sfn: ServiceHandle,
    client: Client,
}

thread_local! {
    static SERVERS: Servers = crate::runtime::block_on(async {
        let put_events = cordon_eventbridge::put_events::serve(
            Arc::new(Bus::new(Vec::new())),
            PutEventsConfig {
                port: 0,
                account: "111122223333".into(),
                region: "us-east-1".into(),
                delivery_token: None,
            },
            Arc::new(Quiet),
        )
        .await
        .expect("serving PutEvents");
        let db = std::env::temp_dir().join(format!(
            "cordon-fuzz-sfn-{}-{:?}.sqlite",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&db);
        let sfn = cordon_sfn_local::serve(ServiceConfig::new(db))
            .await
            .expect("serving the Step Functions API");
        Servers {
            put_events,
            sfn,
            client: Client::new(),
        }
    });
}

/// Sends one request and checks the answer's shape.
async fn call(client: &Client, url: &str, target: &str, content_type: &str, body: Vec<u8>) {
    let Ok(response) = client
        .post(
            url,
            &[("x-amz-target", target), ("content-type", content_type)],
            body,
        )
        .await
    else {
        // An operation name that is not a valid header value never leaves the client.
        if cordon_loopback::header::HeaderValue::from_str(target).is_err() {
            return;
        }
        panic!("{target}: the server dropped the connection (a panic in the handler?)");
    };
    assert!(
        response.status < 500,
        "{target}: a server error for a client's request: {} {}",
        response.status,
        response.text()
    );
    assert!(
        serde_json::from_slice::<serde_json::Value>(&response.body).is_ok(),
        "{target}: the answer is not JSON: {}",
        response.text()
    );
}

/// A PutEvents request body.
pub(crate) fn put_events(data: &[u8]) {
    SERVERS.with(|s| {
        let url = format!("{}/", s.put_events.endpoint());
        crate::runtime::block_on(call(
            &s.client,
            &url,
            "AWSEvents.PutEvents",
            "application/x-amz-json-1.1",
            data.to_vec(),
        ));
    });
}

/// A Step Functions operation, then its body.
pub(crate) fn sfn(data: &[u8]) {
    let (operation, body) = split(data);
    let Ok(operation) = std::str::from_utf8(operation) else {
        return;
    };
    SERVERS.with(|s| {
        let url = format!("{}/", s.sfn.endpoint());
        crate::runtime::block_on(call(
            &s.client,
            &url,
            &format!("AWSStepFunctions.{operation}"),
            "application/x-amz-json-1.0",
            body.to_vec(),
        ));
    });
}
