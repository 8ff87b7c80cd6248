//! Failed sign-ins counted per user and per IP (with the in-memory fakes): one incident per
//! window, later failures appended with the count, escalation at the threshold and at
//! twice it, duplicates counted once, and a success after a burst of failures.
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::failures::{Counted, CountedEvent, Escalation, FailureCounter, Marker};
use cordon_aws::fakes::{FakeFailureCounter, FakeIncidentStore};
use cordon_aws::incidents::IncidentStore;
use cordon_aws::testing::fixture;
use cordon_core::TaskError;
use cordon_core::classify::rules;
use cordon_core::failures::{FailureKey, KeyCount};
use cordon_core::model::IncidentStatus;
use cordon_record::{CloseInput, Deps, Input, OpenInput, OpenOutput, Outcome, Output, handle};
use serde_json::{Value, json};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 0, 0)
        .single()
        .expect("valid time")
}

fn deps() -> (Arc<FakeIncidentStore>, Deps) {
    let store = Arc::new(FakeIncidentStore::new());
    let deps = Deps::new(
        store.clone(),
        Arc::new(FakeFailureCounter::new(store.clone())),
        Arc::new(t0),
        cordon_aws::testing::fixture_home_account(),
    );
    (store, deps)
}

static N: AtomicI64 = AtomicI64::new(0);

/// A failed sign-in `n` seconds after t0, for `user` (`None`: a name that does not exist)
/// from `ip`, with a fresh event id.
fn failure(user: Option<&str>, ip: &str, n: i64) -> Value {
    let mut e = match user {
        Some(_) => fixture("signin-console-login-failure-iam-user-no-mfa"),
        None => fixture("signin-console-login-failure-wrong-username"),
    };
    let at = (t0() + Duration::seconds(n)).to_rfc3339();
    let d = &mut e["detail"];
    if let Some(u) = user {
        d["userIdentity"]["userName"] = json!(u);
    }
    d["sourceIPAddress"] = json!(ip);
    d["eventTime"] = json!(at);
    d["eventID"] = json!(format!("fail-{}", N.fetch_add(1, Ordering::SeqCst)));
    e["time"] = json!(at);
    e
}

async fn open(deps: &Deps, event: &Value, execution: &str) -> Result<OpenOutput, TaskError> {
    match handle(
        Input::Open(OpenInput {
            event: event.clone(),
            execution_arn: Some(execution.to_string()),
        }),
        deps,
    )
    .await?
    {
        Output::Open(o) => Ok(o),
        other => panic!("expected an open output, got {other:?}"),
    }
}

/// The workflow closing an incident, as after its notification.
async fn close(deps: &Deps, id: &str) {
    handle(
        Input::Close(CloseInput {
            incident_id: id.to_string(),
            status: IncidentStatus::Notified,
            summary: None,
            execution_arn: None,
        }),
        deps,
    )
    .await
    .expect("closed");
}

/// `SignInFailure <n>` entries of the incident, in order of `n`.
async fn failure_counts(store: &FakeIncidentStore, id: &str) -> Vec<u64> {
    let mut counts: Vec<u64> = store
        .timeline(id)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| e.step.starts_with("SignInFailure "))
        .filter_map(|e| e.details.and_then(|d| d["count"].as_u64()))
        .collect();
    counts.sort_unstable();
    counts
}

