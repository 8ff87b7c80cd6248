//! Handler tests with the in-memory fakes. Containment is done by the real quarantine and
//! tag handlers, so release is tested against exactly what they leave behind.
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cordon_aws::fakes::{FAKE_ACCOUNT, FakeIdentityStore, FakeIncidentStore, FakeNotifier};
use cordon_aws::incidents::{IncidentStore, NewIncident};
use cordon_aws::testing::fixture_detection;
use cordon_core::model::{
    AccessKey, AttachedPolicy, Detection, IncidentStatus, KeyStatus, UserFacts,
};
use cordon_core::{ResponsePolicy, TaskError, names, tags};
use cordon_release::{
    Config, Deps, ReleaseInput, ReleaseOutput, ReleaseVia, ReleasedBy, handle, release,
};

const USER: &str = "support-admin";
const ACTIVE: &str = "AKIAACTIVE0000000001";
const INACTIVE: &str = "AKIAINACTIVE00000002";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const DENY_ALL: &str = "arn:aws:iam::aws:policy/AWSDenyAll";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:cordon-alerts";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 27, 14, 6, 0)
        .single()
        .expect("valid time")
}

fn quarantine_arn() -> String {
    format!("arn:aws:iam::{FAKE_ACCOUNT}:policy/AutomatedSecurityQuarantine")
}

fn detection() -> Detection {
    fixture_detection("iam-create-user-by-iam-user")
}

/// support-admin: an active and an inactive key, a password, a group, an inline policy, an
/// MFA device, a managed policy, a prior Cordon tag and an unrelated tag.
fn support_admin() -> UserFacts {
    let mut u = FakeIdentityStore::sample_user(USER);
    // The user of the incident's event (quarantine checks the id before acting).
    u.user_id = detection()
        .principal
        .and_then(|p| p.unique_id())
        .map(String::from)
        .expect("the event names the user's id");
    u.created = Some(t0() - Duration::days(30));
    u.access_keys = vec![
        AccessKey {
            id: ACTIVE.into(),
            status: KeyStatus::Active,
            created: None,
        },
        AccessKey {
            id: INACTIVE.into(),
            status: KeyStatus::Inactive,
            created: None,
        },
    ];
    u.login_profile = true;
    u.groups = vec!["admins".into()];
    u.inline_policies = vec!["support-inline".into()];
    u.mfa_devices = vec![format!("arn:aws:iam::{FAKE_ACCOUNT}:mfa/support-admin")];
    u.attached_policies = vec![AttachedPolicy {
        name: "AdministratorAccess".into(),
        arn: ADMIN.into(),
    }];
    u.tags
        .insert(tags::SECURITY_STATUS.into(), "Released".into());
    u.tags.insert("team".into(), "ops".into());
    u
}

struct World {
    iam: Arc<FakeIdentityStore>,
    store: Arc<FakeIncidentStore>,
    deps: Deps,
    incident_id: String,
    before: UserFacts,
}

fn deps(iam: &Arc<FakeIdentityStore>, store: &Arc<FakeIncidentStore>) -> Deps {
    Deps {
        identity: iam.clone(),
        roles: Arc::new(cordon_aws::fakes::FakeRoleStore::new()),
        store: store.clone(),
        notifier: Arc::new(FakeNotifier::new()),
        topic_arn: TOPIC.into(),
        quarantine_policy_arn: None,
        deny_all_policy_arn: DENY_ALL.into(),
        clock: cordon_aws::fixed_clock(t0() + Duration::hours(2)),
    }
}

/// Open the incident, run the real quarantine (remediation as given) and tag handlers, and
/// close the incident as CONTAINED, as the workflow does.
async fn contained(remediate: bool) -> World {
    contained_user(support_admin(), remediate).await
}

