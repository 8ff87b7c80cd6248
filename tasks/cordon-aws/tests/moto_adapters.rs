//! Adapter tests against the moto server over the real wire protocols.
//! They need `AWS_ENDPOINT_URL` (see `cordon_aws::testing`) and fail loudly without it.
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::IdentityStore;
use cordon_aws::incidents::{IncidentStore, NewIncident, OpenOutcome, TimelineEntry};
use cordon_aws::testing::{fixture_detection, moto, unique};
use cordon_core::TaskError;
use cordon_core::model::{
    Actor, Assessment, Disposition, IncidentStatus, KeyStatus, Principal, PrincipalKind, Severity,
    Snapshot,
};
use cordon_core::release::{ReleaseRecord, ReleaseVia, ReleasedBy, Restored};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 5, 2)
        .single()
        .expect("valid time")
}

fn new_incident(id: &str, principal_arn: &str) -> NewIncident {
    NewIncident {
        incident_id: id.to_string(),
        status: IncidentStatus::Open,
        opened_at: t0(),
        rule: Some("iam.user-created".into()),
        title: Some("IAM user support-admin created by jdoe".into()),
        principal: Some(Principal {
            kind: PrincipalKind::IamUser,
            name: Some("support-admin".into()),
            arn: Some(principal_arn.to_string()),
            account_id: Some("111122223333".into()),
            principal_id: None,
        }),
        actor: Some(Actor {
            kind: PrincipalKind::IamUser,
            arn: Some("arn:aws:iam::111122223333:user/jdoe".into()),
            name: Some("jdoe".into()),
            principal_id: None,
            account_id: Some("111122223333".into()),
            access_key_id: None,
            session_issuer_arn: None,
            mfa_authenticated: Some(false),
        }),
        event: json!({"id": "e1", "detail": {"eventID": id, "note": "ünïcode ok"}}),
        detection: Some({
            let mut d = fixture_detection("iam-create-user-by-iam-user");
            d.incident_id = id.to_string();
            d
        }),
        error: None,
        execution_arn: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:cordon:{id}"
        )),
    }
}

fn assessment(severity: Severity, disposition: Disposition) -> Assessment {
    Assessment {
        severity,
        disposition,
        reasons: vec![format!("rule default: {}", severity.as_str())],
        actor_allowlisted: false,
        containable: true,
        protected_reason: None,
    }
}

