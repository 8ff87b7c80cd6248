//! The local stack as the browser tests see it: starting it, attacking it, reading the
//! emailed links, and reading back what the workflow, IAM and the table hold.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use cordon::local::{LocalStack, LocalStackOptions, StackNames};
use cordon::simulate::{self, Attacker};
use cordon_aws::IncidentStore;
use cordon_aws::links::{LinkKind, LinkRecord, LinkStatus, LinkStore};
use cordon_core::model::IncidentStatus;
use serde_json::Value;
use tokio::time::Instant;

use super::webdriver::Browser;

/// Every wait is bounded by this.
pub const WAIT: Duration = Duration::from_secs(60);
pub const NAV: Duration = Duration::from_secs(30);

/// Blocking WebDriver calls, off the async worker.
pub fn b<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

pub struct Shots {
    pub dir: PathBuf,
}

impl Shots {
    pub fn new() -> Shots {
        let dir = cordon_tests::workspace_root().join("artifacts/browser");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        Shots { dir }
    }

    pub fn take(&self, browser: &Browser, name: &str) {
        let path = self.dir.join(format!("{name}.png"));
        browser.screenshot(&path);
        println!("screenshot: {}", path.display());
    }
}

/// One simulated attack and the execution it started.
pub struct Incident {
    pub id: String,
    pub user: String,
    pub user_arn: String,
    pub execution_arn: String,
}

pub async fn attack(stack: &LocalStack, attacker: &Attacker, prefix: &str) -> Incident {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let name = cordon_aws::testing::unique(prefix);
    let created = simulate::create_backdoor_user(&iam, &name)
        .await
        .unwrap_or_else(|e| panic!("creating {name}: {e:#}"));
    let event = simulate::create_user_event(attacker, &created, chrono::Utc::now());
    let id = cordon_core::incident::incident_id_for_event(
        event["detail"]["eventID"].as_str().expect("eventID"),
    );
    let started = stack
        .put_event(&event)
        .await
        .unwrap_or_else(|e| panic!("delivering the event: {e:#}"));
    assert_eq!(
        started.len(),
        1,
        "exactly one rule should start the workflow for CreateUser: {:?}",
        started.iter().map(|s| &s.rule).collect::<Vec<_>>()
    );
    Incident {
        id,
        user: name,
        user_arn: created.arn,
        execution_arn: started[0].execution_arn.clone(),
    }
}

pub async fn jdoe(stack: &LocalStack) -> Attacker {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    // Other tests may create jdoe at the same moment: one retry settles the race.
    match simulate::compromised_jdoe(&iam, cordon::local::LOCAL_ACCOUNT).await {
        Ok(a) => a,
        Err(_) => simulate::compromised_jdoe(&iam, cordon::local::LOCAL_ACCOUNT)
            .await
            .unwrap_or_else(|e| panic!("the compromised user jdoe: {e:#}")),
    }
}

/// The names of the states entered so far, in order.
pub async fn states(stack: &LocalStack, execution_arn: &str) -> Vec<String> {
    stack
        .progress(execution_arn)
        .await
        .unwrap_or_else(|e| panic!("reading the execution history: {e:?}"))
        .entered
}

pub async fn status(stack: &LocalStack, execution_arn: &str) -> ExecutionStatus {
    stack
        .sfn_client
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing the execution: {e:?}"))
        .status
}