async fn contained_user(user: UserFacts, remediate: bool) -> World {
    let d = detection();
    let before = user.clone();
    let iam = Arc::new(FakeIdentityStore::new().with_user(user));
    let store = Arc::new(FakeIncidentStore::new().with_open_incident(&d.incident_id, t0()));
    let q = cordon_quarantine::Deps {
        identity: iam.clone(),
        roles: Arc::new(cordon_aws::fakes::FakeRoleStore::new()),
        store: store.clone(),
        policy: Arc::new(ResponsePolicy::default()),
        identities: cordon_aws::identities::Identities::default(),
        quarantine_policy_arn: quarantine_arn(),
        deny_all_policy_arn: DENY_ALL.into(),
        force_mfa_policy_arn: None,
        clock: cordon_aws::fixed_clock(t0()),
    };
    let qout = cordon_quarantine::handle(
        cordon_quarantine::Input {
            incident_id: d.incident_id.clone(),
            detection: d.clone(),
            remediate: Some(remediate),
            facts: None,
        },
        &q,
    )
    .await
    .expect("quarantine");
    let t = cordon_tag::Deps {
        identity: iam.clone(),
    };
    cordon_tag::handle(
        cordon_tag::Input {
            incident_id: d.incident_id.clone(),
            user_name: qout.user_name.clone(),
            quarantined_at: qout.quarantined_at,
            principal_kind: Some(qout.principal_kind),
        },
        &t,
    )
    .await
    .expect("tag");
    store
        .close(
            &d.incident_id,
            IncidentStatus::Contained,
            t0(),
            Some("contained"),
            None,
        )
        .await
        .expect("close");
    let deps = deps(&iam, &store);
    World {
        iam,
        store,
        deps,
        incident_id: d.incident_id,
        before,
    }
}

fn input(id: &str) -> ReleaseInput {
    ReleaseInput {
        incident_id: id.to_string(),
        released_by: ReleasedBy {
            name: Some("alice".into()),
            ip: Some("198.51.100.7".into()),
            user_agent: Some("cordon-cli/0.0.0".into()),
            via: ReleaseVia::Cli,
            verified: None,
        },
        reason: Some("false positive: ticket OPS-42".into()),
    }
}

fn user(w: &World) -> UserFacts {
    w.iam.user(USER).expect("user exists")
}

fn key_status(u: &UserFacts, id: &str) -> Option<KeyStatus> {
    u.access_keys.iter().find(|k| k.id == id).map(|k| k.status)
}

async fn status(w: &World) -> IncidentStatus {
    w.store
        .get(&w.incident_id)
        .await
        .expect("get")
        .expect("incident")
        .status
}

#[tokio::test]
async fn release_restores_the_exact_prior_state_and_records_who() {
    let w = contained(true).await;
    let during = user(&w);
    assert!(
        during
            .attached_policies
            .iter()
            .any(|p| p.arn == quarantine_arn())
    );
    assert_eq!(key_status(&during, ACTIVE), Some(KeyStatus::Inactive));
    assert_eq!(
        during.tags.get(tags::SECURITY_STATUS).map(String::as_str),
        Some("Quarantined")
    );

    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    let after = user(&w);

    // Everything Cordon changed is back; the password needs a human.
    let expected = UserFacts {
        login_profile: false,
        ..w.before.clone()
    };
    assert_eq!(after, expected);
    assert!(!out.already_released);
    assert_eq!(out.user_name.as_deref(), Some(USER));
    assert_eq!(out.restored.policy_detached, Some(quarantine_arn()));
    assert_eq!(out.restored.reactivated_keys, vec![ACTIVE.to_string()]);
    assert_eq!(
        out.restored.tags_removed,
        vec![tags::INCIDENT.to_string(), tags::QUARANTINED_AT.to_string()]
    );
    assert_eq!(
        out.restored
            .tags_restored
            .get(tags::SECURITY_STATUS)
            .map(String::as_str),
        Some("Released")
    );
    assert!(out.drift.is_empty(), "{:?}", out.drift);
    assert_eq!(out.manual_actions.len(), 1, "{:?}", out.manual_actions);
    assert!(out.manual_actions[0].contains("create a new console password"));
    assert_eq!(out.released_at, Some(t0() + Duration::hours(2)));
    // The inactive key was never touched.
    assert_eq!(key_status(&after, INACTIVE), Some(KeyStatus::Inactive));

    // Who and when: status, timeline.
    let record = w
        .store
        .get(&w.incident_id)
        .await
        .expect("get")
        .expect("incident");
    assert_eq!(record.status, IncidentStatus::Released);
    let timeline = w.store.timeline(&w.incident_id).await.expect("timeline");
    let entry = timeline
        .iter()
        .find(|e| e.step == "Release")
        .expect("a Release timeline entry");
    assert_eq!(entry.at, t0() + Duration::hours(2));
    assert!(entry.message.contains("alice (cli)"), "{}", entry.message);
    let details = entry.details.as_ref().expect("details");
    assert_eq!(details["releasedBy"]["name"], "alice");
    assert_eq!(details["releasedBy"]["via"], "cli");
    assert_eq!(details["releasedBy"]["ip"], "198.51.100.7");
    assert_eq!(details["reason"], "false positive: ticket OPS-42");
    assert_eq!(details["restored"]["reactivatedKeys"][0], ACTIVE);

    let summary = out.summary();
    assert!(summary.contains("reactivated access key"), "{summary}");
    assert!(summary.contains("needs manual action"), "{summary}");
}

