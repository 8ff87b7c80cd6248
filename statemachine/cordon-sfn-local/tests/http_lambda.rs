//! The HTTP Lambda backend against a stand-in for the Lambda Invoke API (as `cargo lambda
//! watch` serves it), and a slow task that must not block other executions.
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use cordon_loopback as loopback;
use cordon_sfn_local::{HttpLambda, InProcessLambda, ServiceConfig, ServiceHandle, serve};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/cordon-sfn";

/// `POST /2015-03-31/functions/{name}/invocations`: `echo` returns its event, `broken`
/// returns a function error, anything else is 404.
struct FakeLambda;

impl loopback::Handler for FakeLambda {
    async fn handle(
        &self,
        req: loopback::Request<loopback::Bytes>,
        _peer: std::net::SocketAddr,
    ) -> loopback::Response<loopback::Body> {
        let body = |text: String| loopback::Body::new(loopback::Bytes::from(text));
        let resp = match req.uri().path() {
            "/2015-03-31/functions/echo/invocations" => {
                let event: Value = serde_json::from_slice(req.body()).unwrap();
                loopback::Response::builder()
                    .header("X-Amz-Executed-Version", "$LATEST")
                    .body(body(json!({"echo": event}).to_string()))
            }
            "/2015-03-31/functions/broken/invocations" => loopback::Response::builder()
                .header("X-Amz-Function-Error", "Unhandled")
                .body(body(
                    json!({"errorType": "Cordon.InvalidEvent", "errorMessage": "no detail"})
                        .to_string(),
                )),
            _ => loopback::Response::builder().status(404).body(body(
                r#"{"Type":"User","message":"Function not found"}"#.to_string(),
            )),
        };
        resp.unwrap()
    }

    fn refuse(&self, refusal: &loopback::Refusal) -> loopback::Response<loopback::Body> {
        panic!("the fake Lambda refused a request: {refusal:?}")
    }
}

async fn fake_lambda() -> String {
    let server = loopback::serve(loopback::ServerConfig::new("fake-lambda"), FakeLambda)
        .await
        .expect("binding the fake Lambda");
    let url = server.url();
    // The test process ends with the test; the server lives until then.
    std::mem::forget(server);
    url
}

async fn client(handle: &ServiceHandle) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(handle.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&conf)
}

async fn run(
    c: &Client,
    name: &str,
    def: Value,
    want: ExecutionStatus,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sm = c
        .create_state_machine()
        .name(name)
        .definition(def.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let e = c
        .start_execution()
        .state_machine_arn(sm)
        .input(r#"{"user":"mallory"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = c
            .describe_execution()
            .execution_arn(&e)
            .send()
            .await
            .unwrap();
        if d.status == want {
            return d;
        }
        assert!(Instant::now() < deadline, "stuck: {d:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn invoke(function: &str) -> Value {
    json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"}, "End": true}}})
}

fn db() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cordon-sfn-http-{}.sqlite", uuid::Uuid::new_v4()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_backend_results_and_errors() {
    let endpoint = fake_lambda().await;
    let svc = serve(ServiceConfig::new(db()).with_lambda(Arc::new(HttpLambda::new(endpoint))))
        .await
        .unwrap();
    let c = client(&svc).await;

    let d = run(
        &c,
        "ok",
        invoke("arn:aws:lambda:us-east-1:123456789012:function:echo"),
        ExecutionStatus::Succeeded,
    )
    .await;
    let out: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["Payload"], json!({"echo": {"user": "mallory"}}));
    assert_eq!(out["StatusCode"], 200);

    let plain = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "End": true}}});
    let d = run(&c, "plain", plain, ExecutionStatus::Succeeded).await;
    assert_eq!(d.output.as_deref(), Some(r#"{"echo":{"user":"mallory"}}"#));

    let d = run(&c, "broken", invoke("broken"), ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Cordon.InvalidEvent"));
    assert_eq!(
        d.cause.as_deref(),
        Some(r#"{"errorMessage":"no detail","errorType":"Cordon.InvalidEvent"}"#)
    );

    let d = run(&c, "missing", invoke("nope"), ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Lambda.ResourceNotFoundException"));

    let down = serve(
        ServiceConfig::new(db()).with_lambda(Arc::new(HttpLambda::new("http://127.0.0.1:9"))),
    )
    .await
    .unwrap();
    let c2 = client(&down).await;
    let d = run(&c2, "down", invoke("echo"), ExecutionStatus::Failed).await;
    assert_eq!(d.error.as_deref(), Some("Lambda.SdkClientException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_task_does_not_block_other_executions() {
    let lambda = InProcessLambda::new()
        .with("slow", |_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(json!({}))
        })
        .with("fast", |_| async { Ok(json!({"fast": true})) });
    let svc = serve(ServiceConfig::new(db()).with_lambda(Arc::new(lambda)))
        .await
        .unwrap();
    let c = client(&svc).await;
    let slow = c
        .create_state_machine()
        .name("slow")
        .definition(invoke("slow").to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let slow_exec = c
        .start_execution()
        .state_machine_arn(&slow)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let started = Instant::now();
    run(&c, "fast", invoke("fast"), ExecutionStatus::Succeeded).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    // StopExecution reaches an execution whose task is still in flight.
    c.stop_execution()
        .execution_arn(&slow_exec)
        .send()
        .await
        .unwrap();
    let d = c
        .describe_execution()
        .execution_arn(&slow_exec)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Aborted);
}