#[tokio::test]
async fn a_spray_from_one_ip_is_one_incident_escalated_at_the_threshold() {
    let (store, deps) = deps();
    let mut opened = Vec::new();
    let mut escalations = Vec::new();
    for n in 0..200 {
        // Masked names and real ones alike: the IP ties them together.
        let user = if n % 3 == 0 {
            None
        } else {
            Some(format!("user{n}"))
        };
        let event = failure(user.as_deref(), "203.0.113.66", n);
        let out = open(&deps, &event, &format!("x-{n}")).await.expect("open");
        match out.outcome {
            Outcome::Opened => {
                let id = out.incident_id.clone().expect("id");
                let d = out.detection.expect("detection");
                if d.evidence.contains_key("escalationLevel") {
                    escalations.push((n, d));
                } else {
                    opened.push(id.clone());
                }
                // The workflow notifies and closes it.
                close(&deps, &id).await;
            }
            Outcome::Aggregated => {}
            other => panic!("failure {n}: {other:?}"),
        }
    }
    assert_eq!(opened.len(), 1, "one incident for the spray: {opened:?}");
    let id = &opened[0];
    assert_eq!(store.incidents().len(), 1);
    // The 5th failure from the IP escalates (threshold 5), the 10th again (twice it).
    let at: Vec<i64> = escalations.iter().map(|(n, _)| *n).collect();
    assert_eq!(at, [4, 9]);
    for (_, d) in &escalations {
        assert_eq!(&d.incident_id, id);
        // Crossing by IP names nobody to contain.
        assert!(d.principal.is_none(), "{d:?}");
        assert_eq!(d.evidence["failureThresholdReached"], json!(true));
    }
    let counts = failure_counts(&store, id).await;
    assert_eq!(counts.len(), 200);
    assert_eq!(counts.last(), Some(&200));
}

#[tokio::test]
async fn a_brute_force_on_one_user_from_many_ips_escalates_by_user() {
    let (store, deps) = deps();
    let mut escalated = None;
    let mut first = None;
    for n in 0..5 {
        let event = failure(Some("jdoe"), &format!("198.51.100.{}", n + 1), n);
        let out = open(&deps, &event, &format!("bf-{n}")).await.expect("open");
        if n == 0 {
            first = out.incident_id.clone();
        }
        if out.outcome == Outcome::Opened {
            let id = out.incident_id.clone().expect("id");
            if n == 4 {
                escalated = out.detection.clone();
            }
            close(&deps, &id).await;
        }
    }
    let d = escalated.expect("the 5th failure escalates");
    assert_eq!(d.incident_id, first.clone().expect("first"));
    assert_eq!(
        d.principal.and_then(|p| p.name).as_deref(),
        Some("jdoe"),
        "crossing by user names the user"
    );
    assert_eq!(store.incidents().len(), 1);
}

#[tokio::test]
async fn an_escalation_waits_for_the_first_execution() {
    let (_store, deps) = deps();
    let first = open(&deps, &failure(None, "192.0.2.9", 0), "w-0")
        .await
        .expect("open");
    for n in 1..4 {
        open(&deps, &failure(None, "192.0.2.9", n), &format!("w-{n}"))
            .await
            .expect("aggregated");
    }
    // The first execution has not closed its incident yet: the 5th waits (retried).
    let fifth = failure(None, "192.0.2.9", 4);
    let err = open(&deps, &fifth, "w-4").await.expect_err("waits");
    assert!(matches!(err, TaskError::Transient { .. }), "{err:?}");
    close(&deps, first.incident_id.as_deref().expect("id")).await;
    // The retry of the same execution carries on, without counting the failure again.
    let retried = open(&deps, &fifth, "w-4").await.expect("escalates");
    assert_eq!(retried.outcome, Outcome::Opened);
    assert_eq!(
        retried.detection.expect("detection").evidence["failureCount"],
        json!(5)
    );
}

#[tokio::test]
async fn a_duplicate_delivery_is_counted_once() {
    let (store, deps) = deps();
    let first = failure(None, "192.0.2.44", 0);
    let out = open(&deps, &first, "d-0").await.expect("open");
    let id = out.incident_id.expect("id");
    let second = failure(None, "192.0.2.44", 1);
    assert_eq!(
        open(&deps, &second, "d-1").await.expect("ok").outcome,
        Outcome::Aggregated
    );
    // The same event again, from another execution: a duplicate, not a third failure.
    assert_eq!(
        open(&deps, &second, "d-2").await.expect("ok").outcome,
        Outcome::Duplicate
    );
    assert_eq!(failure_counts(&store, &id).await, [1, 2]);
}

