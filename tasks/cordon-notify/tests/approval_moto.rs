//! Emulator-backed: the approval request lands in the table with a TTL, is decided once,
//! and the email read back through SQS carries the link and never the token.
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use cordon_aws::links::{
    DecideOutcome, DecidedBy, Decision, LinkId, LinkKind, LinkStatus, LinkStore, LinkSummary,
    NewLink, Secret,
};
use cordon_aws::testing::{fixture_detection, moto, unique};
use cordon_notify::{Deps, Input, handle};
use serde_json::{Value, json};

const BASE: &str = "http://127.0.0.1:9/approvals";

#[tokio::test]
async fn the_approval_item_is_keyed_by_a_hash_has_a_ttl_and_is_decided_and_delivered_once() {
    let m = moto().await;
    let incidents = m.incident_store().await;
    let table = incidents.table_name().to_string();
    let store = m.link_store(&incidents);
    let now = Utc::now();
    let token = format!("token-{}", unique("secret"));
    let link = NewLink::approval(
        "ct-moto-1",
        Secret::new(&token),
        LinkSummary {
            principal_name: Some("backdoor".into()),
            ..LinkSummary::default()
        },
        now,
        now + Duration::seconds(600),
    );
    let created = store.create(&link).await.expect("create");
    let first_id = created.id.clone().expect("a new link has an id to email");
    assert_eq!(created.record.hash, first_id.hash());
    // Not emailed yet: a retry gets a new id (the first one's plaintext is gone) for the
    // same approval index.
    let retried = store.create(&link).await.expect("create again");
    let id = retried.id.clone().expect("an unsent link gets a new id");
    assert_ne!(id, first_id);
    store
        .set_message_id(LinkKind::Approval, &id.hash(), "m-1")
        .await
        .expect("sent");
    // Emailed: a retry reuses it and has nothing new to email.
    let again = store.create(&link).await.expect("create after sending");
    assert!(
        again.id.is_none(),
        "the same token reuses the sent approval"
    );
    assert_eq!(again.record.hash, id.hash());
    assert_eq!(again.record.message_id.as_deref(), Some("m-1"));
    let hash = id.hash();

    let raw = m
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("APPROVAL#{hash}")))
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .expect("get item")
        .item
        .expect("approval item, keyed by the hash of its id");
    let ttl: i64 = raw["ttl"]
        .as_n()
        .expect("ttl is a number")
        .parse()
        .expect("ttl");
    assert!(ttl > (now + Duration::seconds(600)).timestamp(), "{ttl}");
    assert_eq!(raw["status"].as_s().expect("status"), "PENDING");
    assert_eq!(raw["task_token"].as_s().expect("token"), &token);
    assert!(!raw.contains_key("csrf"), "no anti-CSRF value is stored");
    // The id itself is stored nowhere in the table.
    let scan = m
        .dynamodb()
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("scan");
    for item in scan.items() {
        for v in item.values() {
            if let Ok(text) = v.as_s() {
                assert!(
                    !text.contains(id.expose()),
                    "the link id is stored: {item:?}"
                );
                assert!(
                    !text.contains(first_id.expose()),
                    "an id is stored: {item:?}"
                );
            }
        }
    }
    let index = m
        .dynamodb()
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            AttributeValue::S(format!("APPROVALTOKEN#{}", link.dedupe_key())),
        )
        .key("sk", AttributeValue::S("META".into()))
        .send()
        .await
        .expect("get index")
        .item
        .expect("index item");
    assert_eq!(index["link_hash"].as_s().expect("link hash"), hash.as_str());
    assert!(
        index
            .values()
            .all(|v| v.as_s().map(|s| !s.contains(&token)).unwrap_or(true))
    );
    // `cordon approve <incident>` finds the incident's latest approval.
    assert_eq!(
        store
            .find_for_incident(LinkKind::Approval, "ct-moto-1")
            .await
            .expect("find")
            .map(|r| r.hash),
        Some(hash.clone())
    );

    let by = DecidedBy {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("test".into()),
        name: Some("alice".into()),
        verified: None,
        reason: None,
    };
    let at = now + Duration::seconds(5);
    let first = store
        .decide(LinkKind::Approval, &hash, Decision::Approve, &by, at)
        .await
        .expect("decide");
    let DecideOutcome::Decided(rec) = first else {
        panic!("first decide should win: {first:?}");
    };
    assert_eq!(rec.status, LinkStatus::Approved);
    assert_eq!(rec.decided_by.as_ref(), Some(&by));
    assert!(rec.undelivered(), "decided, not yet delivered");
    let second = store
        .decide(LinkKind::Approval, &hash, Decision::Reject, &by, at)
        .await
        .expect("decide again");
    let DecideOutcome::AlreadyDecided(current) = second else {
        panic!("the second decide loses: {second:?}");
    };
    assert_eq!(current.decision, Some(Decision::Approve));

    // Delivery is recorded once.
    assert!(
        store
            .mark_delivered(LinkKind::Approval, &hash, at)
            .await
            .expect("delivered")
    );
    assert!(
        !store
            .mark_delivered(LinkKind::Approval, &hash, at)
            .await
            .expect("delivered again")
    );
    let read = store
        .get(LinkKind::Approval, &hash)
        .await
        .expect("get")
        .expect("link");
    assert!(!read.undelivered());
    assert_eq!(read.status, LinkStatus::Approved);

    // Past the expiry nothing can decide.
    let other = store
        .create(&NewLink::approval(
            "ct-moto-2",
            Secret::new(format!("{token}-2")),
            LinkSummary::default(),
            now,
            now + Duration::seconds(600),
        ))
        .await
        .expect("create")
        .record
        .hash;
    let late = store
        .decide(
            LinkKind::Approval,
            &other,
            Decision::Approve,
            &by,
            now + Duration::seconds(601),
        )
        .await
        .expect("decide late");
    assert_eq!(late, DecideOutcome::Expired);
    assert!(
        store
            .close(LinkKind::Approval, &other, LinkStatus::Expired, at)
            .await
            .expect("close")
    );
    // An undecided link is never "delivered".
    assert!(
        !store
            .mark_delivered(LinkKind::Approval, &other, at)
            .await
            .expect("not decided")
    );

    let unknown = LinkId::parse("0123456789abcdef0123456789abcdef")
        .expect("id")
        .hash();
    assert_eq!(
        store.get(LinkKind::Approval, &unknown).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .decide(LinkKind::Approval, &unknown, Decision::Approve, &by, at)
            .await
            .expect("decide unknown"),
        DecideOutcome::NotFound
    );
}

