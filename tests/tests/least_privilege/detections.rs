//! The detection journeys (issue 11) that make the calls the CreateUser journeys do not:
//!
//! - admin granted to a role: enrich reads the role, quarantine revokes its older
//!   sessions (an inline policy), the release function lifts the revocation;
//! - a user added to a group: enrich reads the group's attached (AWS-managed and
//!   customer-managed) and inline policies;
//! - containment undone (the quarantine policy detached from a released user): enrich
//!   asks Cordon's records (the principal index) whether an incident holds the user, and
//!   as none does, the user is not contained again;
//! - the MFA audit: the credential report, and an incident execution for a user of this
//!   journey (executions for the emulator's other users, which other tests create, are
//!   not started: they are not this journey's to contain).
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cordon::local::{LOCAL_ACCOUNT, LOCAL_STACK_NAME};
use cordon_aws::access::Mode;
use cordon_aws::executions::{IncidentExecutions, Start};
use cordon_aws::testing::unique;
use cordon_core::TaskError;
use serde_json::{Value, json};

use super::scenarios::{Run, WAIT};

/// Delivers the fixture `name`, re-aimed at the local account and changed by `edit`,
/// through the template's rules; returns the execution it started.
async fn deliver(run: &Run, name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut event = cordon_aws::testing::fixture_event_in(name, LOCAL_ACCOUNT);
    edit(&mut event["detail"]);
    let started = run.stack.put_event(&event).await.expect("delivering");
    assert_eq!(started.len(), 1, "{name}: one rule routes it: {started:?}");
    started[0].execution_arn.clone()
}