#[tokio::test]
async fn a_new_window_opens_a_new_incident() {
    let (store, deps) = deps();
    open(&deps, &failure(None, "192.0.2.77", 0), "n-0")
        .await
        .expect("open");
    // The default window is 900 seconds.
    let later = open(&deps, &failure(None, "192.0.2.77", 901), "n-1")
        .await
        .expect("open");
    assert_eq!(later.outcome, Outcome::Opened);
    assert_eq!(store.incidents().len(), 2);
}

#[tokio::test]
async fn a_success_after_a_burst_of_failures_is_its_own_rule() {
    let (_store, deps) = deps();
    for n in 0..5 {
        let out = open(&deps, &failure(None, "203.0.113.66", n), &format!("s-{n}"))
            .await
            .expect("open");
        if out.outcome == Outcome::Opened {
            close(&deps, out.incident_id.as_deref().expect("id")).await;
        }
    }
    // The fixture's success without MFA comes from the same IP.
    let mut success = fixture("signin-console-login-success-no-mfa");
    success["detail"]["eventTime"] = json!((t0() + Duration::seconds(30)).to_rfc3339());
    let out = open(&deps, &success, "s-ok").await.expect("open");
    let d = out.detection.expect("detection");
    assert_eq!(d.rule, rules::CONSOLE_LOGIN_AFTER_FAILURES);
    assert_eq!(d.evidence["failureCount"], json!(5));
    // From elsewhere, it is only a sign-in without MFA.
    let (_store, quiet) = self::deps();
    let out = open(&quiet, &success, "s-quiet").await.expect("open");
    assert_eq!(
        out.detection.expect("detection").rule,
        rules::CONSOLE_LOGIN_NO_MFA
    );
}

#[tokio::test]
async fn a_success_with_mfa_is_an_incident_only_after_a_burst_of_failures() {
    let mut success = fixture("signin-console-login-success-mfa");
    success["detail"]["sourceIPAddress"] = json!("203.0.113.66");
    success["detail"]["eventTime"] = json!((t0() + Duration::seconds(30)).to_rfc3339());

    // Nothing failed before: a sign-in with MFA is not an incident.
    let (store, quiet) = deps();
    let out = open(&quiet, &success, "mfa-quiet").await.expect("open");
    assert_eq!(out.outcome, Outcome::NotAnIncident);
    let reason = out.reason.expect("reason");
    assert!(reason.contains("with MFA"), "{reason}");
    assert!(reason.contains("fewer than"), "{reason}");
    assert!(out.detection.is_none());
    assert!(
        store.incidents().is_empty(),
        "nothing recorded for a plain sign-in"
    );

    // The same sign-in after five failures from its IP.
    let (_store, deps) = deps();
    for n in 0..5 {
        let out = open(&deps, &failure(None, "203.0.113.66", n), &format!("m-{n}"))
            .await
            .expect("open");
        if out.outcome == Outcome::Opened {
            close(&deps, out.incident_id.as_deref().expect("id")).await;
        }
    }
    let out = open(&deps, &success, "mfa-after").await.expect("open");
    assert_eq!(out.outcome, Outcome::Opened);
    let d = out.detection.expect("detection");
    assert_eq!(d.rule, rules::CONSOLE_LOGIN_AFTER_FAILURES);
    assert_eq!(d.evidence["failureCount"], json!(5));
    assert_eq!(d.evidence["mfaUsed"], json!(true));
    assert!(
        d.title.contains("with MFA after 5 failed sign-ins"),
        "{}",
        d.title
    );
}

/// The fake counter, yielding to the other tasks before every call: concurrent `open`s
/// then interleave at each DynamoDB call, as executions started by one PutEvents batch do.
struct Yielding(FakeFailureCounter);