#[tokio::test]
async fn the_approval_email_read_back_through_sqs_has_the_link_and_not_the_token() {
    let m = moto().await;
    let topic = m.create_topic().await;
    let tap = m.tap(&topic).await;
    let incidents = m.incident_store().await;
    let approvals = Arc::new(m.link_store(&incidents));
    let deps = Deps {
        notifier: Arc::new(m.notifier()),
        links: approvals.clone(),
        store: Arc::new(incidents),
        topic_arn: topic.clone(),
        approval_url: Some(BASE.into()),
        approval_timeout_seconds: 3600,
        quarantine_policy_arn: None,
        release_link_valid_for: chrono::Duration::hours(24),
        clock: cordon_aws::system_clock(),
    };
    let mut d = fixture_detection("iam-create-user-by-iam-user");
    d.incident_id = unique("ct");
    let token = format!("AQB-{}-task-token", unique("tok"));
    let input: Input = serde_json::from_value(json!({
        "kind": "approvalRequest",
        "incidentId": d.incident_id,
        "detection": d,
        "taskToken": token,
        "timeoutSeconds": 1200
    }))
    .expect("input");
    let out = handle(input.clone(), &deps).await.expect("notify");
    assert!(!out.already_sent);
    let again = handle(input, &deps).await.expect("retry");
    assert!(again.already_sent);

    let messages = tap.receive(2).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let raw = messages[0].as_str();
    assert!(
        !raw.contains(&token),
        "the token leaked into the message: {raw}"
    );
    let envelope: Value = serde_json::from_str(raw).expect("SNS envelope JSON");
    let body = envelope["Message"].as_str().expect("message");
    let start = body
        .find(&format!("{BASE}/a/"))
        .expect("approval link in the body");
    let id: String = body[start + BASE.len() + 3..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let id = LinkId::parse(&id).unwrap_or_else(|| panic!("{id} is not a link id: {body}"));
    let stored = approvals
        .get(LinkKind::Approval, &id.hash())
        .await
        .expect("get")
        .expect("the linked approval exists");
    assert_eq!(
        stored.task_token.as_ref().map(Secret::expose),
        Some(token.as_str())
    );
    assert_eq!(stored.message_id, out.message_id);
    assert_eq!(stored.incident_id, d.incident_id);
    assert_eq!(
        stored.expires_at - stored.created_at,
        Duration::seconds(1200)
    );
}
