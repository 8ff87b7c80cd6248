//! `cordon classify` and `cordon rules test | list`, run as the operator runs them: the
//! decisions and matches checked against the classifier and the template's rules read
//! here independently (cordon-core, cordon-eventbridge, cordon-template).
use std::io::Write;
use std::process::{Command, Output, Stdio};

use cordon_tests::{FIXTURE_ACCOUNT, fixture_events, stack_values, template, workspace_root};
use serde_json::{Value, json};

use crate::fixture::fixture;

/// One fixture event by file name.
fn event(name: &str) -> Value {
    fixture_events()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

/// `cordon <args>` from the workspace root, with `stdin`, without the variables these
/// commands read unless `env` sets them.
fn cordon(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let f = fixture();
    let mut command = Command::new(&f.bin);
    command
        .args(args)
        .current_dir(workspace_root())
        .env_remove("CORDON_ACCOUNT_ID")
        .env_remove("CORDON_RESPONSE_POLICY")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("running cordon");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    child.wait_with_output().expect("cordon's output")
}

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn classify(name: &str, account: &str) -> (Value, Option<i32>) {
    let out = cordon(
        &["classify", "-", "--account", account],
        &event(name).to_string(),
        &[],
    );
    (stdout_json(&out), out.status.code())
}

#[test]
fn classify_prints_an_incident_with_who_and_how_bad() {
    let (d, code) = classify("iam-create-user-by-iam-user.json", FIXTURE_ACCOUNT);
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(d["incident"], true, "{d}");
    assert_eq!(d["rule"], "iam.user-created");
    assert_eq!(d["principal"]["name"], "support-admin");
    assert_eq!(d["actor"]["name"], "jdoe");
    // The severity the default response policy gives the detection before enrich.
    let home = cordon_core::model::AccountId::parse(FIXTURE_ACCOUNT).expect("account");
    let Ok(cordon_core::Classification::Incident(detection)) =
        cordon_core::classify(&event("iam-create-user-by-iam-user.json"), &home)
    else {
        panic!("the fixture is an incident");
    };
    let expected = cordon_core::ResponsePolicy::default().assess(
        &detection,
        None,
        &cordon_core::policy::TrustedIds::none(),
    );
    assert_eq!(d["severity"], json!(expected.severity), "{d}");
    assert_eq!(d["disposition"], json!(expected.disposition), "{d}");
    assert!(
        d["reason"]
            .as_str()
            .is_some_and(|r| r.contains("support-admin")),
        "{d}"
    );
    assert!(
        d["incidentId"].as_str().is_some_and(|i| !i.is_empty()),
        "{d}"
    );

    // The response policy file sets the severity.
    let dir = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-classify"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let policy_file = dir.join("policy.json");
    std::fs::write(
        &policy_file,
        json!({"rules": {"iam.user-created": {"severity": "critical"}}}).to_string(),
    )
    .expect("writing the policy");
    let event_file = dir.join("event.json");
    std::fs::write(
        &event_file,
        event("iam-create-user-by-iam-user.json").to_string(),
    )
    .expect("writing the event");
    let out = cordon(
        &[
            "classify",
            event_file.to_str().expect("path"),
            "--response-policy",
            policy_file.to_str().expect("path"),
        ],
        "",
        &[("CORDON_ACCOUNT_ID", FIXTURE_ACCOUNT)],
    );
    let d = stdout_json(&out);
    assert_eq!(out.status.code(), Some(0), "{d}");
    assert_eq!(d["severity"], "critical", "{d}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classify_says_why_an_event_is_not_an_incident() {
    let (d, code) = classify("iam-create-access-key-self.json", FIXTURE_ACCOUNT);
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(d["incident"], false, "{d}");
    assert_eq!(d["rule"], Value::Null);
    assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()), "{d}");
    let (d, code) = classify("scheduled-daily-audit-trigger.json", FIXTURE_ACCOUNT);
    assert_eq!(code, Some(0), "{d}");
    assert_eq!(d["incident"], false, "{d}");
    assert_eq!(d["rule"], "audit.scheduled-mfa", "{d}");
}

#[test]
fn classify_rejects_malformed_and_foreign_events_with_exit_code_3() {
    for name in [
        "malformed-missing-detail.json",
        "malformed-detail-not-object.json",
        "malformed-missing-user-identity.json",
    ] {
        let (d, code) = classify(name, FIXTURE_ACCOUNT);
        assert_eq!(code, Some(3), "{name}: {d}");
        assert_eq!(d["incident"], "reject", "{name}: {d}");
        assert_eq!(d["error"], "Cordon.InvalidEvent", "{name}: {d}");
    }
    // Another account's event is rejected for its account.
    let (d, code) = classify("iam-create-user-by-iam-user.json", "444455556666");
    assert_eq!(code, Some(3), "{d}");
    assert_eq!(d["incident"], "reject", "{d}");
    // Not JSON at all.
    let out = cordon(
        &["classify", "-", "--account", FIXTURE_ACCOUNT],
        "{not json",
        &[],
    );
    let d = stdout_json(&out);
    assert_eq!(out.status.code(), Some(3), "{d}");
    assert_eq!(d["incident"], "reject", "{d}");
}

#[test]
fn classify_without_a_home_account_says_how_to_give_one() {
    let out = cordon(
        &["classify", "-"],
        &event("iam-delete-user.json").to_string(),
        &[],
    );
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(3), "nothing was classified");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CORDON_ACCOUNT_ID"), "{err}");
    let out = cordon(
        &["classify", "-", "--account", "12345"],
        &event("iam-delete-user.json").to_string(),
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("12345"));
}

