//! `cordon local up`, killed with SIGKILL three times while a burst of incidents runs, and
//! started again on the same database each time: every event the API acknowledged ends in
//! exactly one execution, every execution finishes, and every backdoor user is contained.
//! Nothing acknowledged is lost, nothing runs twice.
//!
//! The real binary (`CARGO_BIN_EXE_cordon`) against moto (`cargo xtask test` exports
//! `AWS_ENDPOINT_URL`). The stack uses its default resource names, so incidents are told
//! apart by the users this test creates.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cordon::simulate::{Attacker, create_backdoor_user, create_user_event, put_events_entry};
use cordon_aws::IncidentStore;
use cordon_aws::testing::{moto, unique};
use cordon_core::model::IncidentStatus;
use serde_json::json;

const INCIDENTS: usize = 24;
const KILLS: usize = 3;
/// How long a burst may take to settle after the last restart.
const SETTLE: Duration = Duration::from_secs(240);

/// A running `cordon local up`.
struct Up {
    child: Child,
    exports: BTreeMap<String, String>,
}

impl Up {
    fn start(dir: &Path, log: &Path) -> Up {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let policy = dir.join("policy.json");
        std::fs::write(
            &policy,
            r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#,
        )
        .expect("the response policy");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_cordon"))
            .current_dir(&root)
            .args(["local", "up", "--sfn-port", "0", "--approval-port", "0"])
            .args(["--events-port", "0", "--db"])
            .arg(dir.join("sfn.sqlite"))
            .arg("--template")
            .arg(root.join("infra/template.yaml"))
            .arg("--response-policy")
            .arg(&policy)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting cordon local up");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut exports = BTreeMap::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((k, v)) = line
                    .strip_prefix("export ")
                    .and_then(|kv| kv.split_once('='))
                {
                    exports.insert(k.to_string(), v.to_string());
                } else if line.starts_with('#') {
                    let _ = tx.send(exports.clone());
                    return;
                }
            }
        });
        let exports = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| {
                panic!("cordon local up did not start ({e}); see {}", log.display())
            });
        Up { child, exports }
    }

    fn var(&self, name: &str) -> &str {
        self.exports
            .get(name)
            .unwrap_or_else(|| panic!("cordon local up exported no {name}: {:?}", self.exports))
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Delivers `entries` as CloudTrail does (the stack's delivery path, with the token it
    /// wrote when it started); every entry must be acknowledged.
    async fn deliver(&self, dir: &Path, entries: &[serde_json::Value]) {
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

    fn sfn(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(sdk)
                .endpoint_url(self.var("AWS_ENDPOINT_URL_SFN"))
                .build(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_three_times_mid_burst_loses_nothing_and_runs_nothing_twice() {
    let m = moto().await;
    let dir = std::env::temp_dir().join(unique("cordon-crash"));
    std::fs::create_dir_all(&dir).expect("state dir");
    let log = dir.join("local-up.log");

    // The attacker and its backdoor users, really in IAM; one CloudTrail record each.
    let iam = aws_sdk_iam::Client::new(&m.config);
    let attacker = Attacker::jdoe(
        cordon::local::LOCAL_ACCOUNT,
        "AKIAEXAMPLECRASH0001",
        "AIDAEXAMPLECRASH0001",
    );
    let mut users = Vec::new();
    let mut entries = Vec::new();
    let mut incident_ids = BTreeMap::new();
    for _ in 0..INCIDENTS {
        let created = create_backdoor_user(&iam, &unique("crash-backdoor"))
            .await
            .expect("a backdoor user");
        let event = create_user_event(&attacker, &created, chrono::Utc::now());
        let event_id = event["detail"]["eventID"]
            .as_str()
            .expect("eventID")
            .to_string();
        incident_ids.insert(
            created.user_name.clone(),
            cordon_core::incident::incident_id_for_event(&event_id),
        );
        users.push(created.user_name.clone());
        entries.push(put_events_entry(&event));
    }

    // A third of the burst, then SIGKILL shortly after, three times over.
    let per_round = INCIDENTS / KILLS;
    let mut up = Up::start(&dir, &log);
    for (round, batch) in entries.chunks(per_round).enumerate() {
        up.deliver(&dir, batch).await;
        tokio::time::sleep(Duration::from_millis(300 + 400 * round as u64)).await;
        up.kill();
        up = Up::start(&dir, &log);
    }

    // The last start resumes what was running; wait until every execution has ended.
    let sfn = up.sfn(&m.config);
    let machine = up.var("CORDON_STACK_STATE_MACHINE_ARN").to_string();
    let deadline = tokio::time::Instant::now() + SETTLE;
    let executions = loop {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = sfn
                .list_executions()
                .state_machine_arn(&machine)
                .set_next_token(token)
                .send()
                .await
                .expect("ListExecutions");
            all.extend(page.executions().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let running = all
            .iter()
            .filter(|e| e.status() == &aws_sdk_sfn::types::ExecutionStatus::Running)
            .count();
        if running == 0 {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{running} execution(s) still running after {SETTLE:?}; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // One execution per acknowledged event (the database is this test's own), all done.
    assert_eq!(executions.len(), INCIDENTS, "one execution per event");
    let failed: Vec<_> = executions
        .iter()
        .filter(|e| e.status() != &aws_sdk_sfn::types::ExecutionStatus::Succeeded)
        .map(|e| (e.name().to_string(), e.status().clone()))
        .collect();
    assert!(failed.is_empty(), "{failed:?}; see {}", log.display());

    // Every backdoor user contained once, its incident closed as CONTAINED.
    let store = m.aws.incident_store("cordon-incidents".to_string());
    let quarantine = up.var("CORDON_STACK_QUARANTINE_POLICY_ARN").to_string();
    let mut not_contained = BTreeSet::new();
    for user in &users {
        let attached: Vec<String> = iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .expect("ListAttachedUserPolicies")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        let record = store
            .get(&incident_ids[user])
            .await
            .expect("GetItem")
            .unwrap_or_else(|| panic!("no incident for {user}"));
        if !attached.contains(&quarantine) || record.status != IncidentStatus::Contained {
            not_contained.insert(format!("{user}: {:?}, {attached:?}", record.status));
        }
    }
    assert!(
        not_contained.is_empty(),
        "{not_contained:?}; see {}",
        log.display()
    );
    up.kill();
    std::fs::remove_dir_all(&dir).expect("cleaning up");
}