fn snapshot(active_keys: &[&str]) -> Snapshot {
    Snapshot {
        user_name: "y".into(),
        user_arn: "arn:aws:iam::111122223333:user/y".into(),
        user_id: None,
        taken_at: t0(),
        attached_policy_arns: vec![],
        active_access_key_ids: active_keys.iter().map(|k| k.to_string()).collect(),
        inactive_access_key_ids: vec![],
        login_profile: false,
        mfa_devices: vec![],
        groups: vec![],
        inline_policies: vec![],
        cordon_tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn open_is_conditional_and_the_item_round_trips() {
    let m = moto().await;
    let store = m.incident_store().await;
    let id = unique("ct");
    let arn = format!("arn:aws:iam::111122223333:user/{}", unique("u"));
    let inc = new_incident(&id, &arn);

    assert_eq!(store.open(&inc).await, Ok(OpenOutcome::Opened));
    assert_eq!(store.open(&inc).await, Ok(OpenOutcome::Duplicate));

    let rec = store.get(&id).await.expect("get").expect("item exists");
    assert_eq!(rec.incident_id, id);
    assert_eq!(rec.status, IncidentStatus::Open);
    assert_eq!(rec.opened_at, Some(t0()));
    assert_eq!(rec.rule.as_deref(), Some("iam.user-created"));
    assert_eq!(rec.event, Some(inc.event.clone()));
    assert_eq!(rec.principal, inc.principal);
    assert_eq!(rec.actor, inc.actor);
    assert_eq!(rec.execution_arn, inc.execution_arn);
    assert_eq!(rec.detection, inc.detection);
    assert!(rec.closed_at.is_none());

    // The GSIs find it by status and by principal.
    let by_principal = store.list_by_principal(&arn, 10).await.expect("query gsi2");
    assert_eq!(by_principal.len(), 1);
    assert_eq!(by_principal[0].incident_id, id);
    let by_status = store
        .list_by_status(IncidentStatus::Open, 100)
        .await
        .expect("query gsi1");
    assert!(by_status.iter().any(|r| r.incident_id == id));

    assert_eq!(store.get("ct-does-not-exist").await, Ok(None));
}

#[tokio::test]
async fn timeline_entries_are_append_only_and_ordered() {
    let m = moto().await;
    let store = m.incident_store().await;
    let id = unique("ct");
    let e1 = TimelineEntry {
        at: t0(),
        step: "OpenIncident".into(),
        message: "opened".into(),
        details: None,
    };
    let e2 = TimelineEntry {
        at: t0() + Duration::milliseconds(1500),
        step: "Quarantine".into(),
        message: "attached".into(),
        details: Some(json!({"policyArn": "arn:aws:iam::123456789012:policy/x"})),
    };
    assert_eq!(store.append(&id, &e2).await, Ok(true));
    assert_eq!(store.append(&id, &e1).await, Ok(true));
    // Re-delivery of the same entry is a no-op.
    let mut again = e1.clone();
    again.message = "a second copy".into();
    assert_eq!(store.append(&id, &again).await, Ok(false));

    let tl = store.timeline(&id).await.expect("timeline");
    assert_eq!(tl, vec![e1, e2]);
}

#[tokio::test]
async fn assessment_status_and_close_are_conditional() {
    let m = moto().await;
    let store = m.incident_store().await;
    let id = unique("ct");
    store
        .open(&new_incident(&id, "arn:aws:iam::111122223333:user/x"))
        .await
        .expect("open");

    let first = store
        .save_assessment(
            &id,
            &assessment(Severity::Critical, Disposition::Auto),
            t0(),
        )
        .await
        .expect("save assessment");
    assert!(first, "the incident's first assessment");
    let again = store
        .save_assessment(
            &id,
            &assessment(Severity::Critical, Disposition::Auto),
            t0(),
        )
        .await
        .expect("save assessment again (a retried enrich)");
    assert!(!again, "a retried enrich's assessment is not the first");
    let missing = store
        .save_assessment(
            "ct-missing",
            &assessment(Severity::Low, Disposition::Notify),
            t0(),
        )
        .await;
    assert!(
        matches!(missing, Err(TaskError::InvalidEvent { .. })),
        "{missing:?}"
    );

    assert_eq!(
        store
            .set_status(&id, IncidentStatus::AwaitingApproval, t0())
            .await,
        Ok(true)
    );
    let closed = store
        .close(
            &id,
            IncidentStatus::Contained,
            t0(),
            Some("quarantined"),
            None,
        )
        .await
        .expect("close");
    assert!(closed.changed);
    // Closing again (redrive) keeps the first final status.
    let again = store
        .close(&id, IncidentStatus::Failed, t0(), None, None)
        .await
        .expect("close again");
    assert!(!again.changed);
    assert_eq!(again.status, IncidentStatus::Contained);
    // A closed incident does not move.
    assert_eq!(
        store.set_status(&id, IncidentStatus::Open, t0()).await,
        Ok(false)
    );

    let rec = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(rec.status, IncidentStatus::Contained);
    assert_eq!(rec.severity, Some(Severity::Critical));
    assert_eq!(rec.disposition, Some(Disposition::Auto));
    assert_eq!(rec.summary.as_deref(), Some("quarantined"));
    assert_eq!(rec.closed_at, Some(t0()));

    // Closing an incident that was never opened records it rather than losing it.
    let ghost = unique("ct");
    let c = store
        .close(
            &ghost,
            IncidentStatus::Failed,
            t0(),
            Some("open failed"),
            None,
        )
        .await
        .expect("close ghost");
    assert!(c.changed);
    let rec = store.get(&ghost).await.expect("get").expect("exists");
    assert_eq!(rec.status, IncidentStatus::Failed);
}

#[tokio::test]
async fn first_snapshot_wins_and_notifications_are_marked_once() {
    let m = moto().await;
    let store = m.incident_store().await;
    let id = unique("ct");
    store
        .open(&new_incident(&id, "arn:aws:iam::111122223333:user/y"))
        .await
        .expect("open");

    let first = snapshot(&["AKIAFIRST"]);
    let second = snapshot(&[]);
    let s1 = store
        .save_snapshot(&id, &first, t0())
        .await
        .expect("snap 1");
    assert!(s1.saved);
    let s2 = store
        .save_snapshot(&id, &second, t0() + Duration::seconds(30))
        .await
        .expect("snap 2");
    assert!(!s2.saved);
    assert_eq!(s2.snapshot, first);
    assert_eq!(s2.taken_at, Some(t0()));
    let missing = store.save_snapshot("ct-nope", &first, t0()).await;
    assert!(
        matches!(missing, Err(TaskError::InvalidEvent { .. })),
        "{missing:?}"
    );

    assert_eq!(store.notification(&id, "contained").await, Ok(None));
    assert_eq!(
        store
            .mark_notified(&id, "contained", Some("m-1"), t0())
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .mark_notified(&id, "contained", Some("m-2"), t0())
            .await,
        Ok(false)
    );
    let mark = store
        .notification(&id, "contained")
        .await
        .expect("read mark")
        .expect("marked");
    assert_eq!(mark.message_id.as_deref(), Some("m-1"));
    // Other kinds are independent.
    assert_eq!(
        store.mark_notified(&id, "failure", None, t0()).await,
        Ok(true)
    );
}

#[tokio::test]
async fn typed_records_keep_their_item_shape_and_a_corrupt_one_is_an_error() {
    let m = moto().await;
    let store = m.incident_store().await;
    let id = unique("ct");
    store
        .open(&new_incident(&id, "arn:aws:iam::111122223333:user/z"))
        .await
        .expect("open");
    let a = assessment(Severity::High, Disposition::Approve);
    store
        .save_assessment(&id, &a, t0())
        .await
        .expect("assessment");
    let snap = snapshot(&["AKIAZ"]);
    store
        .save_snapshot(&id, &snap, t0())
        .await
        .expect("snapshot");
    let release = ReleaseRecord {
        released_at: t0() + Duration::minutes(5),
        released_by: ReleasedBy {
            name: Some("alice".into()),
            via: ReleaseVia::Cli,
            ..ReleasedBy::default()
        },
        reason: Some("false positive".into()),
        user_deleted: false,
        restored: Restored::default(),
        manual_actions: vec![],
        drift: vec!["a drift".into()],
    };
    assert_eq!(store.mark_released(&id, &release).await, Ok(true));
    assert_eq!(store.mark_released(&id, &release).await, Ok(false));

    let rec = store.get(&id).await.expect("get").expect("exists");
    assert_eq!(rec.assessment.as_ref(), Some(&a));
    assert_eq!(rec.snapshot.as_ref(), Some(&snap));
    assert_eq!(rec.release.as_ref(), Some(&release));
    assert_eq!(rec.status, IncidentStatus::Released);
    assert_eq!(rec.closed_at, Some(release.released_at));

    // The item holds the records as JSON strings under their attribute names.
    let key = |pk: String| {
        std::collections::HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk)),
            ("sk".to_string(), AttributeValue::S("META".into())),
        ])
    };
    let raw = m
        .dynamodb()
        .get_item()
        .table_name(store.table_name())
        .set_key(Some(key(format!("INCIDENT#{id}"))))
        .send()
        .await
        .expect("get item")
        .item
        .expect("item");
    let json_of = |name: &str| -> serde_json::Value {
        serde_json::from_str(raw[name].as_s().expect("a string")).expect("JSON")
    };
    assert_eq!(
        json_of("snapshot"),
        serde_json::to_value(&snap).expect("json")
    );
    assert_eq!(
        json_of("assessment"),
        serde_json::to_value(&a).expect("json")
    );
    assert_eq!(
        json_of("release"),
        serde_json::to_value(&release).expect("json")
    );
    assert_eq!(raw["severity"].as_s().expect("severity"), "high");
    assert_eq!(raw["disposition"].as_s().expect("disposition"), "approve");

    // A snapshot that does not read back is reported, never read as "no snapshot".
    m.dynamodb()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(key(format!("INCIDENT#{id}"))))
        .update_expression("SET #snap = :bad")
        .expression_attribute_names("#snap", "snapshot")
        .expression_attribute_values(":bad", AttributeValue::S(r#"{"not":"a snapshot"}"#.into()))
        .send()
        .await
        .expect("corrupt the snapshot");
    let e = store.get(&id).await.expect_err("corrupt");
    assert!(e.to_string().contains("not a quarantine snapshot"), "{e}");
    let e = store
        .save_snapshot(&id, &snap, t0())
        .await
        .expect_err("corrupt");
    assert!(e.to_string().contains("not a quarantine snapshot"), "{e}");
}

#[tokio::test]
async fn identity_store_reads_everything_and_changes_idempotently() {
    let m = moto().await;
    let iam = m.iam();
    let ids = m.identity_store();
    let user = unique("cordon-user");
    let group = unique("cordon-group");
    m.create_user(&user).await;
    m.add_to_new_group(&user, &group).await;
    let key_id = m.create_access_key(&user).await;
    m.create_login_profile(&user, "Correct-Horse-9!").await;
    iam.put_user_policy()
        .user_name(&user)
        .policy_name("inline-one")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .expect("inline policy");
    m.tag_user(&user, "team", "platform").await;

    let facts = ids
        .get_user_facts(&user)
        .await
        .expect("facts")
        .expect("user exists");
    assert_eq!(facts.user_name, user);
    assert!(
        facts.arn.ends_with(&format!(":user/{user}")),
        "{}",
        facts.arn
    );
    assert_eq!(facts.groups, vec![group.clone()]);
    assert_eq!(facts.access_keys.len(), 1);
    assert_eq!(facts.access_keys[0].id, key_id);
    assert_eq!(facts.access_keys[0].status, KeyStatus::Active);
    assert!(facts.login_profile);
    assert_eq!(facts.inline_policies, vec!["inline-one".to_string()]);
    assert_eq!(facts.tags.get("team").map(String::as_str), Some("platform"));
    assert!(facts.created.is_some());

    assert_eq!(ids.get_user_facts(&unique("nobody")).await, Ok(None));

    // create-or-get
    let policy_name = unique("CordonTestDeny");
    let doc =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let arn1 = ids
        .ensure_managed_policy(&policy_name, doc)
        .await
        .expect("create");
    let arn2 = ids
        .ensure_managed_policy(&policy_name, doc)
        .await
        .expect("get");
    assert_eq!(arn1, arn2);

    ids.attach_user_policy(&user, &arn1).await.expect("attach");
    ids.attach_user_policy(&user, &arn1)
        .await
        .expect("attach again");
    assert_eq!(ids.is_policy_attached(&user, &arn1).await, Ok(true));
    let attached = iam
        .list_attached_user_policies()
        .user_name(&user)
        .send()
        .await
        .expect("list");
    assert_eq!(attached.attached_policies().len(), 1);

    ids.set_access_key_status(&user, &key_id, KeyStatus::Inactive)
        .await
        .expect("deactivate");
    assert_eq!(ids.delete_login_profile(&user).await, Ok(true));
    assert_eq!(ids.delete_login_profile(&user).await, Ok(false));
    let tags = BTreeMap::from([("SecurityStatus".to_string(), "Quarantined".to_string())]);
    ids.tag_user(&user, &tags).await.expect("tag");
    let facts = ids
        .get_user_facts(&user)
        .await
        .expect("facts")
        .expect("exists");
    assert_eq!(facts.access_keys[0].status, KeyStatus::Inactive);
    assert!(!facts.login_profile);
    assert_eq!(
        facts.tags.get("SecurityStatus").map(String::as_str),
        Some("Quarantined")
    );
    ids.untag_user(&user, &["SecurityStatus".to_string()])
        .await
        .expect("untag");

    assert_eq!(ids.detach_user_policy(&user, &arn1).await, Ok(true));
    assert_eq!(ids.is_policy_attached(&user, &arn1).await, Ok(false));

    // A missing user is PrincipalNotFound where acting on it is the point.
    let ghost = unique("ghost");
    assert_eq!(
        ids.attach_user_policy(&ghost, &arn1).await,
        Err(TaskError::PrincipalNotFound(ghost.clone()))
    );
}

#[tokio::test]
async fn sns_publish_returns_a_message_id() {
    let m = moto().await;
    let topic = m.create_topic().await;
    let attrs = BTreeMap::from([
        ("severity".to_string(), "critical".to_string()),
        ("empty".to_string(), String::new()),
    ]);
    let id = cordon_aws::Notifier::publish(&m.notifier(), &topic, "subject", "body", &attrs)
        .await
        .expect("publish");
    assert!(!id.is_empty());
    // A topic that does not exist is a non-retryable AWS error with its code.
    let missing = topic.replace("cordon-alerts", "no-such-topic");
    let e = cordon_aws::Notifier::publish(&m.notifier(), &missing, "s", "b", &BTreeMap::new())
        .await
        .expect_err("no topic");
    assert!(matches!(e, TaskError::Aws { .. }), "{e:?}");
}

/// Sessions and nonces are created once, under the hash of their secret, with a TTL; a
/// replayed nonce is refused (the approval function has no PutItem: both are conditional
/// updates).
#[tokio::test]
async fn signin_sessions_and_nonces_are_written_once() {
    use cordon_aws::SignInStore;
    use cordon_aws::signin::SignInSession;
    use cordon_core::model::VerifiedIdentity;

    let m = moto().await;
    let incidents = m.incident_store().await;
    let table = incidents.table_name().to_string();
    let store = cordon_aws::DynamoSignInStore::new(m.dynamodb(), table.clone());
    let session = SignInSession {
        identity: VerifiedIdentity {
            method: "oidc".into(),
            issuer: "https://idp.example.com".into(),
            subject: "sub-1".into(),
            email: Some("alice@example.com".into()),
            name: None,
        },
        groups: vec!["sec".into()],
        email_verified: Some(true),
        created_at: t0(),
        expires_at: t0() + Duration::minutes(30),
    };
    let hash = "a".repeat(64);
    store.put_session(&hash, &session).await.expect("stored");
    assert_eq!(
        store.get_session(&hash).await.expect("read"),
        Some(session.clone())
    );
    let again = store
        .put_session(&hash, &session)
        .await
        .expect_err("a session is never overwritten");
    assert!(again.is_transient(), "{again}");
    assert_eq!(
        store.get_session(&"b".repeat(64)).await.expect("read"),
        None
    );

    let nonce = "c".repeat(64);
    assert!(store.use_nonce(&nonce, t0()).await.expect("first use"));
    assert!(
        !store.use_nonce(&nonce, t0()).await.expect("replay"),
        "a replayed nonce is refused"
    );
    let raw = m
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("NONCE#{nonce}")))
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .expect("get")
        .item
        .expect("the nonce item");
    assert!(raw.contains_key("ttl"));
}

