//! The shared runner writes the metrics of every invocation, whatever its outcome, as
//! Embedded Metric Format lines the specification accepts: one set per invocation.
use std::sync::{Arc, Mutex};

use cordon_aws::metrics::{Sink, set_sink};
use cordon_aws::{Aws, Configure, Function, Running};
use cordon_core::TaskError;
use cordon_core::metrics::validate;
use serde_json::{Value, json};

#[derive(Clone)]
struct Echo;

impl Configure for Echo {
    fn configure(
        _env: cordon_aws::env::Lookup<'_>,
        _aws: &Aws,
        _clock: cordon_aws::Clock,
    ) -> Result<Self, TaskError> {
        Ok(Echo)
    }
}

impl Function for Echo {
    type Input = Value;
    type Output = Value;

    async fn handle(&self, input: Value) -> Result<Value, TaskError> {
        match input["fail"].as_str() {
            Some("transient") => Err(TaskError::transient("iam:GetUser", "Throttling")),
            Some(_) => Err(TaskError::invalid("$.fail", "asked to fail")),
            None => Ok(input),
        }
    }
}

#[tokio::test]
async fn every_invocation_writes_one_valid_set_of_metric_lines() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    set_sink(Sink::Capture(captured.clone()));
    let env = |name: &str| (name == "AWS_LAMBDA_FUNCTION_NAME").then(|| "cordon-echo".to_owned());
    let running = Running::<Echo>::start(
        &env,
        Aws::new(aws_config::SdkConfig::builder().build()),
        cordon_aws::system_clock(),
    );
    let take = || std::mem::take(&mut *captured.lock().unwrap());

    running.invoke_json(json!({"ok": 1})).await.expect("echo");
    let ok = take();
    assert_eq!(ok.len(), 1, "{ok:#?}");
    running
        .invoke_json(json!({"fail": "transient"}))
        .await
        .expect_err("transient");
    let transient = take();
    assert_eq!(
        transient.len(),
        2,
        "the invocation and its error: {transient:#?}"
    );
    running
        .invoke_json(json!({"fail": "invalid"}))
        .await
        .expect_err("invalid");
    let invalid = take();

    for line in ok.iter().chain(&transient).chain(&invalid) {
        validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed["Function"], "cordon-echo", "{line}");
        assert_eq!(
            parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Cordon"
        );
    }
    let count = |lines: &[String], name: &str| {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v[name].is_number())
            .count()
    };
    assert_eq!(count(&ok, "Invocations"), 1);
    assert_eq!(count(&ok, "Errors"), 0);
    assert_eq!(count(&transient, "RetryableErrors"), 1);
    assert!(
        transient[1].contains("\"Error\":\"Cordon.Transient\""),
        "{}",
        transient[1]
    );
    assert!(
        invalid[1].contains("\"Error\":\"Cordon.InvalidEvent\""),
        "{}",
        invalid[1]
    );
    assert_eq!(count(&invalid, "RetryableErrors"), 0);
}
