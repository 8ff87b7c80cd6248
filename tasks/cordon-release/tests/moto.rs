//! Emulator-backed: contain a user in moto with the real quarantine and tag handlers, then
//! release it, over the real IAM and DynamoDB wire protocols.
use std::sync::Arc;

use chrono::Utc;
use cordon_aws::testing::{Moto, detection_for, fixture, moto, open_incident, unique};
use cordon_aws::{DynamoIncidentStore, IdentityStore, IncidentStore};
use cordon_core::model::{IncidentStatus, KeyStatus, UserFacts};
use cordon_core::{ResponsePolicy, tags};
use cordon_release::{Deps, ReleaseInput, ReleaseOutput, ReleaseVia, ReleasedBy, release};

/// A contained user in moto.
struct Contained {
    m: Moto,
    store: Arc<DynamoIncidentStore>,
    incident_id: String,
    user: String,
    active_key: String,
    inactive_key: String,
    /// The user as it was before containment.
    before: UserFacts,
}

const FIXTURE: &str = "iam-create-user-by-iam-user";

async fn facts(m: &Moto, user: &str) -> Option<UserFacts> {
    m.identity_store()
        .get_user_facts(user)
        .await
        .expect("get user facts")
}

/// A user with an Active and an Inactive key, a customer-managed policy, a console
/// password, an unrelated tag and a prior `SecurityStatus` tag; contained with remediation
/// by the real quarantine handler and tagged by the real tag handler.
async fn contained() -> Contained {
    let m = moto().await;
    let user = unique("release-me");
    let arn = m.create_user(&user).await;
    let active_key = m.create_access_key(&user).await;
    let inactive_key = m.create_access_key(&user).await;
    m.set_access_key_status(&user, &inactive_key, KeyStatus::Inactive)
        .await;
    let policy_arn = m
        .create_policy(
            &unique("support-read"),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#,
        )
        .await;
    m.attach_user_policy(&user, &policy_arn).await;
    m.create_login_profile(&user, "Test-only-password-1!").await;
    for (k, v) in [("team", "ops"), (tags::SECURITY_STATUS, "Reviewed")] {
        m.tag_user(&user, k, v).await;
    }
    let before = facts(&m, &user).await.expect("user exists");

    let d = detection_for(FIXTURE, &user, &arn);
    let store = Arc::new(m.incident_store().await);
    open_incident(&*store, &d, fixture(FIXTURE)).await;
    let q = cordon_quarantine::Deps {
        identity: Arc::new(m.identity_store()),
        roles: Arc::new(m.role_store()),
        store: store.clone(),
        policy: Arc::new(ResponsePolicy::default()),
        identities: cordon_aws::identities::Identities::default(),
        quarantine_policy_arn: m.quarantine_policy().await,
        deny_all_policy_arn: "arn:aws:iam::aws:policy/AWSDenyAll".into(),
        force_mfa_policy_arn: None,
        clock: cordon_aws::system_clock(),
    };
    let qout = cordon_quarantine::handle(
        cordon_quarantine::Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
            remediate: Some(true),
            facts: None,
        },
        &q,
    )
    .await
    .expect("quarantine");
    assert_eq!(qout.remediation.deactivated_keys, vec![active_key.clone()]);
    assert!(qout.remediation.login_profile_deleted);
    cordon_tag::handle(
        cordon_tag::Input {
            incident_id: d.incident_id.clone(),
            user_name: user.clone(),
            quarantined_at: qout.quarantined_at,
            principal_kind: None,
        },
        &cordon_tag::Deps {
            identity: Arc::new(m.identity_store()),
        },
    )
    .await
    .expect("tag");
    store
        .close(
            &d.incident_id,
            IncidentStatus::Contained,
            Utc::now(),
            Some("contained"),
            None,
        )
        .await
        .expect("close");

    let during = facts(&m, &user).await.expect("user exists");
    assert!(
        during
            .attached_policies
            .iter()
            .any(|p| p.arn == qout.policy_arn)
    );
    assert!(
        during
            .access_keys
            .iter()
            .all(|k| k.status == KeyStatus::Inactive)
    );
    assert_eq!(
        during.tags.get(tags::SECURITY_STATUS).map(String::as_str),
        Some(tags::QUARANTINED)
    );
    Contained {
        m,
        store,
        incident_id: d.incident_id,
        user,
        active_key,
        inactive_key,
        before,
    }
}

impl Contained {
    async fn release(&self, name: &str) -> ReleaseOutput {
        let topic = self.m.create_topic().await;
        let deps = Deps {
            identity: Arc::new(self.m.identity_store()),
            roles: Arc::new(self.m.role_store()),
            store: self.store.clone(),
            notifier: Arc::new(self.m.notifier()),
            topic_arn: topic,
            quarantine_policy_arn: None,
            deny_all_policy_arn: "arn:aws:iam::aws:policy/AWSDenyAll".into(),
            clock: cordon_aws::system_clock(),
        };
        release(
            ReleaseInput {
                incident_id: self.incident_id.clone(),
                released_by: ReleasedBy {
                    name: Some(name.to_string()),
                    ip: None,
                    user_agent: Some("cordon-tests".into()),
                    via: ReleaseVia::Cli,
                    verified: None,
                },
                reason: Some("moto test".into()),
            },
            &deps,
        )
        .await
        .expect("release")
    }

