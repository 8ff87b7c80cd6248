//! Emulator-backed: a password spray of 200 failed sign-ins from one IP, counted by the
//! DynamoDB failure counter (atomic `ADD` on a counter item with a TTL) in a real table,
//! is one incident whose timeline carries the count up to 200.
use std::sync::Arc;

use chrono::{Duration, Utc};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::{fixture, moto, unique};
use cordon_core::model::IncidentStatus;
use cordon_record::{CloseInput, Deps, Input, OpenInput, Outcome, Output, handle};
use serde_json::json;

#[tokio::test]
async fn a_spray_of_200_failures_from_one_ip_is_one_incident_counted_to_200() {
    let m = moto().await;
    let store = Arc::new(m.incident_store().await);
    let deps = Deps::new(
        store.clone(),
        Arc::new(m.failure_counter(&store)),
        cordon_aws::system_clock(),
        cordon_aws::testing::fixture_home_account(),
    );
    let t0 = Utc::now() - Duration::minutes(5);
    let run = unique("spray");
    let mut opened = Vec::new();
    let mut escalated = 0;
    for n in 0..200i64 {
        let mut e = if n % 3 == 0 {
            fixture("signin-console-login-failure-wrong-username")
        } else {
            fixture("signin-console-login-failure-iam-user-no-mfa")
        };
        let at = (t0 + Duration::milliseconds(n * 500)).to_rfc3339();
        let d = &mut e["detail"];
        if n % 3 != 0 {
            d["userIdentity"]["userName"] = json!(format!("{run}-user{n}"));
        }
        d["sourceIPAddress"] = json!("198.51.100.77");
        d["eventTime"] = json!(at);
        d["eventID"] = json!(format!("{run}-{n}"));
        e["time"] = json!(at);
        let out = handle(
            Input::Open(OpenInput {
                event: e,
                execution_arn: Some(format!(
                    "arn:aws:states:us-east-1:123456789012:execution:cordon-incidents:{run}-{n}"
                )),
            }),
            &deps,
        )
        .await
        .unwrap_or_else(|err| panic!("failure {n}: {err}"));
        let Output::Open(out) = out else {
            panic!("an open output")
        };
        match out.outcome {
            Outcome::Opened => {
                let id = out.incident_id.clone().expect("id");
                let d = out.detection.expect("detection");
                if d.evidence.contains_key("escalationLevel") {
                    escalated += 1;
                } else {
                    opened.push(id.clone());
                }
                handle(
                    Input::Close(CloseInput {
                        incident_id: id,
                        status: IncidentStatus::Notified,
                        summary: None,
                        execution_arn: None,
                    }),
                    &deps,
                )
                .await
                .expect("close");
            }
            Outcome::Aggregated => {}
            other => panic!("failure {n}: {other:?}"),
        }
    }
    assert_eq!(opened.len(), 1, "one incident for the spray: {opened:?}");
    assert_eq!(escalated, 2, "at the threshold and at twice it");
    let timeline = store.timeline(&opened[0]).await.expect("timeline");
    let mut counts: Vec<u64> = timeline
        .iter()
        .filter(|e| e.step.starts_with("SignInFailure "))
        .filter_map(|e| e.details.as_ref().and_then(|d| d["count"].as_u64()))
        .collect();
    counts.sort_unstable();
    assert_eq!(counts.len(), 200);
    assert_eq!(counts.first(), Some(&1));
    assert_eq!(counts.last(), Some(&200));
    counts.dedup();
    assert_eq!(counts.len(), 200, "every failure counted once");
}
