//! The `cordon` operator CLI, every subcommand run as a separate process against the local
//! stack (moto, the engine, the real handlers), on incidents made by real workflow runs
//! (`fixture.rs`); golden renderings (`golden.rs`); the graph of a real execution as an
//! image (`graph_image.rs`); `classify` and `rules` (`inspect.rs`); attack scenarios end
//! to end (`simulate.rs`).
//!
//! Needs moto (`AWS_ENDPOINT_URL`, see `cordon_aws::testing::moto`); fails, never skips,
//! without it.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cordon_aws::incidents::IncidentStore;
use cordon_core::model::IncidentStatus;
use serde_json::Value;

mod fixture;
mod golden;
mod graph_image;
mod inspect;
mod simulate;

use fixture::fixture;

fn ids(list: &Value) -> Vec<String> {
    list["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["incidentId"].as_str().expect("an id").to_string())
        .collect()
}

#[test]
fn incidents_list_serves_every_filter_from_the_indexes() {
    let f = fixture();
    let i = &f.incidents;
    let all = f.json(&["incidents", "list", "--since", "1h"]);
    let listed = ids(&all);
    for id in [
        &i.ignored,
        &i.notified,
        &i.contained,
        &i.to_approve,
        &i.failed,
    ] {
        assert!(listed.contains(id), "{id} missing from {listed:?}");
    }
    // Newest first.
    let opened: Vec<&str> = all["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["openedAt"].as_str().expect("openedAt"))
        .collect();
    let mut sorted = opened.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(opened, sorted);

    let ignored = f.json(&["incidents", "list", "--status", "closed", "--since", "1h"]);
    assert!(ids(&ignored).contains(&i.ignored), "{ignored}");
    assert!(!ids(&ignored).contains(&i.notified), "{ignored}");
    let notified = f.json(&["incidents", "list", "--status", "NOTIFIED"]);
    assert_eq!(notified["incidents"][0]["status"], "NOTIFIED");
    assert!(ids(&notified).contains(&i.notified), "{notified}");

    let detail = f.json(&["incidents", "show", &i.contained]);
    let principal = detail["incident"]["principal"].as_str().expect("principal");
    let by_principal = f.json(&["incidents", "list", "--principal", principal]);
    assert_eq!(ids(&by_principal), vec![i.contained.clone()]);

    let by_rule = f.json(&[
        "incidents",
        "list",
        "--rule",
        "iam.user-created",
        "--since",
        "1h",
    ]);
    assert!(ids(&by_rule).contains(&i.contained));
    let none = f.json(&["incidents", "list", "--rule", "iam.no-such-rule"]);
    assert!(ids(&none).is_empty(), "{none}");
    let severity = detail["incident"]["severity"].as_str().expect("severity");
    let by_severity = f.json(&["incidents", "list", "--severity", severity, "--since", "1h"]);
    assert!(ids(&by_severity).contains(&i.contained));
    let other = if severity == "low" { "critical" } else { "low" };
    let by_other = f.json(&["incidents", "list", "--severity", other, "--since", "1h"]);
    assert!(!ids(&by_other).contains(&i.contained));
    let future = f.json(&["incidents", "list", "--until", "2000-01-01"]);
    assert!(ids(&future).is_empty(), "{future}");
}

#[test]
fn incidents_list_pages_without_losing_or_repeating_one() {
    let f = fixture();
    let all = ids(&f.json(&["incidents", "list", "--since", "1h", "--max-items", "500"]));
    assert!(all.len() >= 8, "{all:?}");
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args = vec!["incidents", "list", "--since", "1h", "--max-items", "3"];
        if let Some(t) = &token {
            args.extend(["--starting-token", t.as_str()]);
        }
        let page = f.json(&args);
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 3);
        paged.extend(page_ids);
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(paged.len() <= all.len() + 3, "pages never end: {paged:?}");
    }
    assert_eq!(paged, all);
    let token = token_of(f);
    let err = f.fails(&[
        "incidents",
        "list",
        "--status",
        "failed",
        "--starting-token",
        &token,
    ]);
    assert!(err.contains("other filters"), "{err}");
}

