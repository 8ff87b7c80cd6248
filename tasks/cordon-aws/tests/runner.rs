//! How every Cordon Lambda runs (`cordon_aws::Running`): a bad configuration is answered on
//! every invocation instead of crashing at start-up, and preparing is retried.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use cordon_aws::env::{self, Lookup};
use cordon_aws::{Aws, Clock, Configure, Function, Running};
use cordon_core::{TaskError, names};
use serde_json::{Value, json};

/// A function that needs `GREETING` and, before its first invocation, a successful
/// `prepare` (which fails as often as `prepare_failures` says).
#[derive(Clone)]
struct Greeter {
    greeting: String,
    prepared: bool,
    prepare_failures: Arc<AtomicU32>,
}

impl Configure for Greeter {
    fn configure(env: Lookup<'_>, _aws: &Aws, _clock: Clock) -> Result<Self, TaskError> {
        Ok(Self {
            greeting: env::required(env, "GREETING", "a greeting")?,
            prepared: false,
            prepare_failures: Arc::new(AtomicU32::new(
                env::optional(env, "PREPARE_FAILURES")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            )),
        })
    }

    async fn prepare(&mut self, _aws: &Aws) -> Result<(), TaskError> {
        let left = self.prepare_failures.load(Ordering::SeqCst);
        if left > 0 {
            self.prepare_failures.store(left - 1, Ordering::SeqCst);
            return Err(TaskError::transient("sts:GetCallerIdentity", "unreachable"));
        }
        self.prepared = true;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Input {
    name: String,
    /// How long the handler works before it answers.
    #[serde(default)]
    work_ms: u64,
}

impl Function for Greeter {
    type Input = Input;
    type Output = Value;

    async fn handle(&self, input: Input) -> Result<Value, TaskError> {
        assert!(self.prepared, "handle runs only once prepared");
        tokio::time::sleep(std::time::Duration::from_millis(input.work_ms)).await;
        Ok(json!({"text": format!("{}, {}", self.greeting, input.name)}))
    }
}

fn aws() -> Aws {
    Aws::new(aws_config::SdkConfig::builder().build())
}

fn start(vars: &[(&str, &str)]) -> Running<Greeter> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    Running::start(&lookup, aws(), cordon_aws::system_clock())
}

#[tokio::test]
async fn a_bad_configuration_is_the_answer_to_every_invocation() {
    let running = start(&[]);
    let err = running.config_error().expect("GREETING is missing");
    assert_eq!(err.error_name(), names::CONFIG);
    for payload in [json!({"name": "alice"}), json!("not even the right shape")] {
        let answer = running
            .invoke_json(payload)
            .await
            .expect_err("misconfigured");
        assert_eq!(answer.error_name(), names::CONFIG);
        assert!(
            answer
                .to_string()
                .contains("GREETING is not set; set it to a greeting"),
            "says which variable and what to set: {answer}"
        );
    }
}

#[tokio::test]
async fn a_configured_function_handles_json_and_refuses_what_does_not_fit() {
    let running = start(&[("GREETING", "hello")]);
    assert!(running.config_error().is_none());
    let out = running
        .invoke_json(json!({"name": "alice"}))
        .await
        .expect("handled");
    assert_eq!(out, json!({"text": "hello, alice"}));
    let err = running
        .invoke_json(json!({"nom": "alice"}))
        .await
        .expect_err("wrong shape");
    assert_eq!(err.error_name(), names::INVALID_EVENT);
}

#[tokio::test]
async fn preparing_is_retried_until_it_succeeds_then_kept() {
    let running = start(&[("GREETING", "hi"), ("PREPARE_FAILURES", "1")]);
    let err = running
        .invoke_json(json!({"name": "bob"}))
        .await
        .expect_err("the first prepare fails");
    assert!(err.is_transient(), "{err:?}");
    let out = running
        .invoke_json(json!({"name": "bob"}))
        .await
        .expect("prepared on the next invocation");
    assert_eq!(out["text"], "hi, bob");
    running.ready().await.expect("still prepared");
}

#[tokio::test]
async fn a_handler_still_working_near_the_deadline_is_stopped_as_transient() {
    use std::time::Duration;
    let running = start(&[("GREETING", "hi")]);
    let margin = cordon_aws::deadline::MARGIN;
    // Lambda would end this invocation 300 ms after the runner's cut; the handler needs 5 s.
    let deadline = tokio::time::Instant::now() + margin + Duration::from_millis(300);
    let err = running
        .invoke_json_before(json!({"name": "carol", "work_ms": 5000}), deadline)
        .await
        .expect_err("cut before the deadline");
    assert!(err.is_transient(), "the workflow retries it: {err:?}");
    assert!(
        tokio::time::Instant::now() < deadline,
        "answered before Lambda would have ended the invocation"
    );
    // With time to spare, the same work is done.
    let deadline = tokio::time::Instant::now() + margin + Duration::from_secs(10);
    let out = running
        .invoke_json_before(json!({"name": "carol", "work_ms": 10}), deadline)
        .await
        .expect("done in time");
    assert_eq!(out["text"], "hi, carol");
}