/// The template's rules, as a stack in the fixtures' account deploys them.
fn template_rules() -> cordon_eventbridge::Rules {
    let template = template();
    let values = stack_values(&template, FIXTURE_ACCOUNT, "us-east-1");
    cordon_eventbridge::Rules::from_template(&template, &values).expect("the template's rules")
}

fn rules_test(pattern: &str, event: &str) -> Output {
    let dir = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-rules-test"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join("pattern.json");
    std::fs::write(&path, pattern).expect("writing the pattern");
    let out = cordon(
        &[
            "rules",
            "test",
            "--pattern",
            path.to_str().expect("path"),
            "--event",
            "-",
            "--output",
            "json",
        ],
        event,
        &[],
    );
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn rules_test_answers_like_test_event_pattern_with_the_templates_patterns() {
    let rules = template_rules();
    let iam = rules
        .rules
        .iter()
        .find(|r| r.logical_id == "IamChangeRule")
        .expect("IamChangeRule");
    let pattern = iam.pattern.source().to_string();
    for (name, expected) in [
        ("iam-create-user-by-iam-user.json", true),
        ("iam-create-user-access-denied.json", false),
        ("cloudtrail-stop-logging.json", false),
    ] {
        let e = event(name);
        assert_eq!(iam.pattern.matches(&e), expected, "the matcher on {name}");
        let out = rules_test(&pattern, &e.to_string());
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert_eq!(stdout_json(&out), json!({"Result": expected}), "{name}");
    }
    // Plain output: true or false; the pattern may come on stdin.
    let dir = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-rules-plain"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let event_file = dir.join("event.json");
    std::fs::write(&event_file, event("iam-delete-user.json").to_string()).expect("writing");
    let event_path = event_file.to_str().expect("path");
    for (pattern, expected) in [
        (r#"{"detail": {"eventName": ["DeleteUser"]}}"#, "true\n"),
        (
            r#"{"detail": {"eventName": [{"prefix": "Create"}]}}"#,
            "false\n",
        ),
    ] {
        let out = cordon(
            &["rules", "test", "--pattern", "-", "--event", event_path],
            pattern,
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{pattern}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{pattern}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rules_test_refuses_an_invalid_pattern_or_event_as_eventbridge_does() {
    let e = event("iam-create-user-by-iam-user.json").to_string();
    for pattern in [
        r#"{"source": "aws.iam"}"#,
        r#"{"detail": {}}"#,
        r#"{"source": [{"prefix": 1}]}"#,
        "not json",
    ] {
        let out = rules_test(pattern, &e);
        assert_eq!(out.status.code(), Some(254), "{pattern}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("InvalidEventPatternException")
                && err.contains("Event pattern is not valid. Reason:"),
            "{pattern}: {err}"
        );
        assert!(out.stdout.is_empty(), "{pattern}");
    }
    let mut missing = event("iam-create-user-by-iam-user.json");
    missing
        .as_object_mut()
        .expect("object")
        .remove("detail-type");
    let out = rules_test(r#"{"source": ["aws.iam"]}"#, &missing.to_string());
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Parameter Event is not valid."));
}

#[test]
fn rules_list_names_every_template_rule_and_the_rule_ids_it_feeds() {
    let out = cordon(&["rules", "list", "--output", "json"], "", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = stdout_json(&out);
    let listed = listed["rules"].as_array().expect("rules");
    let rules = template_rules();
    let ids_of = |logical_id: &str| -> Vec<String> {
        let row = listed
            .iter()
            .find(|r| r["rule"] == logical_id)
            .unwrap_or_else(|| panic!("{logical_id} is not listed: {listed:?}"));
        row["ruleIds"]
            .as_array()
            .expect("ruleIds")
            .iter()
            .map(|v| v.as_str().expect("a rule id").to_string())
            .collect()
    };
    for rule in &rules.rules {
        assert!(
            !ids_of(&rule.logical_id).is_empty(),
            "{} feeds nothing",
            rule.logical_id
        );
    }
    for schedule in &rules.schedules {
        assert!(
            ids_of(&schedule.logical_id).contains(&"audit.mfa-missing".to_string()),
            "{}",
            schedule.logical_id
        );
    }
    assert_eq!(listed.len(), rules.rules.len() + rules.schedules.len());
    // Each fixture's incident is fed by the rule that routes it.
    let home = cordon_core::model::AccountId::parse(FIXTURE_ACCOUNT).expect("account");
    let home = cordon_core::classify::Home::new(home).with_stack("cordon");
    for (name, e) in fixture_events() {
        let Ok(cordon_core::Classification::Incident(d)) =
            cordon_core::classify::classify_in(&e, &home)
        else {
            continue;
        };
        for rule in cordon_eventbridge::route(&rules.rules, &e) {
            assert!(
                ids_of(&rule.logical_id).contains(&d.rule),
                "{name}: {} routes {} but is not listed as feeding it",
                rule.logical_id,
                d.rule
            );
        }
    }
    // Every incident rule is fed by some rule.
    let all: std::collections::BTreeSet<String> = listed
        .iter()
        .flat_map(|r| r["ruleIds"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for rule in cordon_core::classify::rules::INCIDENT_RULES {
        assert!(all.contains(*rule), "no rule feeds {rule}");
    }
    // The table names them too; a missing template is said.
    let table = cordon(&["rules", "list"], "", &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("IamChangeRule") && text.contains("iam.user-created"),
        "{text}"
    );
    let out = cordon(
        &["rules", "list", "--template", "no/such/template.yaml"],
        "",
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/template.yaml"));
}