#[tokio::test]
async fn releasing_twice_reports_already_released_and_changes_nothing() {
    let w = contained(true).await;
    release(input(&w.incident_id), &w.deps)
        .await
        .expect("first release");
    let writes = |w: &World| {
        w.iam.count("iam:UpdateAccessKey")
            + w.iam.count("iam:DetachUserPolicy")
            + w.iam.count("iam:TagUser")
            + w.iam.count("iam:UntagUser")
    };
    let before = writes(&w);
    let mut again = input(&w.incident_id);
    again.released_by.name = Some("bob".into());
    let out = handle(again, &w.deps).await.expect("second release");
    assert!(out.already_released);
    assert_eq!(
        out.released_by.name.as_deref(),
        Some("alice"),
        "the first release is reported"
    );
    assert_eq!(out.released_at, Some(t0() + Duration::hours(2)));
    assert!(out.restored.is_empty());
    assert_eq!(writes(&w), before);
    assert!(out.summary().contains("already released"));
    let releases = w
        .store
        .timeline(&w.incident_id)
        .await
        .expect("timeline")
        .into_iter()
        .filter(|e| e.step == "Release")
        .count();
    assert_eq!(releases, 1);
}

#[tokio::test]
async fn a_release_interrupted_before_the_status_write_converges_on_rerun() {
    let w = contained(true).await;
    w.store.fail_on(
        "dynamodb:MarkReleased",
        TaskError::transient("dynamodb:UpdateItem", "Throttling"),
    );
    let e = release(input(&w.incident_id), &w.deps)
        .await
        .expect_err("status write fails");
    assert!(e.is_transient());
    assert_eq!(status(&w).await, IncidentStatus::Contained);
    w.store.heal("dynamodb:MarkReleased");

    let mut deps = w.deps.clone();
    deps.clock = cordon_aws::fixed_clock(t0() + Duration::hours(3));
    let out = release(input(&w.incident_id), &deps).await.expect("rerun");
    assert!(!out.already_released);
    assert!(
        out.restored.is_empty(),
        "already restored: {:?}",
        out.restored
    );
    assert!(out.drift.is_empty(), "{:?}", out.drift);
    assert_eq!(
        w.iam.count("iam:UpdateAccessKey"),
        2,
        "deactivate once, reactivate once"
    );
    assert_eq!(status(&w).await, IncidentStatus::Released);
    assert_eq!(
        user(&w),
        UserFacts {
            login_profile: false,
            ..w.before.clone()
        }
    );
}