#[async_trait::async_trait]
impl FailureCounter for Yielding {
    async fn count(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
        claim: &str,
        event_id: &str,
    ) -> Result<Counted, TaskError> {
        tokio::task::yield_now().await;
        FailureCounter::count(&self.0, key, at, window_seconds, claim, event_id).await
    }
    async fn link(
        &self,
        key: &FailureKey,
        window_start: DateTime<Utc>,
        incident_id: &str,
        replacing: &str,
        window_seconds: u64,
    ) -> Result<String, TaskError> {
        tokio::task::yield_now().await;
        self.0
            .link(key, window_start, incident_id, replacing, window_seconds)
            .await
    }
    async fn current(
        &self,
        key: &FailureKey,
        at: DateTime<Utc>,
        window_seconds: u64,
    ) -> Result<Option<KeyCount>, TaskError> {
        tokio::task::yield_now().await;
        self.0.current(key, at, window_seconds).await
    }
    async fn mark(
        &self,
        event_id: &str,
        execution_arn: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Marker>, TaskError> {
        tokio::task::yield_now().await;
        self.0.mark(event_id, execution_arn, at).await
    }
    async fn settle(&self, event_id: &str, counted: &CountedEvent) -> Result<(), TaskError> {
        tokio::task::yield_now().await;
        self.0.settle(event_id, counted).await
    }
    async fn first_of_incident(&self, incident_id: &str) -> Result<(), TaskError> {
        tokio::task::yield_now().await;
        self.0.first_of_incident(incident_id).await
    }
    async fn add_to_incident(&self, incident_id: &str, event_id: &str) -> Result<u64, TaskError> {
        tokio::task::yield_now().await;
        self.0.add_to_incident(incident_id, event_id).await
    }
    async fn escalate(
        &self,
        incident_id: &str,
        level: u8,
        at: DateTime<Utc>,
        execution_arn: Option<&str>,
    ) -> Result<Escalation, TaskError> {
        tokio::task::yield_now().await;
        self.0.escalate(incident_id, level, at, execution_arn).await
    }
}

/// `open`, retried while it answers `Cordon.Transient` (as the workflow's Retry does);
/// also the number of transient answers.
async fn open_retrying(deps: &Deps, event: &Value, execution: &str) -> (OpenOutput, u32) {
    let mut transient = 0;
    for _ in 0..100 {
        match open(deps, event, execution).await {
            Err(e) if e.is_transient() => {
                transient += 1;
                tokio::task::yield_now().await;
            }
            other => return (other.expect("open"), transient),
        }
    }
    panic!("{execution} was still transient after 100 attempts");
}

#[tokio::test]
async fn failures_counted_at_once_open_one_incident() {
    let store = Arc::new(FakeIncidentStore::new());
    let deps = Deps::new(
        store.clone(),
        Arc::new(Yielding(FakeFailureCounter::new(store.clone()))),
        Arc::new(t0),
        cordon_aws::testing::fixture_home_account(),
    );
    // Four (below the threshold of five, so no escalation waits for the first execution
    // to finish) for one user from one IP, started together.
    let e: Vec<Value> = (0..4)
        .map(|n| failure(Some("alice"), "198.51.100.7", n))
        .collect();
    let outs = tokio::join!(
        open_retrying(&deps, &e[0], "at-once-0"),
        open_retrying(&deps, &e[1], "at-once-1"),
        open_retrying(&deps, &e[2], "at-once-2"),
        open_retrying(&deps, &e[3], "at-once-3"),
    );
    let outs = [outs.0, outs.1, outs.2, outs.3];
    // They interleave at every counter call (a failure counts while another is opening),
    // as executions started by one PutEvents batch do.
    let opened: Vec<_> = outs
        .iter()
        .filter(|(o, _)| o.outcome == Outcome::Opened)
        .collect();
    assert_eq!(opened.len(), 1, "{outs:#?}");
    let id = opened[0].0.incident_id.clone().expect("id");
    assert!(
        outs.iter()
            .all(|(o, _)| o.incident_id.as_deref() == Some(id.as_str())),
        "every failure belongs to the one incident: {outs:#?}"
    );
    assert_eq!(store.incidents().len(), 1);
    assert_eq!(failure_counts(&store, &id).await, [1, 2, 3, 4]);
}
