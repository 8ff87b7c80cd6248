//! What the crash tests share: a real `cordon local up` (`CARGO_BIN_EXE_cordon`) on a
//! database in the test's own directory, which a test delivers events to, SIGKILLs and
//! starts again on the same database; and reading back its executions and what it
//! published.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use cordon_loopback::Client;
use serde_json::{Value, json};

/// Starts `cmd` (a `cordon` command) with its stderr appended to `log`, reads its stdout a
/// line at a time until `ready` returns a value, and returns the child with that value;
/// panics, naming the log, if that takes longer than `wait`.
pub fn spawn_until<T: Send + 'static>(
    mut cmd: Command,
    log: &Path,
    wait: Duration,
    mut ready: impl FnMut(&str) -> Option<T> + Send + 'static,
) -> (Child, T) {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("the log");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(value) = ready(&line) {
                let _ = tx.send(value);
                return;
            }
        }
    });
    let value = rx
        .recv_timeout(wait)
        .unwrap_or_else(|e| panic!("{cmd:?} did not start ({e}); see {}", log.display()));
    (child, value)
}

/// A running `cordon local up`. Dropping it SIGKILLs it too, so a failing test leaves no
/// stack running.
pub struct Up {
    child: Child,
    exports: BTreeMap<String, String>,
}

impl Up {
    /// Starts `cordon local up` on `<dir>/sfn.sqlite` with the response policy `policy`
    /// (JSON, written to `<dir>/policy.json`), its stderr appended to `log`; returns once it
    /// has printed its exports.
    pub fn start(dir: &Path, log: &Path, policy: &str) -> Up {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let policy_file = dir.join("policy.json");
        std::fs::write(&policy_file, policy).expect("the response policy");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordon"));
        cmd.current_dir(&root)
            .args(["local", "up", "--sfn-port", "0", "--approval-port", "0"])
            .args(["--events-port", "0", "--db"])
            .arg(dir.join("sfn.sqlite"))
            .arg("--template")
            .arg(root.join("infra/template.yaml"))
            .arg("--response-policy")
            .arg(&policy_file);
        // Its exports, up to the `#` line that follows them.
        let mut exports = BTreeMap::new();
        let (child, exports) = spawn_until(cmd, log, Duration::from_secs(120), move |line| {
            if let Some((k, v)) = line
                .strip_prefix("export ")
                .and_then(|kv| kv.split_once('='))
            {
                exports.insert(k.to_string(), v.to_string());
            }
            line.starts_with('#').then(|| exports.clone())
        });
        Up { child, exports }
    }

    pub fn var(&self, name: &str) -> &str {
        self.exports
            .get(name)
            .unwrap_or_else(|| panic!("cordon local up exported no {name}: {:?}", self.exports))
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Delivers `entries` as CloudTrail does (the stack's delivery path, with the token it
    /// wrote when it started); every entry must be acknowledged.
    pub async fn deliver(&self, dir: &Path, entries: &[serde_json::Value]) {
        let token = cordon::local::delivery::read_token(&dir.join("delivery-token"))
            .expect("the delivery token");
        let endpoint = self.var("AWS_ENDPOINT_URL_EVENTBRIDGE");
        for chunk in entries.chunks(10) {
            let response =
                cordon::local::delivery::deliver(endpoint, &token, &json!({ "Entries": chunk }))
                    .await
                    .expect("delivering");
            let answer: serde_json::Value = serde_json::from_str(&response.text()).expect("JSON");
            assert_eq!(response.status, 200, "{answer}");
            assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
        }
    }

    /// An aws-sdk-sfn client for the stack's Step Functions API.
    pub fn sfn(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(sdk)
                .endpoint_url(self.var("AWS_ENDPOINT_URL_SFN"))
                .build(),
        )
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // Already reaped after `kill`; otherwise (a test that panicked) SIGKILL it now.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every execution of `machine` (name, status): the database is this test's own.
pub async fn list_executions(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
) -> Vec<(String, ExecutionStatus)> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(machine)
            .set_next_token(token)
            .send()
            .await
            .expect("ListExecutions");
        all.extend(
            page.executions()
                .iter()
                .map(|e| (e.execution_arn().to_string(), e.status().clone())),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return all;
        }
    }
}

/// One message published to the incident topic.
pub struct Published {
    pub incident_id: Option<String>,
    pub kind: Option<String>,
    pub body: String,
}

/// Every message published to `topic`, from moto's record of every publish
/// (`/moto-api/data.json`, the topic's `sent_notifications`): `cordon local up` itself
/// reads, prints and deletes what reaches the stack's tap queue.
pub async fn published_all(moto: &str, topic: &str) -> Vec<Published> {
    let url = format!("{moto}/moto-api/data.json");
    let response = Client::new()
        .get(&url, &[])
        .await
        .unwrap_or_else(|e| panic!("reading {url}: {e}"));
    assert_eq!(response.status, 200, "{url}");
    let data: Value = serde_json::from_slice(&response.body).expect("moto's data.json");
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    // CreateTopic leaves an instance per call: every instance of the topic's ARN counts.
    for instance in data["sns"]["Topic"].as_array().into_iter().flatten() {
        if instance["arn"] != topic {
            continue;
        }
        // (message id, message, subject, attributes, group id)
        for sent in instance["sent_notifications"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !seen.insert(sent[0].to_string()) {
                continue;
            }
            let attribute = |k: &str| sent[3][k]["Value"].as_str().map(str::to_string);
            all.push(Published {
                incident_id: attribute("incident_id"),
                kind: attribute("kind"),
                body: sent[1].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    all
}

/// The bodies of the messages of `kind` published to `topic` for `incident_id`.
pub async fn published(moto: &str, topic: &str, incident_id: &str, kind: &str) -> Vec<String> {
    published_all(moto, topic)
        .await
        .into_iter()
        .filter(|p| {
            p.incident_id.as_deref() == Some(incident_id) && p.kind.as_deref() == Some(kind)
        })
        .map(|p| p.body)
        .collect()
}

/// The ARNs of the policies attached to `user`.
pub async fn attached_policy_arns(iam: &aws_sdk_iam::Client, user: &str) -> Vec<String> {
    iam.list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .expect("ListAttachedUserPolicies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}