/// The token of the second page of a listing (for a query other than its own).
fn token_of(f: &fixture::Fixture) -> String {
    let page = f.json(&["incidents", "list", "--since", "1h", "--max-items", "1"]);
    page["nextToken"].as_str().expect("a next page").to_string()
}

#[test]
fn incidents_list_prints_a_table_that_fits() {
    let f = fixture();
    let out = f.cordon(&["incidents", "list", "--since", "1h"]).stdout;
    let text = String::from_utf8(out).expect("UTF-8");
    let header = text.lines().next().expect("a header");
    assert!(header.starts_with("INCIDENT"), "{text}");
    assert!(text.contains(&f.incidents.contained), "{text}");
    let mut narrow = Command::new(&f.bin);
    narrow
        .args(["incidents", "list", "--since", "1h"])
        .envs(f.env.iter().map(|(k, v)| (k, v)))
        .env("COLUMNS", "80");
    let text = String::from_utf8(narrow.output().expect("runs").stdout).expect("UTF-8");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
}

#[test]
fn incidents_show_says_what_happened_to_whom() {
    let f = fixture();
    let i = &f.incidents;
    let detail = f.json(&["incidents", "show", &i.contained]);
    assert_eq!(detail["incident"]["status"], "CONTAINED");
    assert_eq!(detail["incident"]["disposition"], "auto");
    assert_eq!(detail["detection"]["eventName"], "CreateUser");
    assert!(
        detail["assessment"]["reasons"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(detail["snapshot"]["userArn"].as_str().is_some(), "{detail}");
    let steps: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["step"].as_str())
        .collect();
    assert!(steps.contains(&"Quarantine"), "{steps:?}");
    let execution = detail["execution"]["arn"].as_str().expect("execution");
    assert!(execution.starts_with("arn:aws:states:"), "{execution}");
    assert!(
        detail["execution"]["consoleUrl"]
            .as_str()
            .is_some_and(|u| u.contains("/states/home?region=")),
        "{detail}"
    );

    let text = f.ok(&["incidents", "show", &i.contained]);
    for section in [
        "Incident ",
        "Detection",
        "Assessment",
        "Snapshot before containment",
        "Timeline",
        "Execution",
    ] {
        assert!(text.contains(section), "no {section}: {text}");
    }

    let err = f.fails(&[
        "incidents",
        "show",
        "ct-00000000-0000-0000-0000-000000000000",
    ]);
    assert!(err.contains("no incident ct-00000000"), "{err}");
    assert!(err.contains("what to do"), "{err}");
}

#[test]
fn approve_decides_once_as_the_verified_caller() {
    let f = fixture();
    let id = &f.incidents.to_approve;
    let out = f.ok(&["approve", id]);
    assert!(out.contains("approved"), "{out}");
    f.wait_for_status(id, IncidentStatus::Contained);
    let detail = f.json(&["incidents", "show", id]);
    let by = &detail["approval"]["decidedBy"];
    assert_eq!(detail["approval"]["decision"], "approve");
    assert_eq!(by["verified"]["method"], "aws", "{detail}");
    assert_eq!(by["verified"]["issuer"], "aws:sts", "{detail}");
    let caller = by["verified"]["subject"].as_str().unwrap_or_default();
    assert!(caller.starts_with("arn:aws:"), "{detail}");
    // Nothing typed: the name recorded is the verified caller.
    assert_eq!(by["name"], caller, "{detail}");
    // The same single-use path: a second decision, by either channel, is refused.
    let err = f.fails(&["reject", id]);
    assert!(err.contains("already decided: APPROVED"), "{err}");
    let link = f.block_on(async {
        use cordon_aws::links::LinkStore;
        cordon_aws::Aws::new(f.stack.sdk.clone())
            .link_store(f.stack.resources.table_name.clone())
            .find_for_incident(cordon_aws::links::LinkKind::Approval, id)
            .await
    });
    let link = link.expect("reads").expect("the approval link");
    assert_eq!(link.status, cordon_aws::links::LinkStatus::Approved);
    let err = f.fails(&["approve", &f.incidents.notified]);
    assert!(err.contains("never asked for approval"), "{err}");
}

#[test]
fn reject_dismisses_without_containment() {
    let f = fixture();
    let id = &f.incidents.to_reject;
    let out = f.ok(&["reject", id]);
    assert!(out.contains("rejected"), "{out}");
    f.wait_for_status(id, IncidentStatus::Dismissed);
    let detail = f.json(&["incidents", "show", id]);
    assert_eq!(detail["approval"]["decision"], "reject");
    assert!(detail["snapshot"].is_null(), "never contained: {detail}");
}

#[test]
fn release_restores_and_records_the_caller() {
    let f = fixture();
    let id = &f.incidents.to_release;
    // Without a terminal and without --yes, nothing happens.
    let err = f.fails(&["release", id]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(f.status(id), IncidentStatus::Contained);
    let out = f.ok(&["release", id, "--yes", "--reason", "false positive: OPS-1"]);
    assert!(!out.is_empty());
    assert_eq!(f.status(id), IncidentStatus::Released);
    let detail = f.json(&["incidents", "show", id]);
    let by = &detail["release"]["releasedBy"];
    assert_eq!(by["via"], "cli");
    assert_eq!(by["verified"]["method"], "aws", "{detail}");
    assert_eq!(detail["release"]["reason"], "false positive: OPS-1");
    let user = detail["snapshot"]["userName"]
        .as_str()
        .expect("user")
        .to_string();
    let attached = f.block_on(async {
        aws_sdk_iam::Client::new(&f.stack.sdk)
            .list_attached_user_policies()
            .user_name(&user)
            .send()
            .await
    });
    assert!(
        attached.expect("listing").attached_policies().is_empty(),
        "the quarantine policy is detached"
    );
    let again = f.ok(&["release", id, "--yes"]);
    assert!(again.contains("already released"), "{again}");
}

#[test]
fn replay_recovers_a_failed_incident_without_a_second_side_effect() {
    let f = fixture();
    let id = &f.incidents.failed;
    assert_eq!(f.status(id), IncidentStatus::Failed);
    assert_eq!(f.notifications(id, "failure"), 1);
    let out = f.ok(&["replay", id, "--wait"]);
    assert!(out.contains("execution SUCCEEDED"), "{out}");
    assert_eq!(f.status(id), IncidentStatus::Contained);
    assert_eq!(f.notifications(id, "contained"), 1);
    let record = f
        .block_on(async { f.store().get(id).await })
        .expect("reads")
        .expect("the incident");
    let snapshot_at = record.snapshot_at;
    let user = record.snapshot.expect("a snapshot").user_name;

    // Again: the incident is finished, so the replay is a Duplicate and does nothing.
    let out = f.ok(&["replay", id, "--wait"]);
    assert!(out.contains("execution SUCCEEDED"), "{out}");
    let after = f
        .block_on(async { f.store().get(id).await })
        .expect("reads")
        .expect("the incident");
    assert_eq!(after.status, IncidentStatus::Contained);
    assert_eq!(after.snapshot_at, snapshot_at, "the first snapshot is kept");
    assert_eq!(
        f.notifications(id, "contained"),
        1,
        "no second notification"
    );
    assert_eq!(f.notifications(id, "failure"), 1);
    let attached = f.block_on(async {
        aws_sdk_iam::Client::new(&f.stack.sdk)
            .list_attached_user_policies()
            .user_name(&user)
            .send()
            .await
    });
    // The deny-all policy and AWS's AWSDenyAll, each once.
    assert_eq!(
        attached.expect("listing").attached_policies().len(),
        2,
        "attached once"
    );
}

#[test]
fn redrive_resumes_where_the_execution_stopped_without_a_second_side_effect() {
    let f = fixture();
    let id = &f.incidents.stopped;
    let execution = &f.incidents.stopped_execution;
    // NotifyFailure told the team; RecordFailure could not record it.
    assert_eq!(f.notifications(id, "failure"), 1);
    assert_ne!(f.status(id), IncidentStatus::Failed);
    let out = f.ok(&["redrive", execution, "--wait"]);
    assert!(out.contains("execution FAILED"), "{out}");
    f.wait_for_status(id, IncidentStatus::Failed);
    assert_eq!(
        f.notifications(id, "failure"),
        1,
        "the failure is not announced twice"
    );
    // A finished execution cannot be redriven: the error says to replay instead.
    let contained = f.json(&["incidents", "show", &f.incidents.ignored]);
    let succeeded = contained["execution"]["arn"]
        .as_str()
        .expect("an execution");
    let err = f.fails(&["redrive", succeeded]);
    assert!(err.contains("cannot be redriven"), "{err}");
    assert!(err.contains("cordon replay"), "{err}");
}

#[test]
fn graph_prints_text_and_json() {
    let f = fixture();
    let text = f.ok(&["graph", &f.incidents.contained, "--format", "text"]);
    assert!(text.contains("✓ OpenIncident"), "{text}");
    assert!(text.contains("✓ Quarantine"), "{text}");
    assert!(text.contains("not run"), "{text}");
    let json = f.json(&["graph", &f.incidents.failed]);
    let state = |name: &str| {
        json["states"]
            .as_array()
            .expect("states")
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no state {name}"))
    };
    // The failed incident's first execution is the one it had before the replay, or the
    // replay itself; either way OpenIncident ran and succeeded.
    assert_eq!(state("OpenIncident")["status"], "succeeded");
}

#[test]
fn watch_follows_new_incidents_and_their_steps() {
    let f = fixture();
    let once = f.ok(&["watch", "--once", "--since", "1h", "--output", "json"]);
    let events: Vec<Value> = once
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "incident" && e["incidentId"] == f.incidents.contained.as_str())
    );
    assert!(events.iter().any(|e| e["type"] == "step"
        && e["incidentId"] == f.incidents.contained.as_str()
        && e["step"] == "Quarantine"));

    let mut child = Command::new(&f.bin)
        .args(["watch", "--interval", "1", "--output", "json"])
        .envs(f.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting watch");
    std::thread::sleep(Duration::from_secs(2));
    let new = f.block_on(fixture::new_incident(&f.stack));
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + fixture::WAIT;
    let (mut saw_incident, mut saw_step) = (false, false);
    while !(saw_incident && saw_step) && Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        let e: Value = serde_json::from_str(&line).expect("a JSON line");
        if e["incidentId"] == new.as_str() {
            saw_incident |= e["type"] == "incident";
            saw_step |= e["type"] == "step";
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        saw_incident && saw_step,
        "watch never showed {new} and a step of it"
    );
}

#[test]
fn export_writes_stable_columns() {
    let f = fixture();
    let csv = f.ok(&["incidents", "export", "--since", "1h", "--format", "csv"]);
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(
            cordon::commands::incidents::export_columns(false)
                .join(",")
                .as_str()
        )
    );
    assert!(csv.contains(&f.incidents.contained), "{csv}");
    let jsonl = f.ok(&[
        "incidents",
        "export",
        "--since",
        "1h",
        "--format",
        "jsonl",
        "--rows",
        "timeline",
    ]);
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        rows.iter().any(
            |r| r["incident_id"] == f.incidents.contained.as_str() && r["step"] == "Quarantine"
        )
    );
    for r in &rows {
        let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
        assert_eq!(keys, cordon::commands::incidents::export_columns(true));
    }
    let err = f.fails(&["incidents", "export", "--format", "csv"]);
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let f = fixture();
    for shell in ["bash", "zsh", "fish"] {
        let out = f.ok(&["completions", shell]);
        assert!(
            out.contains("incidents") && out.contains("starting-token"),
            "{shell}: {out}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let f = fixture();
    let dir = std::env::temp_dir().join(cordon_aws::testing::unique("cordon-pipe"));
    std::fs::create_dir_all(&dir).expect("a dir");
    let definition = dir.join("def.json");
    std::fs::write(
        &definition,
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"x":1},"End":true}}}"#,
    )
    .expect("write");
    let input = dir.join("input.json");
    std::fs::write(&input, "{}").expect("write");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "local".into(),
            "exec".into(),
            "--definition".into(),
            definition.display().to_string(),
            "--input".into(),
            input.display().to_string(),
        ],
        vec![
            "incidents".into(),
            "list".into(),
            "--since".into(),
            "1h".into(),
        ],
        vec!["completions".into(), "bash".into()],
    ];
    for args in cases {
        let mut child = Command::new(&f.bin)
            .args(&args)
            .envs(f.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting cordon");
        // The reader goes away before a byte is read, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("cordon ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert!(out.status.success(), "{args:?}: {} {stderr}", out.status);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_say_what_went_wrong_and_what_to_do() {
    let f = fixture();
    // A stack CloudFormation does not know (the exports describe another one).
    let err = f.fails(&["incidents", "list", "--stack", "no-such-cordon"]);
    assert!(
        err.contains("stack no-such-cordon does not exist in Region"),
        "{err}"
    );
    assert!(err.contains("--region"), "{err}");

    // No credentials, no Region.
    let nowhere = std::env::temp_dir().join("cordon-no-such-aws-config");
    let run_without = |drop_region: bool| {
        let mut c = Command::new(&f.bin);
        c.args(["incidents", "list"])
            .envs(f.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE");
        if drop_region {
            c.env_remove("AWS_REGION").env_remove("AWS_DEFAULT_REGION");
        }
        let out = c.output().expect("runs");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run_without(false);
    assert!(err.contains("no AWS credentials found"), "{err}");
    assert!(err.contains("aws sso login"), "{err}");
    let err = run_without(true);
    assert!(err.contains("no AWS Region"), "{err}");

    // A table that is not there (another Region's, a deleted stack's).
    let out = Command::new(&f.bin)
        .args(["incidents", "show", &f.incidents.contained])
        .envs(f.env.iter().map(|(k, v)| (k, v)))
        .env("CORDON_STACK_INCIDENT_TABLE_NAME", "cordon-no-such-table")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the incident table does not exist here"),
        "{err}"
    );
    assert!(err.contains("--region"), "{err}");

    // Incident not found, for every command that takes one.
    for command in ["approve", "reject", "replay", "graph"] {
        let err = f.fails(&[command, "ct-00000000-0000-0000-0000-000000000000"]);
        assert!(err.contains("no incident ct-00000000"), "{command}: {err}");
    }
    let err = f.fails(&[
        "release",
        "ct-00000000-0000-0000-0000-000000000000",
        "--yes",
    ]);
    assert!(err.contains("no incident ct-00000000"), "{err}");
}

#[test]
fn every_disposition_is_listed_with_its_final_status() {
    let f = fixture();
    let i = &f.incidents;
    for (id, status, disposition) in [
        (&i.ignored, IncidentStatus::Closed, "ignore"),
        (&i.notified, IncidentStatus::Notified, "notify"),
        (&i.contained, IncidentStatus::Contained, "auto"),
    ] {
        let detail = f.json(&["incidents", "show", id]);
        assert_eq!(detail["incident"]["status"], status.as_str(), "{detail}");
        assert_eq!(detail["incident"]["disposition"], disposition, "{detail}");
    }
    let record = f
        .block_on(async { f.store().get(&i.to_reject).await })
        .expect("reads")
        .expect("the incident");
    assert_eq!(record.disposition.map(|d| d.as_str()), Some("approve"));
}
