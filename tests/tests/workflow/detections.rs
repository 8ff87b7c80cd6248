//! One run per detection family through the real workflow: the family's event (a shared
//! fixture re-aimed at principals that really exist in moto), the response policy's
//! disposition for its rule, and what containment did in IAM.
//!
//! - credentials: an access key minted for another user contains that user;
//! - admin granted: to a user, the user is contained; to a role, the role's older sessions
//!   are revoked (and the role itself keeps working for new sessions);
//! - MFA: MFA deactivated gets the deny-all and the stack's force-MFA policy; an MFA audit
//!   finding only the force-MFA policy;
//! - CloudTrail tampering: the actor is contained;
//! - root: told, never contained;
//! - tampering with Cordon: a contained user freed outside Cordon is contained again.
use std::collections::BTreeSet;

use cordon::local::LOCAL_ACCOUNT;
use cordon_aws::testing::{fixture_event_in, unique};
use cordon_core::model::IncidentStatus;
use cordon_core::quarantine::REVOKE_SESSIONS_POLICY_NAME;
use cordon_engine::ExecutionStatus;
use serde_json::{Value, json};

use crate::harness::{Case, Harness};

/// A user in moto: its name and the unique id IAM gave it.
struct User {
    name: String,
    id: String,
    arn: String,
}

async fn create_user(h: &Harness, prefix: &str) -> User {
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let name = unique(prefix);
    let user = iam
        .create_user()
        .user_name(&name)
        .send()
        .await
        .expect("create user")
        .user
        .expect("a user");
    User {
        name,
        id: user.user_id,
        arn: user.arn,
    }
}

/// The event's actor becomes `user` (an IAM user calling with its own key).
fn acted_by(event: &mut Value, user: &User) {
    event["detail"]["userIdentity"] = json!({
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": LOCAL_ACCOUNT,
        "accessKeyId": "AKIAEXAMPLEACTORKEY1",
        "userName": user.name,
    });
}