    async fn assert_released_by(&self, name: &str) {
        let record = self
            .store
            .get(&self.incident_id)
            .await
            .expect("get")
            .expect("incident");
        assert_eq!(record.status, IncidentStatus::Released);
        let timeline = self
            .store
            .timeline(&self.incident_id)
            .await
            .expect("timeline");
        let entry = timeline
            .iter()
            .find(|e| e.step == "Release")
            .expect("a Release timeline entry");
        let by = &entry.details.as_ref().expect("details")["releasedBy"];
        assert_eq!(by["name"], name);
        assert_eq!(by["via"], "cli");
        assert!(entry.at <= Utc::now());
        let released = self
            .store
            .list_by_status(IncidentStatus::Released, 100)
            .await
            .expect("by status");
        assert!(
            released.iter().any(|r| r.incident_id == self.incident_id),
            "the status index lists it as RELEASED"
        );
    }
}

#[tokio::test]
async fn release_restores_the_exact_pre_containment_state() {
    let c = contained().await;
    let out = c.release("alice").await;
    let after = facts(&c.m, &c.user).await.expect("user exists");

    // Policies, key statuses and tags are exactly as before; the password needs a human.
    assert_eq!(
        after,
        UserFacts {
            login_profile: false,
            ..c.before.clone()
        }
    );
    assert_eq!(out.restored.reactivated_keys, vec![c.active_key.clone()]);
    assert!(out.restored.policy_detached.is_some());
    assert!(out.drift.is_empty(), "{:?}", out.drift);
    assert_eq!(out.manual_actions.len(), 1);
    assert!(out.manual_actions[0].contains("create a new console password"));
    assert_eq!(
        after.tags.get(tags::SECURITY_STATUS).map(String::as_str),
        Some("Reviewed")
    );
    c.assert_released_by("alice").await;

    // A second release changes nothing and reports the first.
    let again = c.release("bob").await;
    assert!(again.already_released);
    assert_eq!(again.released_by.name.as_deref(), Some("alice"));
    assert_eq!(facts(&c.m, &c.user).await.expect("user exists"), after);
}

#[tokio::test]
async fn release_after_key_drift_skips_the_deleted_key_and_never_activates_a_new_one() {
    let c = contained().await;
    let iam = c.m.iam();
    iam.delete_access_key()
        .user_name(&c.user)
        .access_key_id(&c.active_key)
        .send()
        .await
        .expect("delete key");
    let new_key = c.m.create_access_key(&c.user).await;
    c.m.set_access_key_status(&c.user, &new_key, KeyStatus::Inactive)
        .await;

    let out = c.release("alice").await;
    let after = facts(&c.m, &c.user).await.expect("user exists");
    let status = |id: &str| {
        after
            .access_keys
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.status)
    };
    assert_eq!(
        status(&new_key),
        Some(KeyStatus::Inactive),
        "new key never activated"
    );
    assert_eq!(status(&c.inactive_key), Some(KeyStatus::Inactive));
    assert_eq!(status(&c.active_key), None);
    assert!(out.restored.reactivated_keys.is_empty());
    let drift = out.drift.join("\n");
    assert!(
        drift.contains(&format!(
            "access key {} (active before containment) no longer exists",
            c.active_key
        )),
        "{drift}"
    );
    assert!(
        drift.contains(&format!(
            "access key {new_key} was created after containment"
        )),
        "{drift}"
    );
    // The safe part: policies and tags are back.
    assert!(out.restored.policy_detached.is_some());
    assert_eq!(after.attached_policies, c.before.attached_policies);
    assert_eq!(after.tags, c.before.tags);
    c.assert_released_by("alice").await;
}

#[tokio::test]
async fn release_after_the_user_was_deleted_records_the_drift() {
    let c = contained().await;
    let iam = c.m.iam();
    let during = facts(&c.m, &c.user).await.expect("user exists");
    for p in &during.attached_policies {
        iam.detach_user_policy()
            .user_name(&c.user)
            .policy_arn(&p.arn)
            .send()
            .await
            .expect("detach");
    }
    for k in &during.access_keys {
        iam.delete_access_key()
            .user_name(&c.user)
            .access_key_id(&k.id)
            .send()
            .await
            .expect("delete key");
    }
    iam.delete_user()
        .user_name(&c.user)
        .send()
        .await
        .expect("delete user");

    let out = c.release("alice").await;
    assert!(out.user_deleted);
    assert!(out.restored.is_empty());
    assert!(out.drift[0].contains("no longer exists"), "{:?}", out.drift);
    assert!(facts(&c.m, &c.user).await.is_none(), "nothing re-created");
    c.assert_released_by("alice").await;
}