/// A failure counter counts each event once, however often it is counted, and keeps its
/// set of counted events small: past 100 in one window the set starts again, and the count
/// goes on.
#[tokio::test]
async fn a_failure_counts_once_and_the_counted_set_stays_bounded() {
    use cordon_aws::failures::FailureCounter;
    use cordon_core::failures::FailureKey;
    let m = moto().await;
    let store = m.incident_store().await;
    let counter = m.failure_counter(&store);
    let key = FailureKey::User(unique("sprayed"));
    let at = Utc::now();
    let count = |event: String| {
        let (counter, key) = (&counter, &key);
        async move {
            counter
                .count(key, at, 3600, "inc-spray", &event)
                .await
                .expect("count")
                .count
                .count
        }
    };
    for i in 1..=101u64 {
        assert_eq!(count(format!("evt-{i}")).await, i);
    }
    // evt-101 started a new set (the first 100 filled it); counting it again changes nothing.
    assert_eq!(count("evt-101".into()).await, 101);
    assert_eq!(count("evt-102".into()).await, 102);
    let item = m
        .aws
        .dynamodb()
        .get_item()
        .table_name(store.table_name())
        .key(
            "pk",
            AttributeValue::S(format!("FAILURES#{}", key.as_key())),
        )
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the counter");
    let counted = item["counted_events"].as_ss().expect("a string set");
    assert_eq!(counted.len(), 2, "{counted:?}");
}
