//! A real task binary, run by `cargo lambda watch` (the Lambda runtime emulator), invoked
//! by the local Step Functions service through the HTTP Lambda Invoke API backend, against
//! moto. This is the path a developer uses to debug a task exactly as Lambda runs it.
//!
//! Needs `cargo-lambda` (pip install cargo-lambda): `cargo xtask test` installs it into
//! `.venv-lambda/` and exports `CORDON_CARGO_LAMBDA`. Without it this test fails loudly.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cordon_tests::workspace_root;
use serde_json::json;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cargo_lambda() -> String {
    let candidate = std::env::var("CORDON_CARGO_LAMBDA").unwrap_or_else(|_| "cargo-lambda".into());
    let works = Command::new(&candidate)
        .args(["lambda", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        works,
        "this test needs cargo-lambda but `{candidate} lambda --version` failed. Run the suite \
         with `cargo xtask test` (it installs cargo-lambda into .venv-lambda/), or \
         `pip install cargo-lambda` and set CORDON_CARGO_LAMBDA to its path"
    );
    candidate
}

#[tokio::test]
async fn a_real_task_binary_under_cargo_lambda_watch_runs_through_the_http_backend() {
    let cargo_lambda = cargo_lambda();
    let moto = cordon_aws::testing::moto().await;
    let root = workspace_root();

    // Build the binary first so the first invoke does not wait for a compile.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "cordon-tag",
            "--bin",
            "cordon-tag",
        ])
        .status()
        .expect("running cargo build");
    assert!(built.success(), "cargo build -p cordon-tag failed");

    let port = cordon_loopback::free_port().expect("a free loopback port");
    let watch = Command::new(&cargo_lambda)
        .current_dir(&root)
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .args(["-p", "cordon-tag"])
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .stdin(Stdio::null())
        .spawn()
        .expect("starting cargo lambda watch");
    let _watch = KillOnDrop(watch);
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch never listened on {port}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The local Step Functions service, resolving Lambda tasks over HTTP.
    let db = std::env::temp_dir().join(format!("cordon-watch-{}.sqlite", uuid::Uuid::new_v4()));
    let service = cordon_sfn_local::serve(
        cordon_sfn_local::ServiceConfig::new(db)
            .with_port(0)
            .with_lambda(std::sync::Arc::new(cordon_sfn_local::HttpLambda::new(
                format!("http://127.0.0.1:{port}"),
            ))),
    )
    .await
    .expect("serving");
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&moto.config)
            .endpoint_url(service.endpoint())
            .build(),
    );

    let iam = aws_sdk_iam::Client::new(&moto.config);
    let user = cordon_aws::testing::unique("watched");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("create user");

    let definition = json!({
        "StartAt": "Tag",
        "States": {"Tag": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "cordon-tag", "Payload.$": "$"},
            "ResultSelector": {"tags.$": "$.Payload.tags", "status.$": "$.StatusCode"},
            "End": true
        }}
    });
    let machine = sfn
        .create_state_machine()
        .name(cordon_aws::testing::unique("watch"))
        .role_arn("arn:aws:iam::123456789012:role/cordon-local")
        .definition(definition.to_string())
        .send()
        .await
        .expect("create state machine");
    let input = json!({"incidentId": "ct-watch", "userName": user, "quarantinedAt": "2024-09-27T14:05:02Z"});
    let started = sfn
        .start_execution()
        .state_machine_arn(machine.state_machine_arn())
        .name(uuid::Uuid::new_v4().to_string())
        .input(input.to_string())
        .send()
        .await
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(240);
    let described = loop {
        let d = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .expect("describe");
        if d.status().as_str() != "RUNNING" {
            break d;
        }
        assert!(Instant::now() < deadline, "the execution is still running");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        described.status().as_str(),
        "SUCCEEDED",
        "{:?} {:?}",
        described.error(),
        described.cause()
    );
    let output: serde_json::Value =
        serde_json::from_str(described.output().unwrap_or("{}")).expect("output JSON");
    assert_eq!(output["status"], 200);
    assert_eq!(output["tags"]["SecurityStatus"], "Quarantined");

    // The binary really talked to moto.
    let tags = iam
        .list_user_tags()
        .user_name(&user)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "CordonIncident" && t.value() == "ct-watch")
    );
    service.shutdown().await;
}
