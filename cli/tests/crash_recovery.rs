//! `cordon local up`, killed with SIGKILL three times while a burst of incidents runs, and
//! started again on the same database each time: every event the API acknowledged ends in
//! exactly one execution, every execution finishes, and every backdoor user is contained.
//! Nothing acknowledged is lost, nothing runs twice.
//!
//! The real binary (`CARGO_BIN_EXE_cordon`) against moto (`cargo xtask test` exports
//! `AWS_ENDPOINT_URL`). The stack uses its default resource names, so incidents are told
//! apart by the users this test creates.
//!
//! `CORDON_CRASH_INCIDENTS` sets the size (default 24; `cargo xtask bench` runs more), and
//! `CORDON_CRASH_REPORT`, when set, names a JSON file for the figures.
// Shared with crash_after_approval.rs, which reads more of what was published.
#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cordon::simulate::{Attacker, create_backdoor_user, create_user_event, put_events_entry};
use cordon_aws::IncidentStore;
use cordon_aws::testing::{moto, unique};
use cordon_core::model::IncidentStatus;

use common::{Up, attached_policy_arns, list_executions, published_all};

const KILLS: usize = 3;
/// How long a burst may take to settle after the last restart.
const SETTLE: Duration = Duration::from_secs(240);
/// Every backdoor user is contained without asking anyone.
const POLICY: &str = r#"{"rules": {"iam.user-created": {"disposition": "auto"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_three_times_mid_burst_loses_nothing_and_runs_nothing_twice() {
    let incidents: usize = std::env::var("CORDON_CRASH_INCIDENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
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
    for _ in 0..incidents {
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
    let per_round = incidents.div_ceil(KILLS);
    let started = tokio::time::Instant::now();
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
    let restarted = tokio::time::Instant::now();
    let deadline = restarted + SETTLE;
    let executions = loop {
        let all = list_executions(&sfn, &machine).await;
        let running = all
            .iter()
            .filter(|(_, status)| *status == aws_sdk_sfn::types::ExecutionStatus::Running)
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
    let settled = restarted.elapsed();
    let wall = started.elapsed();

    let failed: Vec<_> = executions
        .iter()
        .filter(|(_, status)| *status != aws_sdk_sfn::types::ExecutionStatus::Succeeded)
        .cloned()
        .collect();

    // Every backdoor user contained once, its incident closed as CONTAINED.
    let store = m.aws.incident_store("cordon-incidents".to_string());
    let quarantine = up.var("CORDON_STACK_QUARANTINE_POLICY_ARN").to_string();
    let topic = up.var("CORDON_STACK_INCIDENT_TOPIC_ARN").to_string();
    let mut not_contained = BTreeSet::new();
    let mut told_again = BTreeSet::new();
    let mut wrong_notifications = BTreeSet::new();
    let sent = published_all(&m.endpoint, &topic).await;
    for user in &users {
        let notified = sent
            .iter()
            .filter(|p| {
                p.incident_id.as_ref() == Some(&incident_ids[user])
                    && p.kind.as_deref() == Some("contained")
            })
            .count();
        // At least once, and at most once more per kill (see below).
        if notified == 0 || notified > 1 + KILLS {
            wrong_notifications.insert(format!("{user}: {notified} contained notifications"));
        } else if notified > 1 {
            told_again.insert(user.clone());
        }
        let attached = attached_policy_arns(&iam, user).await;
        let record = store
            .get(&incident_ids[user])
            .await
            .expect("GetItem")
            .unwrap_or_else(|| panic!("no incident for {user}"));
        if !attached.contains(&quarantine) || record.status != IncidentStatus::Contained {
            not_contained.insert(format!("{user}: {:?}, {attached:?}", record.status));
        }
    }
    let report = serde_json::json!({
        "incidents": incidents,
        "kills": KILLS,
        "executions": executions.len(),
        "succeeded": executions.len() - failed.len(),
        "contained": users.len() - not_contained.len(),
        "lost": incidents.saturating_sub(executions.len()),
        "doubled": executions.len().saturating_sub(incidents) + told_again.len(),
        "settle_seconds_after_last_restart": settled.as_secs_f64(),
        "wall_seconds": wall.as_secs_f64(),
    });
    println!("crash recovery: {report}");
    if let Ok(path) = std::env::var("CORDON_CRASH_REPORT") {
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("JSON"))
            .unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }

    // One execution per acknowledged event (the database is this test's own), all done.
    assert_eq!(executions.len(), incidents, "one execution per event");
    assert!(failed.is_empty(), "{failed:?}; see {}", log.display());
    assert!(
        not_contained.is_empty(),
        "{not_contained:?}; see {}",
        log.display()
    );
    // Every incident told. A kill that lands after SNS accepted a publish (a request still
    // queued at SNS counts) and before notify wrote its marker makes the resumed execution
    // publish again: SNS has no deduplication outside FIFO topics (which email cannot
    // subscribe to), so Cordon's notifications are at least once (README). Each kill can
    // add at most one copy per incident; the copies are counted in the report
    // (`doubled`: incidents told more than once).
    assert!(
        wrong_notifications.is_empty(),
        "{wrong_notifications:?}; see {}",
        log.display()
    );
    up.kill();
    std::fs::remove_dir_all(&dir).expect("cleaning up");
}
