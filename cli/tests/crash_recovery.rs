//! `cordon local up`, killed with SIGKILL three times while a burst of incidents runs, and
//! started again on the same database each time: every event the API acknowledged ends in
//! exactly one execution, every execution finishes, and every backdoor user is contained.
//! Nothing acknowledged is lost, nothing runs twice.
//!
//! The real binary (`CARGO_BIN_EXE_cordon`) against moto (`cargo xtask test` exports
//! `AWS_ENDPOINT_URL`). The stack uses its default resource names, so incidents are told
//! apart by the users this test creates.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cordon::simulate::{Attacker, create_backdoor_user, create_user_event, put_events_entry};
use cordon_aws::IncidentStore;
use cordon_aws::testing::{moto, unique};
use cordon_core::model::IncidentStatus;

use common::Up;

const INCIDENTS: usize = 24;
const KILLS: usize = 3;
/// How long a burst may take to settle after the last restart.
const SETTLE: Duration = Duration::from_secs(240);
/// Every backdoor user is contained without asking anyone.
const POLICY: &str = r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#;

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
    let mut up = Up::start(&dir, &log, POLICY);
    for (round, batch) in entries.chunks(per_round).enumerate() {
        up.deliver(&dir, batch).await;
        tokio::time::sleep(Duration::from_millis(300 + 400 * round as u64)).await;
        up.kill();
        up = Up::start(&dir, &log, POLICY);
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