/// Runs `event` to the end; returns the case (its principal `user`).
async fn run(h: &Harness, event: Value, user: &str) -> Case {
    let case = Case {
        event,
        user: user.to_string(),
    };
    let mut ex = h.start(&case.event);
    assert_eq!(
        h.finish(&mut ex).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    case
}

async fn attached(h: &Harness, user: &str) -> BTreeSet<String> {
    aws_sdk_iam::Client::new(&h.sdk)
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .expect("list attached policies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

fn auto(rule: &str) -> String {
    format!(r#"{{"rules": {{"{rule}": {{"disposition": "auto"}}}}}}"#)
}

#[tokio::test]
async fn an_access_key_for_another_user_contains_that_user() {
    let h = Harness::new(Some(&auto("iam.access-key-for-other-user"))).await;
    let target = create_user(&h, "svc-backup").await;
    let key = aws_sdk_iam::Client::new(&h.sdk)
        .create_access_key()
        .user_name(&target.name)
        .send()
        .await
        .expect("a key")
        .access_key
        .expect("key")
        .access_key_id;
    let mut event = fixture_event_in("iam-create-access-key-for-other-user", LOCAL_ACCOUNT);
    event["detail"]["requestParameters"]["userName"] = json!(target.name);
    event["detail"]["responseElements"]["accessKey"]["userName"] = json!(target.name);
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = json!(key);
    let case = run(&h, event, &target.name).await;
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Contained);
    assert!(h.has_quarantine_policy(&target.name).await);
}

#[tokio::test]
async fn admin_granted_to_a_user_contains_the_user() {
    let h = Harness::new(Some(&auto("iam.admin-policy-attached"))).await;
    let target = create_user(&h, "support-admin").await;
    let mut event = fixture_event_in("iam-attach-user-policy-administrator-access", LOCAL_ACCOUNT);
    event["detail"]["requestParameters"]["userName"] = json!(target.name);
    let case = run(&h, event, &target.name).await;
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    assert!(h.has_quarantine_policy(&target.name).await);
}

#[tokio::test]
async fn admin_granted_to_a_role_revokes_its_older_sessions() {
    let h = Harness::new(Some(&auto("iam.admin-granted-to-role"))).await;
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let role = unique("app-deployer");
    cordon_aws::testing::create_workload_role(&iam, &role).await;
    let mut event = fixture_event_in("iam-attach-role-policy-administrator-access", LOCAL_ACCOUNT);
    event["detail"]["requestParameters"]["roleName"] = json!(role);
    let case = run(&h, event, &role).await;
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    let inline = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list role policies");
    assert_eq!(inline.policy_names(), [REVOKE_SESSIONS_POLICY_NAME]);
    let document = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(REVOKE_SESSIONS_POLICY_NAME)
        .send()
        .await
        .expect("the revocation")
        .policy_document;
    let document = percent_decoded(&document);
    let revoked: Value = serde_json::from_str(&document).expect("JSON");
    assert!(
        cordon_core::quarantine::revoked_before(&revoked).is_some(),
        "a deny on aws:TokenIssueTime: {revoked}"
    );
    // The role is not deleted or detached: new sessions keep working.
    assert!(iam.get_role().role_name(&role).send().await.is_ok());
}

/// IAM returns policy documents URL-encoded.
fn percent_decoded(text: &str) -> String {
    cordon_core::policy_document::percent_decode(text)
}

#[tokio::test]
async fn mfa_deactivated_gets_the_deny_all_and_the_force_mfa_policy() {
    let h = Harness::new(Some(
        r#"{"attach_force_mfa_policy": true, "rules": {"iam.mfa-deactivated": {"disposition": "auto"}}}"#,
    ))
    .await;
    let target = create_user(&h, "carol").await;
    let mut event = fixture_event_in("iam-deactivate-mfa-device", LOCAL_ACCOUNT);
    event["detail"]["requestParameters"]["userName"] = json!(target.name);
    let case = run(&h, event, &target.name).await;
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    let policies = attached(&h, &target.name).await;
    assert!(
        policies.contains(&h.resources.quarantine_policy_arn),
        "{policies:?}"
    );
    assert!(
        policies.contains(&h.resources.managed_policies["ForceMfaPolicy"]),
        "{policies:?}"
    );
}

#[tokio::test]
async fn an_mfa_audit_finding_gets_only_the_force_mfa_policy() {
    let h = Harness::new(Some(r#"{"attach_force_mfa_policy": true}"#)).await;
    let target = create_user(&h, "no-mfa").await;
    let now = chrono::Utc::now();
    let finding: cordon_core::audit::UserFinding = serde_json::from_value(json!({
        "user": target.name,
        "arn": target.arn,
        "auditDay": now.date_naive(),
        "reportGeneratedAt": now,
        "findings": [{"kind": "consoleWithoutMfa", "detail": "console password, no MFA device"}],
    }))
    .expect("a finding");
    let account = cordon_core::model::AccountId::parse(LOCAL_ACCOUNT).expect("account");
    let event =
        cordon_core::classify::finding_event(&finding, &account, cordon::local::LOCAL_REGION);
    let mut ex = h.start(&event);
    assert_eq!(
        h.finish(&mut ex).await,
        ExecutionStatus::Succeeded,
        "{}",
        h.history_summary(&ex)
    );
    let policies = attached(&h, &target.name).await;
    assert_eq!(
        policies,
        BTreeSet::from([h.resources.managed_policies["ForceMfaPolicy"].clone()]),
        "a compliance gap is not an attack: no deny-all"
    );
}

#[tokio::test]
async fn logging_stopped_contains_the_actor() {
    let h = Harness::new(Some(&auto("cloudtrail.logging-stopped"))).await;
    let actor = create_user(&h, "jdoe").await;
    let mut event = fixture_event_in("cloudtrail-stop-logging", LOCAL_ACCOUNT);
    acted_by(&mut event, &actor);
    let case = run(&h, event, &actor.name).await;
    assert_eq!(h.record(&case).await.status, IncidentStatus::Contained);
    assert!(h.has_quarantine_policy(&actor.name).await);
}

#[tokio::test]
async fn root_is_told_and_never_contained() {
    // Even a policy that says "auto" does not contain root.
    let h = Harness::new(Some(&auto("signin.root-console-login"))).await;
    let event = fixture_event_in("signin-console-login-root-success-no-mfa", LOCAL_ACCOUNT);
    let case = run(&h, event, "root").await;
    let record = h.record(&case).await;
    assert_eq!(record.status, IncidentStatus::Notified);
    assert_eq!(h.kinds_published_for(&record.incident_id).await, ["alert"]);
}

#[tokio::test]
async fn a_contained_user_freed_outside_cordon_is_contained_again() {
    let h = Harness::new(Some(&auto("iam.user-created"))).await;
    let backdoor = h.backdoor_user_event().await;
    let mut ex = h.start(&backdoor.event);
    assert_eq!(h.finish(&mut ex).await, ExecutionStatus::Succeeded);
    assert_eq!(h.record(&backdoor).await.status, IncidentStatus::Contained);

    // The attacker detaches Cordon's quarantine policy.
    let policy = h.resources.quarantine_policy_arn.clone();
    aws_sdk_iam::Client::new(&h.sdk)
        .detach_user_policy()
        .user_name(&backdoor.user)
        .policy_arn(&policy)
        .send()
        .await
        .expect("detach");
    assert!(!h.has_quarantine_policy(&backdoor.user).await);
    let mut event = fixture_event_in("cordon-detach-quarantine-policy", LOCAL_ACCOUNT);
    event["detail"]["requestParameters"] = json!({"userName": backdoor.user, "policyArn": policy});
    let case = run(&h, event, &backdoor.user).await;
    let record = h.record(&case).await;
    assert_eq!(
        record.rule.as_deref(),
        Some(cordon_core::classify::rules::QUARANTINE_TAMPERED)
    );
    assert_eq!(record.status, IncidentStatus::Contained);
    assert!(h.has_quarantine_policy(&backdoor.user).await);
}
