//! The PutEvents API over real loopback HTTP, in front of a bus with a recording target.
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cordon_eventbridge::put_events::{Quiet, serve};
use cordon_eventbridge::{Bus, Event, PutEventsConfig, Target, TargetError, rules_from_str};
use cordon_loopback::{Client, ClientResponse};
use serde_json::{Value, json};

#[derive(Default)]
struct Recorder(Mutex<Vec<Value>>);

#[async_trait]
impl Target for Recorder {
    async fn deliver(&self, event: &Event) -> Result<String, TargetError> {
        let input: Value = serde_json::from_str(event.text()).expect("the input is JSON");
        self.0.lock().expect("lock").push(input);
        Ok("started".into())
    }
}

const TEMPLATE: &str = r#"
Resources:
  CreateUserRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.iam], detail: {eventName: [CreateUser]}}
      Targets: [{Id: sfn, Arn: !Ref Machine}]
"#;

const TOKEN: &str = "the-stack's-delivery-token";

async fn put_as(endpoint: &str, target: &str, token: Option<&str>, body: &str) -> ClientResponse {
    let mut headers = vec![
        ("x-amz-target", target),
        ("content-type", "application/x-amz-json-1.1"),
    ];
    if let Some(token) = token {
        headers.push((cordon_eventbridge::DELIVERY_TOKEN_HEADER, token));
    }
    Client::new()
        .post(&format!("{endpoint}/"), &headers, body.to_owned())
        .await
        .expect("the API answers")
}

/// As an AWS service delivers: the stack's own path, with its token.
async fn deliver(endpoint: &str, body: &str) -> ClientResponse {
    put_as(endpoint, "CordonLocal.DeliverAwsEvents", Some(TOKEN), body).await
}

/// As a customer puts events.
async fn put(endpoint: &str, target: &str, body: &str) -> ClientResponse {
    put_as(endpoint, target, None, body).await
}

async fn server(
    recorder: Arc<Recorder>,
    token: Option<&str>,
) -> cordon_eventbridge::PutEventsServer {
    let bus = Bus::new(rules_from_str(TEMPLATE).expect("rules")).with_target("Machine", recorder);
    let config = PutEventsConfig {
        port: 0,
        account: "111122223333".into(),
        region: "eu-west-1".into(),
        delivery_token: token.map(str::to_string),
    };
    serve(Arc::new(bus), config, Arc::new(Quiet))
        .await
        .expect("serving")
}

fn json_of(response: &ClientResponse) -> Value {
    serde_json::from_slice(&response.body).expect("a JSON body")
}

#[tokio::test]
async fn accepted_entries_reach_the_target_as_envelopes() {
    let recorder = Arc::new(Recorder::default());
    let server = server(recorder.clone(), Some(TOKEN)).await;
    let endpoint = server.endpoint();

    let body = json!({"Entries": [
        {"Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail",
         "Detail": "{\"eventName\":\"CreateUser\"}", "Time": 1_727_445_902},
        {"Source": "aws.s3", "DetailType": "x", "Detail": "{}"},
        {"Source": "aws.iam", "DetailType": "x", "Detail": "[1]"},
    ]});
    let response = deliver(&endpoint, &body.to_string()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-json-1.1")
    );
    let answer = json_of(&response);
    assert_eq!(answer["FailedEntryCount"], 1, "{answer}");
    assert_eq!(answer["Entries"][2]["ErrorCode"], "MalformedDetail");
    let delivered = recorder.0.lock().expect("lock").clone();
    assert_eq!(delivered.len(), 1, "only the CreateUser entry matches");
    assert_eq!(delivered[0]["id"], answer["Entries"][0]["EventId"]);
    assert_eq!(delivered[0]["account"], "111122223333");
    assert_eq!(delivered[0]["region"], "eu-west-1");
    assert_eq!(delivered[0]["time"], "2024-09-27T14:05:02Z");
    assert_eq!(delivered[0]["detail"], json!({"eventName": "CreateUser"}));

    let response = put(&endpoint, "AWSEvents.ListRules", "{}").await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.header("x-amzn-errortype"),
        Some("UnknownOperationException")
    );
    let response = put(&endpoint, "AWSEvents.PutEvents", "not json").await;
    assert_eq!(json_of(&response)["__type"], "SerializationException");
    let huge = format!("{{\"Entries\": [\"{}\"]}}", "x".repeat(2 * 1024 * 1024));
    let response = put(&endpoint, "AWSEvents.PutEvents", &huge).await;
    assert_eq!(response.status, 400);
    assert_eq!(json_of(&response)["__type"], "ValidationException");
    server.shutdown().await;
}

#[tokio::test]
async fn customers_cannot_put_events_in_the_name_of_aws_services() {
    let recorder = Arc::new(Recorder::default());
    let server = server(recorder.clone(), Some(TOKEN)).await;
    let endpoint = server.endpoint();
    let body = json!({"Entries": [
        {"Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail",
         "Detail": "{\"eventName\":\"CreateUser\"}"},
        {"Source": "com.example.app", "DetailType": "order", "Detail": "{}"},
    ]})
    .to_string();
    let answer = json_of(&put(&endpoint, "AWSEvents.PutEvents", &body).await);
    assert_eq!(answer["FailedEntryCount"], 1, "{answer}");
    assert_eq!(
        answer["Entries"][0]["ErrorCode"],
        "NotAuthorizedForSourceException"
    );
    assert!(answer["Entries"][1]["EventId"].is_string(), "{answer}");
    assert!(
        recorder.0.lock().expect("lock").is_empty(),
        "nothing forged"
    );

    // The delivery path without the token, or with another one, is refused whole.
    for token in [None, Some("guess")] {
        let response = put_as(&endpoint, "CordonLocal.DeliverAwsEvents", token, &body).await;
        assert_eq!(response.status, 400);
        assert_eq!(json_of(&response)["__type"], "AccessDeniedException");
    }
    assert!(recorder.0.lock().expect("lock").is_empty());
    // With it, the record goes through as CloudTrail's would.
    let answer = json_of(&deliver(&endpoint, &body).await);
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    assert_eq!(recorder.0.lock().expect("lock").len(), 1);
    server.shutdown().await;

    // A server started without a token has no delivery path at all.
    let closed = self::server(recorder, None).await;
    let response = deliver(&closed.endpoint(), &body).await;
    assert_eq!(json_of(&response)["__type"], "AccessDeniedException");
    closed.shutdown().await;
}