#[tokio::test]
async fn a_transient_iam_error_fails_the_release_so_it_is_retried() {
    let w = contained(true).await;
    w.iam.fail_on(
        "iam:UpdateAccessKey",
        TaskError::transient("iam:UpdateAccessKey", "Throttling"),
    );
    let e = release(input(&w.incident_id), &w.deps)
        .await
        .expect_err("throttled");
    assert_eq!(e.error_name(), names::TRANSIENT);
    assert_eq!(status(&w).await, IncidentStatus::Contained);
    w.iam.heal("iam:UpdateAccessKey");
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("retry");
    assert_eq!(out.restored.reactivated_keys, vec![ACTIVE.to_string()]);
    assert_eq!(key_status(&user(&w), ACTIVE), Some(KeyStatus::Active));
}

#[tokio::test]
async fn an_incident_that_was_never_contained_is_refused() {
    let store = Arc::new(FakeIncidentStore::new().with_open_incident("ct-open-only", t0()));
    let iam = Arc::new(FakeIdentityStore::new().with_user(support_admin()));
    let d = deps(&iam, &store);
    let e = release(input("ct-open-only"), &d)
        .await
        .expect_err("never contained");
    assert_eq!(e.error_name(), names::INVALID_EVENT);
    assert!(e.to_string().contains("never contained"), "{e}");
    assert!(iam.calls().is_empty(), "IAM untouched: {:?}", iam.calls());
    assert_eq!(store.count("dynamodb:MarkReleased"), 0);
}

