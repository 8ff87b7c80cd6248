//! `cordon simulate <scenario>` end to end: the attack really happens in moto, its events
//! go through the local stack's PutEvents API and rules, and the workflow handles the
//! incident the scenario names.
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cordon_aws::incidents::IncidentStore;
use cordon_core::model::IncidentStatus;
use serde_json::Value;

use crate::fixture::{WAIT, fixture};

/// The PutEvents API in front of the fixture's stack, as `cordon local up` serves it.
fn events_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let f = fixture();
        let server = f
            .block_on(cordon::local::up::serve_events(&f.stack, 0))
            .unwrap_or_else(|e| panic!("serving PutEvents: {e:#}"));
        let endpoint = server.endpoint();
        // Serves for the rest of the test binary, on the fixture's runtime.
        Box::leak(Box::new(server));
        endpoint
    })
}

/// The fixture stack's delivery token, in a file as `cordon local up` writes it.
fn token_file() -> &'static str {
    static FILE: OnceLock<String> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-cli-token"));
        std::fs::write(&path, &fixture().stack.delivery_token).expect("the token file");
        path.to_string_lossy().into_owned()
    })
}

/// `cordon simulate <scenario> --output json` against the fixture's stack.
fn simulate(scenario: &str) -> Value {
    fixture().json(&[
        "simulate",
        scenario,
        "--events-endpoint",
        events_endpoint(),
        "--delivery-token-file",
        token_file(),
    ])
}

