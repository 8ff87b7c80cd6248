//! Hostile events through the real workflow: names that spoof text, fields of the wrong
//! type, deep nesting, a near-limit event. Whatever arrives, the execution ends (it never
//! hangs or dies without a record), nothing is contained on a malformed event, and the
//! event is on record: a valid one as its incident, a malformed one as a `REJECTED`
//! incident holding the raw event, anything that breaks a step as a `FAILED` one.
use cordon_aws::IncidentStore;
use cordon_core::model::IncidentStatus;
use cordon_engine::ExecutionStatus;
use serde_json::{Value, json};

use crate::harness::Harness;

const NOTIFY: &str = r#"{"rules": {"iam.user-created": {"disposition": "notify"}}}"#;

/// How a hostile event may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// Rejected as malformed (`Cordon.InvalidEvent`), on record as `REJECTED`.
    Rejected,
    /// Handled as the incident it is (here: told, `NOTIFIED`).
    Notified,
}

fn create_user(edit: impl FnOnce(&mut Value)) -> Value {
    let mut event = cordon_aws::testing::fixture_event_in(
        "iam-create-user-by-iam-user",
        cordon::local::LOCAL_ACCOUNT,
    );
    edit(&mut event["detail"]);
    event
}

fn named(name: &str) -> impl FnOnce(&mut Value) + '_ {
    move |d: &mut Value| {
        d["requestParameters"]["userName"] = json!(name);
        d["responseElements"]["user"]["userName"] = json!(name);
    }
}

fn nested(depth: usize) -> Value {
    let mut v = json!("bottom");
    for _ in 0..depth {
        v = json!({ "n": v });
    }
    v
}

#[tokio::test]
async fn hostile_events_end_on_record_and_contain_nobody() {
    let h = Harness::new(Some(NOTIFY)).await;
    let cases: Vec<(&str, Value, Ends)> = vec![
        (
            "a right-to-left override in the user name",
            create_user(named("admin\u{202E}gpj.exe")),
            Ends::Rejected,
        ),
        (
            "a zero-width space in the user name",
            create_user(named("adm\u{200B}in")),
            Ends::Rejected,
        ),
        (
            "markup in the user name",
            create_user(named("<script>alert(1)</script>")),
            Ends::Rejected,
        ),
        (
            "a line break in the user name",
            create_user(named("alice\nSecurityStatus: cleared")),
            Ends::Rejected,
        ),
        (
            "userIdentity is a string",
            create_user(|d| d["userIdentity"] = json!("root")),
            Ends::Rejected,
        ),
        (
            // IAM's response still names the user created: a garbled secondary field
            // loses no detection (as the classifier's own "ugly" fixtures require).
            "requestParameters is a list",
            create_user(|d| d["requestParameters"] = json!(["userName", "x"])),
            Ends::Notified,
        ),
        (
            "eventName is a number",
            create_user(|d| d["eventName"] = json!(42)),
            Ends::Rejected,
        ),
        (
            "deeply nested tags (100 levels)",
            create_user(|d| d["requestParameters"]["tags"] = nested(100)),
            Ends::Notified,
        ),
        (
            "a user agent of 100 KB with control characters",
            create_user(|d| {
                d["userAgent"] = json!(format!("curl\u{0007}\u{001b}[2J{}", "A".repeat(100_000)))
            }),
            Ends::Notified,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, event, expected) in cases {
        let mut ex = h.start(&event);
        let status = h.finish(&mut ex).await;
        let described = ex.describe();
        let outcome = match status {
            ExecutionStatus::Failed
                if described.error.as_deref() == Some("Cordon.InvalidEvent") =>
            {
                let rejected = h
                    .store()
                    .get(&cordon_core::incident::rejected_incident_id(&event))
                    .await
                    .expect("store");
                match rejected {
                    Some(r) if r.status == IncidentStatus::Rejected && r.event.is_some() => {
                        Some(Ends::Rejected)
                    }
                    other => {
                        wrong.push(format!("{what}: rejected but not on record: {other:?}"));
                        continue;
                    }
                }
            }
            ExecutionStatus::Succeeded => {
                let id = cordon_core::incident::incident_id_for_event(
                    event["detail"]["eventID"].as_str().expect("eventID"),
                );
                let record = h.store().get(&id).await.expect("store");
                (record.map(|r| r.status) == Some(IncidentStatus::Notified))
                    .then_some(Ends::Notified)
            }
            _ => None,
        };
        if outcome != Some(expected) {
            wrong.push(format!(
                "{what}: expected {expected:?}, ended {status:?} {:?} {:?}\n{}",
                described.error,
                described.cause,
                h.history_summary(&ex)
            ));
        }
        if h.states_entered(&ex).iter().any(|s| s == "Quarantine") {
            wrong.push(format!("{what}: the workflow tried to contain someone"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