#[tokio::test]
async fn an_unknown_or_empty_incident_id_is_refused() {
    let store = Arc::new(FakeIncidentStore::new());
    let iam = Arc::new(FakeIdentityStore::new());
    let d = deps(&iam, &store);
    let e = release(input("ct-nope"), &d).await.expect_err("unknown");
    assert_eq!(e.error_name(), names::INVALID_EVENT);
    assert!(e.to_string().contains("names no recorded incident"), "{e}");
    let e = release(input("  "), &d).await.expect_err("empty");
    assert!(e.to_string().contains("is empty"), "{e}");
    assert!(store.incidents().is_empty(), "nothing created");
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused_without_touching_iam() {
    let store = Arc::new(FakeIncidentStore::new().with_open_incident("ct-corrupt", t0()));
    store.corrupt(
        "ct-corrupt",
        "snapshot",
        &serde_json::json!({"not": "a snapshot"}),
    );
    let iam = Arc::new(FakeIdentityStore::new().with_user(support_admin()));
    let e = release(input("ct-corrupt"), &deps(&iam, &store))
        .await
        .expect_err("corrupt");
    assert!(e.to_string().contains("not a quarantine snapshot"), "{e}");
    assert!(iam.calls().is_empty());
}

#[tokio::test]
async fn drift_a_deleted_user_is_recorded_and_the_incident_released() {
    let w = contained(true).await;
    // The user is gone: release against an IAM without it.
    let gone = Arc::new(FakeIdentityStore::new());
    let d = deps(&gone, &w.store);
    let out = release(input(&w.incident_id), &d).await.expect("release");
    assert!(out.user_deleted);
    assert!(out.restored.is_empty());
    assert_eq!(out.drift.len(), 1, "{:?}", out.drift);
    assert!(
        out.drift[0].contains("no longer exists"),
        "{}",
        out.drift[0]
    );
    assert_eq!(gone.calls(), vec!["iam:GetUser".to_string()], "no writes");
    assert_eq!(status(&w).await, IncidentStatus::Released);
    let timeline = w.store.timeline(&w.incident_id).await.expect("timeline");
    let entry = timeline
        .iter()
        .find(|e| e.step == "Release")
        .expect("entry");
    assert_eq!(
        entry.details.as_ref().expect("details")["userDeleted"],
        true
    );
}

#[tokio::test]
async fn drift_a_deleted_key_is_skipped_and_a_new_key_is_never_activated() {
    let w = contained(true).await;
    let mut u = user(&w);
    u.access_keys.retain(|k| k.id != ACTIVE);
    u.access_keys.push(AccessKey {
        id: "AKIANEWINACTIVE00003".into(),
        status: KeyStatus::Inactive,
        created: Some(t0() + Duration::hours(1)),
    });
    u.access_keys.push(AccessKey {
        id: "AKIANEWACTIVE0000004".into(),
        status: KeyStatus::Active,
        created: Some(t0() + Duration::hours(1)),
    });
    w.iam.put_user(u);

    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    let after = user(&w);
    assert!(out.restored.reactivated_keys.is_empty());
    assert_eq!(
        w.iam.count("iam:UpdateAccessKey"),
        1,
        "only quarantine's deactivation"
    );
    assert_eq!(
        key_status(&after, "AKIANEWINACTIVE00003"),
        Some(KeyStatus::Inactive)
    );
    assert_eq!(
        key_status(&after, "AKIANEWACTIVE0000004"),
        Some(KeyStatus::Active)
    );
    assert_eq!(key_status(&after, INACTIVE), Some(KeyStatus::Inactive));
    let drift = out.drift.join("\n");
    assert!(
        drift.contains(&format!(
            "access key {ACTIVE} (active before containment) no longer exists"
        )),
        "{drift}"
    );
    assert!(
        drift.contains("AKIANEWINACTIVE00003 was created after containment"),
        "{drift}"
    );
    assert!(
        drift.contains("AKIANEWACTIVE0000004 was created after containment (active)"),
        "{drift}"
    );
    assert_eq!(out.drift.len(), 3, "{drift}");
    // The safe part still happened.
    assert_eq!(out.restored.policy_detached, Some(quarantine_arn()));
    assert!(!after.tags.contains_key(tags::INCIDENT));
    assert_eq!(status(&w).await, IncidentStatus::Released);
}

#[tokio::test]
async fn drift_a_key_that_vanishes_during_release_is_skipped() {
    let w = contained(true).await;
    w.iam.fail_on(
        "iam:UpdateAccessKey",
        TaskError::PrincipalNotFound(USER.into()),
    );
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    assert!(out.restored.reactivated_keys.is_empty());
    assert!(
        out.drift
            .iter()
            .any(|d| d.contains("disappeared during release")),
        "{:?}",
        out.drift
    );
    assert_eq!(status(&w).await, IncidentStatus::Released);
}

#[tokio::test]
async fn drift_a_reactivated_inactive_key_is_reported_not_changed() {
    let w = contained(true).await;
    let mut u = user(&w);
    for k in &mut u.access_keys {
        if k.id == INACTIVE {
            k.status = KeyStatus::Active;
        }
    }
    w.iam.put_user(u);
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    assert!(
        out.drift.iter().any(|d| d.contains(&format!(
            "{INACTIVE} was inactive before containment but is active now"
        ))),
        "{:?}",
        out.drift
    );
    assert_eq!(out.restored.reactivated_keys, vec![ACTIVE.to_string()]);
}

#[tokio::test]
async fn drift_changed_policies_groups_and_password_are_reported_never_regranted() {
    let w = contained(true).await;
    let mut u = user(&w);
    u.attached_policies.retain(|p| p.arn != ADMIN);
    u.attached_policies.push(AttachedPolicy {
        name: "ReadOnlyAccess".into(),
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
    });
    u.groups.clear();
    u.inline_policies.push("added-inline".into());
    u.mfa_devices.clear();
    u.login_profile = true;
    w.iam.put_user(u);

    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    let after = user(&w);
    let arns: Vec<&str> = after
        .attached_policies
        .iter()
        .map(|p| p.arn.as_str())
        .collect();
    assert_eq!(
        arns,
        vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "admin not re-attached"
    );
    let drift = out.drift.join("\n");
    for expected in [
        &format!("managed policy {ADMIN} (attached before containment) is gone"),
        "managed policy arn:aws:iam::aws:policy/ReadOnlyAccess is new since containment",
        "group membership admins (present before containment) is gone",
        "inline policy added-inline is new",
        "MFA device",
    ] {
        assert!(
            drift.contains(expected),
            "missing {expected:?} in:\n{drift}"
        );
    }
    assert!(
        out.manual_actions.is_empty(),
        "password exists again: {:?}",
        out.manual_actions
    );
    assert_eq!(out.restored.reactivated_keys, vec![ACTIVE.to_string()]);
    assert_eq!(out.restored.policy_detached, Some(quarantine_arn()));
}

#[tokio::test]
async fn drift_a_user_held_by_a_newer_incident_is_left_contained() {
    let w = contained(true).await;
    let mut u = user(&w);
    u.tags
        .insert(tags::INCIDENT.into(), "ct-newer-incident".into());
    w.iam.put_user(u.clone());
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    assert!(out.restored.is_empty());
    assert!(
        out.drift[0].contains("held by another incident"),
        "{:?}",
        out.drift
    );
    assert_eq!(user(&w), u, "nothing changed");
    assert_eq!(status(&w).await, IncidentStatus::Released);
}

#[tokio::test]
async fn drift_a_recreated_user_is_a_different_identity() {
    let w = contained(true).await;
    let mut u = FakeIdentityStore::sample_user(USER);
    u.created = Some(t0() + Duration::hours(1));
    u.access_keys = vec![AccessKey {
        id: "AKIARECREATED0000005".into(),
        status: KeyStatus::Inactive,
        created: None,
    }];
    w.iam.put_user(u.clone());
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    assert!(out.restored.is_empty());
    assert!(out.drift[0].contains("re-created"), "{:?}", out.drift);
    assert_eq!(user(&w), u);
}

#[tokio::test]
async fn without_remediation_only_the_policy_and_tags_are_undone() {
    let w = contained(false).await;
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    assert!(out.restored.reactivated_keys.is_empty());
    assert!(out.manual_actions.is_empty(), "{:?}", out.manual_actions);
    assert!(out.drift.is_empty(), "{:?}", out.drift);
    assert_eq!(user(&w), w.before);
    assert_eq!(w.iam.count("iam:UpdateAccessKey"), 0);
}

#[tokio::test]
async fn a_quarantine_policy_attached_before_containment_stays_attached() {
    let mut u = support_admin();
    u.attached_policies.push(AttachedPolicy {
        name: "AutomatedSecurityQuarantine".into(),
        arn: quarantine_arn(),
    });
    let w = contained_user(u, false).await;
    let out = release(input(&w.incident_id), &w.deps)
        .await
        .expect("release");
    // The user had the customer-managed deny-all before: it stays. AWSDenyAll, which
    // Cordon attached, is detached.
    assert_eq!(out.restored.policies_detached, vec![DENY_ALL.to_string()]);
    assert_eq!(w.iam.count("iam:DetachUserPolicy"), 1);
    assert_eq!(user(&w), w.before);
}

#[tokio::test]
async fn the_configured_policy_arn_is_used_when_the_timeline_has_none() {
    // An incident contained without a Quarantine timeline entry (e.g. seeded by hand).
    let store = Arc::new(FakeIncidentStore::new());
    store
        .open(&NewIncident {
            incident_id: "ct-manual".into(),
            status: IncidentStatus::Open,
            opened_at: t0(),
            rule: None,
            title: None,
            principal: None,
            actor: None,
            event: serde_json::json!({}),
            detection: None,
            error: None,
            execution_arn: None,
        })
        .await
        .expect("open");
    let mut u = support_admin();
    let snapshot = cordon_core::model::Snapshot::of(&u, t0());
    store
        .save_snapshot("ct-manual", &snapshot, t0())
        .await
        .expect("snapshot");
    let custom = format!("arn:aws:iam::{FAKE_ACCOUNT}:policy/custom-deny");
    u.attached_policies.push(AttachedPolicy {
        name: "custom-deny".into(),
        arn: custom.clone(),
    });
    let iam = Arc::new(FakeIdentityStore::new().with_user(u));
    let mut d = deps(&iam, &store);
    d.quarantine_policy_arn = Some(custom.clone());
    let out = release(input("ct-manual"), &d).await.expect("release");
    assert_eq!(out.restored.policy_detached, Some(custom));
    assert_eq!(iam.user(USER).expect("user"), support_admin());
}

#[test]
fn input_and_output_wire_format() {
    let i: ReleaseInput = serde_json::from_value(serde_json::json!({
        "incidentId": "ct-1",
        "releasedBy": {"name": "alice", "ip": "198.51.100.7", "userAgent": "Mozilla", "via": "approval-link"},
        "reason": "fp"
    }))
    .expect("parse");
    assert_eq!(i.released_by.via, ReleaseVia::ApprovalLink);
    assert_eq!(i.released_by.user_agent.as_deref(), Some("Mozilla"));
    let bare: ReleaseInput =
        serde_json::from_value(serde_json::json!({"incidentId": "ct-1"})).expect("parse");
    assert_eq!(bare.released_by.via, ReleaseVia::Lambda);
    assert!(
        serde_json::from_value::<ReleaseInput>(
            serde_json::json!({"incidentId": "x", "releasedBy": {"via": "email"}})
        )
        .is_err()
    );

    let out: ReleaseOutput = serde_json::from_value(serde_json::json!({
        "incidentId": "ct-1", "userName": "u", "alreadyReleased": true, "releasedAt": null,
        "releasedBy": {"via": "cli"}, "reason": null, "userDeleted": false,
        "restored": {"policyDetached": null, "reactivatedKeys": [], "tagsRemoved": [], "tagsRestored": {}},
        "actionsTaken": [], "manualActions": [], "drift": []
    }))
    .expect("output shape");
    assert!(out.already_released);
}

#[test]
fn config_reads_the_lambda_environment() {
    let env = |n: &str| match n {
        "CORDON_TABLE_NAME" => Some("incidents".to_string()),
        "CORDON_TOPIC_ARN" => Some(TOPIC.to_string()),
        "CORDON_QUARANTINE_POLICY_ARN" => Some("arn:aws:iam::1:policy/q".to_string()),
        _ => None,
    };
    let c = Config::from_lookup(&env).expect("config");
    assert_eq!(c.table_name, "incidents");
    assert_eq!(
        c.quarantine_policy_arn.as_deref(),
        Some("arn:aws:iam::1:policy/q")
    );
    let e = Config::from_lookup(&|_| None).expect_err("no table");
    assert!(e.to_string().contains("CORDON_TABLE_NAME"), "{e}");
}

/// Safe outcome: a key a responder disabled after containment (Cordon deactivated none:
/// no remediation) stays disabled; release reports it instead of reactivating it, and
/// the `released` notification says who released the user and why.
#[tokio::test]
async fn a_key_a_responder_disabled_after_containment_stays_disabled() {
    use cordon_aws::IdentityStore as _;
    let w = contained(false).await;
    w.iam
        .set_access_key_status(USER, ACTIVE, KeyStatus::Inactive)
        .await
        .expect("the responder disables the leaked key");
    let notifier = Arc::new(FakeNotifier::new());
    let mut deps = w.deps.clone();
    deps.notifier = notifier.clone();
    let out = release(input(&w.incident_id), &deps)
        .await
        .expect("release");
    assert!(
        out.restored.reactivated_keys.is_empty(),
        "{:?}",
        out.restored
    );
    assert_eq!(key_status(&user(&w), ACTIVE), Some(KeyStatus::Inactive));
    assert!(
        out.drift
            .iter()
            .any(|d| d.contains(ACTIVE) && d.contains("Cordon did not deactivate it")),
        "{:?}",
        out.drift
    );
    // Cordon's own changes are undone.
    assert!(!out.restored.policies_detached.is_empty());
    let sent = notifier.published();
    assert_eq!(sent.len(), 1, "every release is announced once");
    let body = &sent[0].body;
    assert!(body.contains("Released by: alice"), "{body}");
    assert!(body.contains("false positive: ticket OPS-42"), "{body}");
    assert!(
        body.contains(ACTIVE),
        "the drift is in the notification: {body}"
    );
    // Released again: announced already, nothing sent twice.
    release(input(&w.incident_id), &deps).await.expect("again");
    assert_eq!(notifier.published().len(), 1);
}