pub async fn wait_for_approval_state(stack: &LocalStack, execution_arn: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let entered = states(stack, execution_arn).await;
        let st = status(stack, execution_arn).await;
        if entered.last().map(String::as_str) == Some("RequestApproval")
            && st == ExecutionStatus::Running
        {
            return;
        }
        assert!(
            st == ExecutionStatus::Running && Instant::now() < deadline,
            "the execution never waited in RequestApproval ({st:?}); states: {entered:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Still waiting for a human: RUNNING, and RequestApproval the last state entered.
pub async fn assert_still_waiting(stack: &LocalStack, execution_arn: &str, when: &str) {
    let st = status(stack, execution_arn).await;
    let entered = states(stack, execution_arn).await;
    assert_eq!(
        st,
        ExecutionStatus::Running,
        "{when}: the execution moved on"
    );
    assert_eq!(
        entered.last().map(String::as_str),
        Some("RequestApproval"),
        "{when}: the execution left RequestApproval: {entered:?}"
    );
}

pub async fn wait_for_end(
    stack: &LocalStack,
    execution_arn: &str,
) -> (ExecutionStatus, Vec<String>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = status(stack, execution_arn).await;
        if st != ExecutionStatus::Running {
            return (st, states(stack, execution_arn).await);
        }
        assert!(
            Instant::now() < deadline,
            "the execution is still running after {WAIT:?}; states: {:?}",
            states(stack, execution_arn).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Approval links from the approval-request emails, by incident id, read (and consumed)
/// from the topic's tap queue.
pub struct Mailbox {
    pub links: HashMap<String, String>,
}

impl Mailbox {
    pub async fn link_for(&mut self, stack: &LocalStack, incident_id: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
        let prefix = format!("{}/a/", stack.approval.url);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(link) = self.links.get(incident_id) {
                return link.clone();
            }
            let received = sqs
                .receive_message()
                .queue_url(&stack.resources.tap_queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .send()
                .await
                .unwrap_or_else(|e| panic!("reading the tap queue: {e:?}"));
            for m in received.messages() {
                let envelope: Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
                let attribute = |k: &str| envelope["MessageAttributes"][k]["Value"].as_str();
                let body = envelope["Message"].as_str().unwrap_or_default();
                if attribute("kind") == Some("approvalRequest")
                    && let (Some(incident), Some(start)) =
                        (attribute("incident_id"), body.find(&prefix))
                {
                    let link: String = body[start..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    self.links.insert(incident.to_string(), link);
                }
                if let Some(handle) = m.receipt_handle() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&stack.resources.tap_queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no approval email for incident {incident_id} reached the tap queue within {WAIT:?}"
            );
            if received.messages().is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

pub fn link_id(link: &str) -> String {
    link.rsplit('/')
        .next()
        .expect("an id in the link")
        .to_string()
}

/// The user's attached policy names and tags, from moto.
pub async fn iam_state(stack: &LocalStack, user: &str) -> (Vec<String>, HashMap<String, String>) {
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let policies = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing {user}'s policies: {e:?}"))
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .collect();
    let tags = iam
        .list_user_tags()
        .user_name(user)
        .send()
        .await
        .unwrap_or_else(|e| panic!("listing {user}'s tags: {e:?}"))
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    (policies, tags)
}

pub async fn assert_not_quarantined(stack: &LocalStack, user: &str, when: &str) {
    let (policies, tags) = iam_state(stack, user).await;
    assert!(
        !policies.iter().any(|p| *p == quarantine_policy_name()),
        "{when}: {user} is quarantined: {policies:?}"
    );
    assert!(
        !tags.contains_key(cordon_core::tags::SECURITY_STATUS),
        "{when}: {user} carries Cordon's tags: {tags:?}"
    );
}

/// The approval link `id` as the table holds it.
pub async fn approval_link(stack: &LocalStack, id: &str) -> LinkRecord {
    let store =
        cordon_aws::Aws::new(stack.sdk.clone()).link_store(stack.resources.table_name.clone());
    let link =
        cordon_aws::links::LinkId::parse(id).unwrap_or_else(|| panic!("{id} is not a link id"));
    store
        .get(LinkKind::Approval, &link.hash())
        .await
        .unwrap_or_else(|e| panic!("reading approval {id}: {e}"))
        .unwrap_or_else(|| panic!("approval {id} is not in the table"))
}

pub async fn link_status(stack: &LocalStack, id: &str) -> LinkStatus {
    approval_link(stack, id).await.status
}

pub async fn incident_status(stack: &LocalStack, incident_id: &str) -> IncidentStatus {
    let store =
        cordon_aws::Aws::new(stack.sdk.clone()).incident_store(stack.resources.table_name.clone());
    store
        .get(incident_id)
        .await
        .unwrap_or_else(|e| panic!("reading incident {incident_id}: {e}"))
        .unwrap_or_else(|| panic!("incident {incident_id} is not in the table"))
        .status
}

pub fn assert_page_contains(browser: &Browser, what: &str, expected: &[&str]) {
    let text = browser.body_text();
    for e in expected {
        assert!(text.contains(e), "{what}: the page lacks {e:?}:\n{text}");
    }
}

/// The stack's quarantine policy, as the template names it (`<stack>-…`).
pub fn quarantine_policy_name() -> String {
    format!(
        "{}-{}",
        cordon::local::LOCAL_STACK_NAME,
        cordon_core::quarantine::QUARANTINE_POLICY_NAME
    )
}

/// A local stack of its own (resources named `<prefix>-…`, a fresh database), with the
/// template `parameters`; and the database's folder, to remove at the end.
pub async fn start_stack(
    prefix: &str,
    parameters: BTreeMap<String, String>,
) -> (LocalStack, PathBuf) {
    let db_dir = std::env::temp_dir().join(cordon_aws::testing::unique(&format!("{prefix}-db")));
    let mut options = LocalStackOptions::for_checkout(&cordon_tests::workspace_root());
    options.names = StackNames {
        table: cordon_aws::testing::unique(prefix),
        topic: cordon_aws::testing::unique(prefix),
        tap_queue: cordon_aws::testing::unique(&format!("{prefix}-tap")),
    };
    options.db = db_dir.join("sfn.sqlite");
    options.parameters = parameters;
    let stack = LocalStack::start(&options)
        .await
        .unwrap_or_else(|e| panic!("starting the local stack: {e:#}"));
    (stack, db_dir)
}
