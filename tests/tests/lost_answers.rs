//! A write whose answer is lost: DynamoDB applied it, the connection dropped before the
//! answer arrived, and the SDK sent it again, so the second try meets the first one's
//! effect (a conditional write then fails its condition). Every such write Cordon makes
//! must read that as done, not as someone else's work or a corrupt item. The fault proxy
//! loses exactly one answer per case, aimed at the n-th write of an operation.
//!
//! Found by the 1,000-incident burst: a release link's index move whose answer was lost
//! was read as "another run moved it", and the link it pointed at (this run's own, not yet
//! written) as a corrupt item, which failed the contained notification for good. An
//! incident's close whose answer was lost was read as "already closed", so the closing
//! timeline entry and the close's metrics were never written. A failed sign-in's count
//! whose answer was lost was added twice.
//!
//! This binary holds one test on purpose: the SDK reads `AWS_ENDPOINT_URL` from the
//! environment, so the test points it at the proxy before anything else runs. Needs moto;
//! fails, never skips, without it.
use cordon_aws::failures::FailureCounter;
use cordon_aws::incidents::IncidentStore;
use cordon_aws::links::{LinkKind, LinkStatus, LinkStore, LinkSummary, NewLink};
use cordon_aws::testing::unique;
use cordon_core::failures::FailureKey;
use cordon_core::model::IncidentStatus;
use cordon_faults::{Fault, FaultPlan, FaultProxy, Rule};

#[test]
fn a_write_whose_answer_was_lost_counts_as_done() {
    let moto_url = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .expect("this test needs moto: run it with `cargo xtask test` (AWS_ENDPOINT_URL is unset)");
    let port = cordon_loopback::free_port().expect("a free port for the proxy");
    // SAFETY: this is the binary's only test and no other thread exists yet (the runtime
    // is built below), so nothing reads the environment while it changes.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")) };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let proxy = FaultProxy::start(&moto_url, port)
                .await
                .expect("starting the fault proxy");
            release_links(&proxy).await;
            incident_close(&proxy).await;
            failure_counts(&proxy).await;
            proxy.shutdown().await;
        });
}

/// One lost answer of `operation`'s `after`-th call (from 0) to DynamoDB.
fn lose(operation: &str, after: u64) -> FaultPlan {
    FaultPlan::none().rule(
        Rule::service("dynamodb")
            .operation(operation)
            .fault(Fault::ResponseLost)
            .after(after)
            .times(1),
    )
}

/// Closing an incident (record, at the end of every path) whose conditional update's
/// answer is lost: the SDK's second try finds the incident closed, by this very write.
/// It must count as this call's close (the closing timeline entry and the metrics hang on
/// it), not as someone else's.
async fn incident_close(proxy: &FaultProxy) {
    let moto = cordon_aws::testing::moto().await;
    let store = moto.incident_store().await;
    let execution = "arn:aws:states:us-east-1:123456789012:execution:cordon:lost-close";
    let id = unique("inc-lost-close");
    let at = chrono::Utc::now();
    proxy.reset_stats();
    proxy.set_plan(lose("UpdateItem", 0));
    let outcome = store
        .close(&id, IncidentStatus::Contained, at, None, Some(execution))
        .await
        .expect("the close, its answer lost once");
    proxy.set_plan(FaultPlan::none());
    assert_eq!(
        proxy.stats().faulted(),
        1,
        "the close's answer was lost once"
    );
    assert!(outcome.changed, "the close is this call's: {outcome:?}");
    assert!(outcome.by_caller, "{outcome:?}");
    assert_eq!(outcome.status, IncidentStatus::Contained);

    // The same close sent again later (a retried step) is the caller's, but not a change.
    let again = store
        .close(
            &id,
            IncidentStatus::Contained,
            at + chrono::Duration::seconds(5),
            None,
            Some(execution),
        )
        .await
        .expect("the retried close");
    assert!(!again.changed && again.by_caller, "{again:?}");
    assert_eq!(
        again.closed_at.map(|t| t.timestamp_millis()),
        Some(at.timestamp_millis())
    );
    // Another execution's close is neither.
    let other = store
        .close(&id, IncidentStatus::Contained, at, None, Some("another"))
        .await
        .expect("another close");
    assert!(!other.changed && !other.by_caller, "{other:?}");
}

