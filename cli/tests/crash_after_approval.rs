//! Issue 14's attack-suite case: `cordon local up` SIGKILLed right after a human's approval
//! was acknowledged. The safe outcome: the decision is not lost, the execution resumes when
//! the service starts again on the same database and finishes exactly once, and every side
//! effect happens once (one quarantine, one approval request, one `contained`
//! notification), the link stays decided and does not ask again.
//!
//! The real binary (`CARGO_BIN_EXE_cordon`) against moto (`cargo xtask test` exports
//! `AWS_ENDPOINT_URL`). The stack uses its default resource names; the incident is told
//! apart by the user this test creates, and the execution by the test's own database.
mod common;

use std::time::Duration;

use aws_sdk_sfn::types::ExecutionStatus;
use cordon::simulate::{Attacker, create_backdoor_user, create_user_event, put_events_entry};
use cordon_aws::IncidentStore;
use cordon_aws::links::{Decision, LinkId, LinkKind, LinkStatus, LinkStore};
use cordon_aws::testing::{moto, unique};
use cordon_core::model::IncidentStatus;
use cordon_loopback::Client;
use serde_json::Value;
use tokio::time::Instant;

use common::{Up, attached_policy_arns, list_executions, published};

/// A backdoor user waits for a human.
const POLICY: &str = r#"{"rules": {"iam.user-created": {"disposition": "approve"}}}"#;
/// Every wait is bounded by this.
const WAIT: Duration = Duration::from_secs(240);
/// The name typed on the approval page (link-only mode records it as the approver).
const APPROVER: &str = "crash-approver";
/// What the test's "browser" sends as its user agent.
const USER_AGENT: &str = "cordon-crash-test (like a browser)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_right_after_an_approval_loses_no_decision_and_contains_once() {
    let m = moto().await;
    let dir = std::env::temp_dir().join(unique("cordon-crash-approval"));
    std::fs::create_dir_all(&dir).expect("state dir");
    let log = dir.join("local-up.log");
    let see_log = format!("see {}", log.display());

    // The attacker's backdoor user, really in IAM, and its CloudTrail record.
    let iam = aws_sdk_iam::Client::new(&m.config);
    let attacker = Attacker::jdoe(
        cordon::local::LOCAL_ACCOUNT,
        "AKIAEXAMPLEAPPROVAL1",
        "AIDAEXAMPLEAPPROVAL1",
    );
    let created = create_backdoor_user(&iam, &unique("approval-backdoor"))
        .await
        .expect("a backdoor user");
    let user = created.user_name.clone();
    let event = create_user_event(&attacker, &created, chrono::Utc::now());
    let incident_id = cordon_core::incident::incident_id_for_event(
        event["detail"]["eventID"].as_str().expect("eventID"),
    );

    let up = Up::start(&dir, &log, POLICY);
    let topic = up.var("CORDON_STACK_INCIDENT_TOPIC_ARN").to_string();
    let table = up.var("CORDON_STACK_INCIDENT_TABLE_NAME").to_string();
    let machine = up.var("CORDON_STACK_STATE_MACHINE_ARN").to_string();
    let quarantine = up.var("CORDON_STACK_QUARANTINE_POLICY_ARN").to_string();
    up.deliver(&dir, &[put_events_entry(&event)]).await;

    // The one execution the event started, waiting in RequestApproval for its task token.
    let sfn = up.sfn(&m.config);
    let deadline = Instant::now() + WAIT;
    let execution_arn = loop {
        let executions = list_executions(&sfn, &machine).await;
        assert!(
            executions.len() <= 1,
            "one event started {} executions: {executions:?}",
            executions.len()
        );
        if let Some((arn, status)) = executions.first() {
            let entered = states_entered(&sfn, arn).await;
            if *status == ExecutionStatus::Running
                && entered.last().map(String::as_str) == Some("RequestApproval")
            {
                break arn.clone();
            }
            assert!(
                *status == ExecutionStatus::Running,
                "the execution ended {status:?} without waiting for approval; states: \
                 {entered:?}; {see_log}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "no execution waited in RequestApproval within {WAIT:?} (executions: \
             {executions:?}); {see_log}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // The link from the approval request the topic received (ids are stored only hashed).
    let approval_url = up.var("CORDON_STACK_APPROVAL_URL").to_string();
    let deadline = Instant::now() + WAIT;
    let link = loop {
        let requests = published(&m.endpoint, &topic, &incident_id, "approvalRequest").await;
        if let Some(body) = requests.first() {
            break link_in(body, &approval_url).unwrap_or_else(|| {
                panic!("the approval request has no {approval_url}/a/ link: {body}")
            });
        }
        assert!(
            Instant::now() < deadline,
            "no approval request for incident {incident_id} reached topic {topic} within \
             {WAIT:?}; {see_log}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let link_id = link.rsplit('/').next().unwrap_or_default().to_string();
    let hash = LinkId::parse(&link_id)
        .unwrap_or_else(|| panic!("no link id in {link}"))
        .hash();

    // Decide as a browser would, and SIGKILL the service as soon as the approval is
    // acknowledged: before the workflow can quarantine, notify and close.
    let client = Client::new();
    let answer = cordon::local::browser::decide(&client, &link, "approve", APPROVER, USER_AGENT)
        .await
        .unwrap_or_else(|e| panic!("approving through the page: {e:#}"))
        .answer;
    up.kill();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(
        answer.text().contains("<h1>Containment approved</h1>"),
        "the POST did not answer \"Containment approved\": {}",
        answer.text()
    );
    let store = m.aws.incident_store(table.clone());
    let at_kill = contained_so_far(&iam, &user, &quarantine).await;
    let status_at_kill = store
        .get(&incident_id)
        .await
        .expect("GetItem")
        .map(|r| r.status.as_str().to_string());
    println!("at the SIGKILL: {at_kill}, incident {status_at_kill:?}");

    // Started again on the same database: the execution resumes with the decision.
    let up = Up::start(&dir, &log, POLICY);
    let sfn = up.sfn(&m.config);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let status = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .expect("DescribeExecution")
            .status;
        if status != ExecutionStatus::Running {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the approved execution is still RUNNING {WAIT:?} after the restart (the \
             decision was lost?); states: {:?}; {see_log}",
            states_entered(&sfn, &execution_arn).await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let entered = states_entered(&sfn, &execution_arn).await;
    assert_eq!(
        status,
        ExecutionStatus::Succeeded,
        "the approved execution ended {status:?}; states: {entered:?}; {see_log}"
    );
    assert!(
        entered.iter().any(|s| s == "Quarantine")
            && entered.last().map(String::as_str) == Some("Done"),
        "the approved execution did not go through Quarantine to Done: {entered:?}"
    );
    // Exactly one execution for the event: the restart resumed it and started nothing.
    let executions = list_executions(&sfn, &machine).await;
    assert_eq!(
        executions,
        vec![(execution_arn.clone(), ExecutionStatus::Succeeded)],
        "one execution for the event, resumed, not a second one"
    );

    // IAM: the quarantine policy attached once, and the tag.
    let attached = attached_policy_arns(&iam, &user).await;
    assert_eq!(
        attached.iter().filter(|a| **a == quarantine).count(),
        1,
        "{user} should have {quarantine} attached exactly once: {attached:?}"
    );
    let tags: Vec<(String, String)> = iam
        .list_user_tags()
        .user_name(&user)
        .send()
        .await
        .expect("ListUserTags")
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert!(
        tags.contains(&("SecurityStatus".to_string(), "Quarantined".to_string())),
        "{user} is not tagged SecurityStatus=Quarantined: {tags:?}"
    );

    // The incident: CONTAINED, with the approval as decided on the page.
    let record = store
        .get(&incident_id)
        .await
        .expect("GetItem")
        .unwrap_or_else(|| panic!("no incident {incident_id} in {table}"));
    assert_eq!(record.status, IncidentStatus::Contained, "{record:?}");
    // The decision and who made it are on the incident's timeline (RecordDecision; the
    // record's own `approval` attribute is not written), once: the kill usually lands
    // after RecordDecision wrote its entry, and the engine persists only at parked points,
    // so the resumed execution enters RecordDecision again; its entry is keyed by the
    // decision's `decidedAt`, which does not change (keyed by `$$.State.EnteredTime`, as
    // it once was, the entry was written twice).
    let timeline = store
        .timeline(&incident_id)
        .await
        .expect("reading the timeline");
    let approvals: Vec<&Value> = timeline
        .iter()
        .filter(|e| e.step == "Approval")
        .map(|e| e.details.as_ref().unwrap_or(&Value::Null))
        .collect();
    assert_eq!(
        approvals.len(),
        1,
        "the decision should be on incident {incident_id}'s timeline once: {timeline:#?}"
    );
    for approval in &approvals {
        assert_eq!(approval["decision"], "approve", "{approval}");
        assert_eq!(approval["approvalId"], hash.as_str(), "{approval}");
        assert_eq!(approval["decidedBy"]["name"], APPROVER, "{approval}");
        assert_eq!(
            approval["decidedAt"], approvals[0]["decidedAt"],
            "{approvals:?}"
        );
    }

    // The link: APPROVED and delivered, the incident's only approval link, and opening it
    // again (on the restarted approval pages) asks nothing.
    let links = m.aws.link_store(table.clone());
    let stored = links
        .get(LinkKind::Approval, &hash)
        .await
        .expect("reading the link")
        .unwrap_or_else(|| panic!("no approval link {}", hash.short()));
    assert_eq!(stored.status, LinkStatus::Approved, "{stored:?}");
    assert_eq!(stored.decision, Some(Decision::Approve), "{stored:?}");
    assert!(stored.delivered_at.is_some(), "never delivered: {stored:?}");
    assert_eq!(
        stored.decided_by.as_ref().and_then(|b| b.name.as_deref()),
        Some(APPROVER),
        "{stored:?}"
    );
    let latest = links
        .find_for_incident(LinkKind::Approval, &incident_id)
        .await
        .expect("reading the incident's links")
        .expect("the incident's approval link");
    assert_eq!(
        latest.hash.as_str(),
        hash.as_str(),
        "a second approval link was made for incident {incident_id}: {latest:?}"
    );
    let again = format!("{}/a/{link_id}", up.var("CORDON_STACK_APPROVAL_URL"));
    let page = client
        .get(
            &again,
            &[("user-agent", USER_AGENT), ("accept", "text/html")],
        )
        .await
        .expect("opening the link again");
    let html = page.text();
    assert!(
        page.status == 409
            && html.contains("Already decided")
            && !html.contains("value=\"approve\""),
        "the decided link asks again ({}): {html}",
        page.status
    );

    // The topic: one approval request and one `contained` notification for the incident.
    let requests = published(&m.endpoint, &topic, &incident_id, "approvalRequest").await;
    assert_eq!(requests.len(), 1, "approval requests sent: {requests:#?}");
    let contained = published(&m.endpoint, &topic, &incident_id, "contained").await;
    assert_eq!(
        contained.len(),
        1,
        "`contained` notifications sent: {contained:#?}"
    );

    up.kill();
    std::fs::remove_dir_all(&dir).expect("cleaning up");
}

/// The states an execution entered, in order.
async fn states_entered(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> Vec<String> {
    sfn.get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .send()
        .await
        .expect("GetExecutionHistory")
        .events()
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_string())
        .collect()
}

/// The approval link (`<approval url>/a/<id>`) in an approval request's body.
fn link_in(body: &str, approval_url: &str) -> Option<String> {
    let start = body.find(&format!("{approval_url}/a/"))?;
    Some(
        body[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect(),
    )
}

/// How far containment had got (for the test's output: the SIGKILL's timing is not
/// controlled, so this is reported, not asserted).
async fn contained_so_far(iam: &aws_sdk_iam::Client, user: &str, quarantine: &str) -> String {
    let attached = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .map(|o| {
            o.attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(quarantine))
        })
        .unwrap_or(false);
    let tagged = iam
        .list_user_tags()
        .user_name(user)
        .send()
        .await
        .map(|o| o.tags().iter().any(|t| t.key() == "SecurityStatus"))
        .unwrap_or(false);
    format!("quarantine policy attached: {attached}, tagged: {tagged}")
}
