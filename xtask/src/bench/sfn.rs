//! The same definition on moto's own Step Functions executor, driven over the Step Functions
//! JSON API on loopback.
//!
//! What moto needs (read from moto 5.2.5's source):
//! - `POST /moto-api/config` with `{"stepfunctions": {"execute_state_machine": true}}` turns its
//!   executor (LocalStack's ASL interpreter, one Python thread per execution) on;
//! - its executor runs `arn:aws:states:::lambda:invoke` by calling moto's own Lambda Invoke
//!   API over HTTP, which needs Docker unless `{"lambda": {"use_docker": false}}` selects
//!   `LambdaSimpleBackend`: that one invokes no code and answers with the request's payload.
//!   That echo is the no-op Task the engine's bench dispatcher imitates;
//! - requests are routed by the credential scope of the `Authorization` header (without one
//!   moto answers as S3); the signature itself is not checked.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Where requests say they come from; moto reads region and service from the scope.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=testing/20240101/us-east-1/states/aws4_request, \
    SignedHeaders=content-type;host;x-amz-target, Signature=0";

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cordon-bench";

/// How often an execution's status is asked for while it runs.
const POLL: Duration = Duration::from_millis(5);
/// Between sweeps over many running executions.
const SWEEP: Duration = Duration::from_millis(20);
/// No single execution may take longer than this.
const EXECUTION_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
}

impl Client {
    pub fn new(endpoint: String) -> Client {
        let config = ureq::Agent::config_builder()
            // Loopback only: never through a proxy from the environment.
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            endpoint,
        }
    }

    fn post(&self, url: &str, headers: &[(&str, &str)], body: &Value) -> anyhow::Result<Value> {
        let mut req = self.agent.post(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req
            .send(body.to_string())
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the response to POST {url}"))?;
        if !status.is_success() {
            bail!("POST {url}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("POST {url}: the response is not JSON: {text}"))
    }

    fn call(&self, action: &str, body: &Value) -> anyhow::Result<Value> {
        let target = format!("AWSStepFunctions.{action}");
        let headers = [
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Authorization", AUTHORIZATION),
        ];
        self.post(&format!("{}/", self.endpoint), &headers, body)
            .with_context(|| format!("Step Functions {action}"))
    }

    /// Turns moto's executor on, with the Lambda backend that needs no Docker.
    pub fn enable_executor(&self) -> anyhow::Result<()> {
        let config = json!({
            "stepfunctions": {"execute_state_machine": true},
            "lambda": {"use_docker": false},
        });
        self.post(
            &format!("{}/moto-api/config", self.endpoint),
            &[("Content-Type", "application/json")],
            &config,
        )
        .context("configuring moto through /moto-api/config")?;
        Ok(())
    }

    pub fn create_state_machine(&self, name: &str, definition: &str) -> anyhow::Result<String> {
        let r = self.call(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition, "roleArn": ROLE_ARN}),
        )?;
        text_field(&r, "stateMachineArn")
    }

    /// Starts an execution; `name` must be unique (moto would otherwise reuse one).
    pub fn start_execution(&self, sm: &str, name: &str, input: &str) -> anyhow::Result<String> {
        let r = self.call(
            "StartExecution",
            &json!({"stateMachineArn": sm, "name": name, "input": input}),
        )?;
        text_field(&r, "executionArn")
    }

    pub fn describe_execution(&self, arn: &str) -> anyhow::Result<Value> {
        self.call("DescribeExecution", &json!({"executionArn": arn}))
    }

    /// The number of `*StateEntered` events in an execution's history.
    pub fn states_entered(&self, arn: &str) -> anyhow::Result<usize> {
        let r = self.call(
            "GetExecutionHistory",
            &json!({"executionArn": arn, "maxResults": 1000}),
        )?;
        let events = r["events"]
            .as_array()
            .context("GetExecutionHistory returned no events")?;
        Ok(events
            .iter()
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateEntered"))
            })
            .count())
    }
}

fn text_field(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the response has no {key}: {v}"))
}

/// An execution that reached a terminal status.
pub struct Finished {
    pub arn: String,
    /// moto's own stopDate - startDate, in seconds (millisecond resolution).
    pub server_seconds: f64,
    pub output: Value,
}

fn finished(arn: &str, d: &Value) -> anyhow::Result<Option<Finished>> {
    match d["status"].as_str() {
        Some("RUNNING") => Ok(None),
        Some("SUCCEEDED") => {
            let output = match d["output"].as_str() {
                Some(text) => serde_json::from_str(text)
                    .with_context(|| format!("{arn}: the output is not JSON"))?,
                None => Value::Null,
            };
            let server_seconds = d["stopDate"].as_f64().unwrap_or(f64::NAN)
                - d["startDate"].as_f64().unwrap_or(f64::NAN);
            Ok(Some(Finished {
                arn: arn.to_owned(),
                server_seconds,
                output,
            }))
        }
        other => bail!(
            "{arn} ended {} instead of SUCCEEDED: {} {}",
            other.unwrap_or("without a status"),
            d["error"].as_str().unwrap_or(""),
            d["cause"].as_str().unwrap_or("")
        ),
    }
}

/// Runs `n` executions one after another, each from StartExecution until DescribeExecution
/// shows it finished. Returns the elapsed time and the finished executions.
pub fn sequential(
    client: &Client,
    sm: &str,
    input: &str,
    prefix: &str,
    n: usize,
) -> anyhow::Result<(Duration, Vec<Finished>)> {
    let t = Instant::now();
    let mut done = Vec::with_capacity(n);
    for i in 0..n {
        let arn = client.start_execution(sm, &format!("{prefix}-{i}"), input)?;
        let deadline = Instant::now() + EXECUTION_TIMEOUT;
        loop {
            if let Some(f) = finished(&arn, &client.describe_execution(&arn)?)? {
                done.push(f);
                break;
            }
            if Instant::now() > deadline {
                bail!("{arn} still RUNNING after {EXECUTION_TIMEOUT:?}");
            }
            std::thread::sleep(POLL);
        }
    }
    Ok((t.elapsed(), done))
}

/// Starts `n` executions back to back, then sweeps DescribeExecution over the running ones
/// until all have finished. The elapsed time runs from the first start to the last finish seen.
pub fn concurrent(
    client: &Client,
    sm: &str,
    input: &str,
    prefix: &str,
    n: usize,
) -> anyhow::Result<(Duration, Vec<Finished>)> {
    let t = Instant::now();
    let mut running = Vec::with_capacity(n);
    for i in 0..n {
        running.push(client.start_execution(sm, &format!("{prefix}-{i}"), input)?);
    }
    let deadline = Instant::now() + EXECUTION_TIMEOUT;
    let mut done = Vec::with_capacity(n);
    while !running.is_empty() {
        let mut still = Vec::with_capacity(running.len());
        for arn in running {
            match finished(&arn, &client.describe_execution(&arn)?)? {
                Some(f) => done.push(f),
                None => still.push(arn),
            }
        }
        running = still;
        if running.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {n} executions still RUNNING {EXECUTION_TIMEOUT:?} after the last start",
                running.len()
            );
        }
        std::thread::sleep(SWEEP);
    }
    Ok((t.elapsed(), done))
}