/// Counting failed sign-ins (record, for `signin.*` detections) whose writes' answers are
/// lost: an `ADD` sent again would count the failure twice, and bring an escalation one
/// failure early. Each failure must count once, whichever write lost its answer.
async fn failure_counts(proxy: &FaultProxy) {
    let moto = cordon_aws::testing::moto().await;
    let store = moto.incident_store().await;
    let counter = moto.failure_counter(&store);
    let key = FailureKey::Ip(format!("198.51.100.{}", varying_octet()));
    let at = chrono::Utc::now();
    let claim = unique("inc-lost-count");
    let count = |event: &'static str| {
        let (counter, key, claim) = (&counter, &key, &claim);
        async move {
            counter
                .count(key, at, 300, claim, event)
                .await
                .unwrap_or_else(|e| panic!("counting {event}: {e}"))
                .count
                .count
        }
    };
    // The counter's first write (a put) loses its answer, then an ADD does.
    for (event, operation, expected) in [("evt-1", "PutItem", 1), ("evt-2", "UpdateItem", 2)] {
        proxy.reset_stats();
        proxy.set_plan(lose(operation, 0));
        assert_eq!(
            count(event).await,
            expected,
            "{event}, its {operation}'s answer lost"
        );
        proxy.set_plan(FaultPlan::none());
        assert_eq!(proxy.stats().faulted(), 1, "{event}: one answer lost");
    }
    // Counted again (a retried step): no change.
    assert_eq!(count("evt-2").await, 2, "evt-2 counted again");
    assert_eq!(count("evt-3").await, 3);

    // The incident's own count: its first failure, then one whose ADD loses its answer.
    let incident = unique("inc-lost-count");
    store
        .close(&incident, IncidentStatus::Notified, at, None, None)
        .await
        .expect("an incident to count into");
    counter
        .first_of_incident(&incident)
        .await
        .expect("its first failure");
    proxy.reset_stats();
    proxy.set_plan(lose("UpdateItem", 0));
    let n = counter
        .add_to_incident(&incident, "evt-joins")
        .await
        .expect("the joining failure, its answer lost");
    proxy.set_plan(FaultPlan::none());
    assert_eq!(proxy.stats().faulted(), 1, "one answer lost");
    assert_eq!(n, 2, "the incident counts the joining failure once");
    let again = counter
        .add_to_incident(&incident, "evt-joins")
        .await
        .expect("counted again");
    assert_eq!(again, 2, "a retried step counts nothing");
}

/// A last octet that differs from run to run (moto keeps its state between test runs).
fn varying_octet() -> u8 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        % 250) as u8
        + 1
}

/// Creating a release link (notify, before the contained email) with the answer of each
/// of its writes lost in turn.
async fn release_links(proxy: &FaultProxy) {
    // The SDK's standard retries (3 attempts), as the functions have them.
    let moto = cordon_aws::testing::moto().await;
    let table = moto.incident_store().await.table_name().to_owned();
    let links = moto.aws.link_store(&table);
    let new_link = |incident: &str| {
        NewLink::release(
            incident,
            LinkSummary::default(),
            chrono::Utc::now(),
            chrono::Duration::days(7),
        )
    };

    // 1. The index claim's answer is lost (the first PutItem), then the link's (the second).
    for (what, after) in [("the index claim", 0), ("the link item", 1)] {
        let incident = unique("inc-lost");
        proxy.reset_stats();
        proxy.set_plan(lose("PutItem", after));
        let created = links
            .create(&new_link(&incident))
            .await
            .unwrap_or_else(|e| panic!("{what}'s answer lost: {e}"));
        proxy.set_plan(FaultPlan::none());
        assert_eq!(
            proxy.stats().faulted(),
            1,
            "{what}: the answer was lost once"
        );
        let id = created.id.expect("a fresh link");
        assert_eq!(created.record.status, LinkStatus::Pending);
        assert_fresh_link(&links, &incident, &id.hash(), what).await;
    }

    // 2. A run claimed the index and stopped before writing its link (every try of the
    //    link's put reset before reaching DynamoDB); the next run moves the index to its
    //    own link, and the move's answer is lost.
    let incident = unique("inc-lost");
    proxy.set_plan(
        FaultPlan::none().rule(
            Rule::service("dynamodb")
                .operation("PutItem")
                .fault(Fault::Reset)
                .after(1)
                .times(3),
        ),
    );
    links
        .create(&new_link(&incident))
        .await
        .expect_err("the first run stops after its claim");
    proxy.reset_stats();
    proxy.set_plan(lose("UpdateItem", 0));
    let created = links
        .create(&new_link(&incident))
        .await
        .unwrap_or_else(|e| panic!("the index move's answer lost: {e}"));
    proxy.set_plan(FaultPlan::none());
    assert_eq!(
        proxy.stats().faulted(),
        1,
        "the move's answer was lost once"
    );
    let id = created.id.expect("a fresh link, the stale claim replaced");
    assert_fresh_link(&links, &incident, &id.hash(), "the index move").await;
}

/// The incident's release link is the one just created, pending and unsent.
async fn assert_fresh_link(
    links: &cordon_aws::dynamo::links::DynamoLinkStore,
    incident: &str,
    hash: &cordon_aws::links::LinkHash,
    what: &str,
) {
    let found = links
        .find_for_incident(LinkKind::Release, incident)
        .await
        .unwrap_or_else(|e| panic!("{what}: reading the link back: {e}"))
        .unwrap_or_else(|| panic!("{what}: the incident has no release link"));
    assert_eq!(&found.hash, hash, "{what}: the index names the new link");
    assert_eq!(found.status, LinkStatus::Pending, "{what}");
    assert_eq!(found.message_id, None, "{what}: nothing sent yet");
}