/// Waits until the workflow has assessed the incident; its record.
fn handled(incident: &str) -> cordon_aws::incidents::IncidentRecord {
    let f = fixture();
    let deadline = Instant::now() + WAIT;
    loop {
        let record = f
            .block_on(async { f.store().get(incident).await })
            .expect("reading the incident");
        let status = record.as_ref().map(|r| r.status);
        // Enrich assessed it (an incident waiting for approval stays OPEN), or it moved on.
        if let Some(r) =
            record.filter(|r| r.assessment.is_some() || r.status != IncidentStatus::Open)
        {
            return r;
        }
        if Instant::now() >= deadline {
            panic!(
                "incident {incident} never handled ({status:?}); the executions: {:#?}",
                executions()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `scenario` and returns the target and the one incident it opened, handled.
fn run(scenario: &str, rule: &str) -> (String, cordon_aws::incidents::IncidentRecord) {
    let done = simulate(scenario);
    assert_eq!(done["scenario"], scenario, "{done}");
    assert_eq!(done["rule"], rule, "{done}");
    assert_eq!(done["eventIds"].as_array().map(Vec::len), Some(1), "{done}");
    let incidents = done["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 1, "{done}");
    assert_eq!(incidents[0]["rule"], rule, "{done}");
    let id = incidents[0]["incidentId"].as_str().expect("an incident id");
    let record = handled(id);
    assert_eq!(record.rule.as_deref(), Some(rule), "{id}");
    assert_ne!(
        record.status,
        IncidentStatus::Failed,
        "{id}: {:?}",
        record.error
    );
    let target = done["target"].as_str().unwrap_or_default().to_string();
    (target, record)
}

/// Every execution of the incident state machine and where it got to (for a failure's
/// message).
fn executions() -> Vec<(String, cordon::local::Progress)> {
    let f = fixture();
    f.block_on(async {
        let listed = f
            .stack
            .sfn_client
            .list_executions()
            .state_machine_arn(&f.stack.state_machine_arn)
            .send()
            .await
            .expect("listing the executions");
        let mut out = Vec::new();
        for e in listed.executions() {
            let progress = f.stack.progress(e.execution_arn()).await.expect("progress");
            out.push((e.name().to_string(), progress));
        }
        out
    })
}

fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&fixture().stack.sdk)
}

#[test]
fn simulate_admin_policy_attach_really_attaches_it_and_opens_its_incident() {
    let (user, record) = run("admin-policy-attach", "iam.admin-policy-attached");
    let principal = record.principal.expect("a principal");
    assert_eq!(principal.name.as_deref(), Some(user.as_str()));
    let attached = fixture()
        .block_on(iam().list_attached_user_policies().user_name(&user).send())
        .expect("listing the user's policies");
    assert!(
        attached
            .attached_policies()
            .iter()
            .any(|p| p.policy_name() == Some("AdministratorAccess")),
        "{attached:?}"
    );
}

#[test]
fn simulate_access_key_for_other_user_mints_a_real_key() {
    let (user, record) = run("access-key-for-other-user", "iam.access-key-for-other-user");
    assert_eq!(
        record.principal.and_then(|p| p.name).as_deref(),
        Some(user.as_str())
    );
    let keys = fixture()
        .block_on(iam().list_access_keys().user_name(&user).send())
        .expect("listing the user's keys");
    assert_eq!(keys.access_key_metadata().len(), 1, "{keys:?}");
    let minted = record
        .detection
        .and_then(|d| d.evidence.get("newAccessKeyId").cloned())
        .or_else(|| {
            record
                .event
                .as_ref()
                .map(|e| e["detail"]["responseElements"]["accessKey"]["accessKeyId"].clone())
        })
        .expect("the minted key in the incident");
    assert_eq!(
        minted.as_str(),
        keys.access_key_metadata()[0].access_key_id(),
        "the event names the key IAM minted"
    );
}

#[test]
fn simulate_mfa_deactivated_really_removes_the_device() {
    let (user, _) = run("mfa-deactivated", "iam.mfa-deactivated");
    let devices = fixture()
        .block_on(iam().list_mfa_devices().user_name(&user).send())
        .expect("listing the user's MFA devices");
    assert!(devices.mfa_devices().is_empty(), "{devices:?}");
}

#[test]
fn simulate_an_event_only_scenario_still_reaches_the_workflow() {
    let done = simulate("trail-stopped");
    assert_eq!(done["performed"], false, "{done}");
    let id = done["incidents"][0]["incidentId"]
        .as_str()
        .expect("an incident");
    let record = handled(id);
    assert_eq!(record.rule.as_deref(), Some("cloudtrail.logging-stopped"));
}

#[test]
fn simulate_list_describes_every_scenario() {
    let list = fixture().json(&["simulate", "--list"]);
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), cordon::simulate::SCENARIOS.len());
    for scenario in cordon::simulate::SCENARIOS {
        let entry = list
            .iter()
            .find(|s| s["name"] == scenario.name)
            .unwrap_or_else(|| panic!("{} is not listed", scenario.name));
        assert_eq!(entry["rule"], scenario.rule);
        assert_eq!(entry["performed"], scenario.perform.is_some());
        assert!(entry["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let text = fixture().ok(&["simulate", "--list"]);
    assert!(
        text.contains("password-spray") && text.contains("event only"),
        "{text}"
    );
    let err = fixture().fails(&["simulate", "no-such-attack"]);
    assert!(
        err.contains("no-such-attack") && err.contains("admin-to-role"),
        "{err}"
    );
}

#[test]
fn simulate_refuses_a_remote_endpoint() {
    let f = fixture();
    let out = std::process::Command::new(&f.bin)
        .args(["simulate", "admin-policy-attach"])
        .envs(f.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_ENDPOINT_URL", "https://iam.amazonaws.com")
        .output()
        .expect("running cordon");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
}

#[test]
fn simulate_needs_the_stacks_delivery_token() {
    let missing = std::env::temp_dir().join(cordon_aws::testing::unique("no-token"));
    let missing = missing.to_string_lossy().into_owned();
    let err = fixture().fails(&[
        "simulate",
        "admin-policy-attach",
        "--events-endpoint",
        events_endpoint(),
        "--delivery-token-file",
        &missing,
    ]);
    assert!(
        err.contains(&missing) && err.contains("cordon local up"),
        "{err}"
    );
    // A wrong token is refused by the stack.
    let wrong = std::env::temp_dir().join(cordon_aws::testing::unique("wrong-token"));
    std::fs::write(&wrong, "not-the-token").expect("a file");
    let err = fixture().fails(&[
        "simulate",
        "admin-policy-attach",
        "--events-endpoint",
        events_endpoint(),
        "--delivery-token-file",
        &wrong.to_string_lossy(),
    ]);
    assert!(err.contains("AccessDeniedException"), "{err}");
}