/// Runs `execution` to `Done`, approving containment if it asks (the link is found by
/// `who`, the principal's name in the request).
async fn finish(run: &Run, execution: &str, who: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut approved = false;
    loop {
        let progress = run.stack.progress(execution).await.expect("history");
        assert!(
            progress.failure.is_none(),
            "{who}: the execution failed: {:?} (entered {:?})",
            progress.failure,
            progress.entered
        );
        if progress.entered.iter().any(|s| s == "Done") {
            return progress.entered;
        }
        if !approved && progress.entered.iter().any(|s| s == "RequestApproval") {
            let link = run.link_for(who, "a").await;
            let (status, page) = run.submit(&link, &[("decision", "approve")]).await;
            assert_eq!(status, 200, "{page}");
            approved = true;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who}: not done in {WAIT:?}: entered {:?}",
            progress.entered
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Admin granted to a role: its sessions revoked, then released by the release function.
pub async fn admin_to_role(run: &Run) -> String {
    let iam = aws_sdk_iam::Client::new(&run.stack.sdk);
    let role = unique("lp-deployer");
    cordon_aws::testing::create_workload_role(&iam, &role).await;
    let execution = deliver(run, "iam-attach-role-policy-administrator-access", |d| {
        d["requestParameters"]["roleName"] = json!(role);
    })
    .await;
    let states = finish(run, &execution, &role).await;
    assert!(states.iter().any(|s| s == "Quarantine"), "{states:?}");
    let revoked = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list role policies");
    assert_eq!(
        revoked.policy_names(),
        [cordon_core::quarantine::REVOKE_SESSIONS_POLICY_NAME]
    );

    let release = run
        .stack
        .template
        .function("cordon-release", Mode::Record, &run.stack.calls)
        .expect("the release function");
    let deps = cordon::local::release_deps(&run.stack.sdk, &release).expect("release deps");
    let input: cordon_release::ReleaseInput = serde_json::from_value(json!({
        "incidentId": super::scenarios::incident_id_of(run, &execution).await,
        "releasedBy": {"name": "least-privilege test"},
        "reason": "the role journey"
    }))
    .expect("a release request");
    cordon_release::release(input, &deps)
        .await
        .unwrap_or_else(|e| panic!("releasing the role failed: {e}"));
    let after = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list role policies");
    assert!(after.policy_names().is_empty(), "{after:?}");
    execution
}

/// A user added to a group that grants nothing dangerous: judged by its policies.
pub async fn added_to_group(run: &Run) -> String {
    let iam = aws_sdk_iam::Client::new(&run.stack.sdk);
    let group = unique("lp-readers");
    iam.create_group()
        .group_name(&group)
        .send()
        .await
        .expect("group");
    let readonly = iam
        .create_policy()
        .policy_name(unique("lp-read-reports"))
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#,
        )
        .send()
        .await
        .expect("policy")
        .policy()
        .and_then(|p| p.arn().map(str::to_string))
        .expect("arn");
    for arn in [readonly.as_str(), "arn:aws:iam::aws:policy/ReadOnlyAccess"] {
        iam.attach_group_policy()
            .group_name(&group)
            .policy_arn(arn)
            .send()
            .await
            .expect("attach to the group");
    }
    iam.put_group_policy()
        .group_name(&group)
        .policy_name("read-own-user")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("inline group policy");
    let user = unique("lp-member");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("user");
    let execution = deliver(run, "iam-add-user-to-group-admins", |d| {
        d["requestParameters"] = json!({"groupName": group, "userName": user});
    })
    .await;
    finish(run, &execution, &user).await;
    execution
}

/// The quarantine policy detached from `user`, whom no incident holds any more.
pub async fn containment_undone(run: &Run, user: &str) -> String {
    let policy = format!(
        "arn:aws:iam::{LOCAL_ACCOUNT}:policy/{LOCAL_STACK_NAME}-{}",
        cordon_core::quarantine::QUARANTINE_POLICY_NAME
    );
    let execution = deliver(run, "cordon-detach-quarantine-policy", |d| {
        d["requestParameters"] = json!({"userName": user, "policyArn": policy});
    })
    .await;
    let states = finish(run, &execution, user).await;
    assert!(
        states.iter().all(|s| s != "Quarantine"),
        "released, so not contained again: {states:?}"
    );
    execution
}

/// Starts executions only for findings about `users`.
struct Only {
    users: BTreeSet<String>,
    inner: cordon_aws::SfnIncidentExecutions,
    started: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl IncidentExecutions for Only {
    async fn start(&self, name: &str, input: &Value) -> Result<Start, TaskError> {
        let user = input["detail"]["user"].as_str().unwrap_or_default();
        if !self.users.contains(user) {
            return Ok(Start::AlreadyExists);
        }
        let started = self.inner.start(name, input).await?;
        if let Start::Started { execution_arn } = &started {
            self.started
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(execution_arn.clone());
        }
        Ok(started)
    }
}

/// The MFA audit as its Lambda runs it (its environment, its policies), for a console
/// user without MFA that this journey creates.
pub async fn mfa_audit(run: &Run) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(&run.stack.sdk);
    let user = unique("lp-no-mfa");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("user");
    iam.create_login_profile()
        .user_name(&user)
        .password("Audit-Passw0rd!")
        .send()
        .await
        .expect("a console password");
    let function = run
        .stack
        .template
        .function("cordon-mfa-audit", Mode::Record, &run.stack.calls)
        .expect("the MFA audit function");
    let env = function.environment.clone();
    let lookup = |name: &str| env.get(name).cloned();
    let config = cordon_mfa_audit::Config::from_lookup(&lookup).expect("configuring the audit");
    let aws = cordon_aws::Aws::new(run.stack.sdk.clone())
        .with_access(function.access.clone())
        .with_sfn_endpoint(run.stack.sfn.endpoint());
    let only = Arc::new(Only {
        users: [user.clone()].into(),
        inner: aws.incident_executions(config.state_machine_arn.clone()),
        started: Default::default(),
    });
    let mut deps = cordon_mfa_audit::Deps::build(config, &aws, cordon_aws::system_clock());
    deps.executions = only.clone();
    let out = cordon_mfa_audit::handle(cordon_mfa_audit::Input::default(), &deps)
        .await
        .unwrap_or_else(|e| panic!("the MFA audit failed: {e}"));
    assert!(out.mfa_failures >= 1, "{out:?}");
    let started = only
        .started
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(started.len(), 1, "one incident for {user}: {out:?}");
    for execution in &started {
        finish(run, execution, &user).await;
    }
    started
}
