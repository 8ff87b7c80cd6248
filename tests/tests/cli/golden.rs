//! Golden tests of the table and text renderings: fixed incidents and a fixed execution,
//! rendered and compared with `golden/*.txt`. After an intended change, regenerate them
//! with `CORDON_UPDATE_GOLDEN=1 cargo test --workspace --test cli golden` and review the
//! diff.
use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use cordon::commands::graph::{model, text as graph_text};
use cordon::commands::incidents::render;
use cordon::commands::incidents::view::{IncidentDetail, IncidentSummary};
use cordon_aws::incidents::{IncidentRecord, TimelineEntry};
use cordon_core::model::{
    Actor, Assessment, Detection, Disposition, IncidentStatus, Principal, PrincipalKind, Severity,
    Snapshot, VerifiedIdentity,
};
use cordon_core::release::{ReleaseRecord, ReleaseVia, ReleasedBy, Restored};
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/golden")
        .join(name);
    if std::env::var_os("CORDON_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("golden dir");
        std::fs::write(&path, actual).expect("writing the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with CORDON_UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from its golden file {}:\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn principal() -> Principal {
    Principal {
        kind: PrincipalKind::IamUser,
        name: Some("support-admin".into()),
        arn: Some("arn:aws:iam::123456789012:user/support-admin".into()),
        account_id: Some("123456789012".into()),
        principal_id: Some("AIDAEXAMPLEBACKDOOR".into()),
    }
}

fn actor() -> Actor {
    Actor {
        kind: PrincipalKind::IamUser,
        arn: Some("arn:aws:iam::123456789012:user/jdoe".into()),
        name: Some("jdoe".into()),
        principal_id: Some("AIDAEXAMPLEJDOE".into()),
        account_id: Some("123456789012".into()),
        access_key_id: Some("AKIAEXAMPLE".into()),
        session_issuer_arn: None,
        mfa_authenticated: Some(false),
    }
}

fn record(id: &str, status: IncidentStatus, opened: &str) -> IncidentRecord {
    let mut r = IncidentRecord::bare(id, status, at(opened));
    r.rule = Some("iam.user-created".into());
    r.title = Some("IAM user support-admin created by jdoe".into());
    r.severity = Some(Severity::High);
    r.disposition = Some(Disposition::Approve);
    r.principal = Some(principal());
    r.actor = Some(actor());
    r.execution_arn = Some(format!(
        "arn:aws:states:us-east-1:123456789012:execution:cordon-incident:{id}"
    ));
    r
}

fn full_incident() -> (IncidentRecord, Vec<TimelineEntry>) {
    let id = "ct-6b1e0a7e-1f2d-4c3b-9a8e-0d1c2b3a4f5e";
    let mut r = record(id, IncidentStatus::Released, "2024-09-27T14:06:00.123Z");
    r.updated_at = Some(at("2024-09-27T15:30:00Z"));
    r.closed_at = Some(at("2024-09-27T14:09:00Z"));
    r.detection = Some(Detection {
        incident_id: id.into(),
        rule: "iam.user-created".into(),
        title: "IAM user support-admin created by jdoe".into(),
        event_id: "6b1e0a7e-1f2d-4c3b-9a8e-0d1c2b3a4f5e".into(),
        event_name: "CreateUser".into(),
        event_source: "iam.amazonaws.com".into(),
        event_time: at("2024-09-27T14:05:58Z"),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        principal: Some(principal()),
        inspect: None,
        actor: actor(),
        source_ip: Some("198.51.100.23".into()),
        user_agent: Some("aws-cli/2.17.0".into()),
        evidence: BTreeMap::from([("userName".into(), json!("support-admin"))]),
        root_activity: false,
    });
    r.assessment = Some(Assessment {
        severity: Severity::High,
        disposition: Disposition::Approve,
        reasons: vec!["rule iam.user-created: a new IAM user".into()],
        actor_allowlisted: false,
        containable: true,
        protected_reason: None,
    });
    r.snapshot = Some(Snapshot {
        user_name: "support-admin".into(),
        user_arn: "arn:aws:iam::123456789012:user/support-admin".into(),
        user_id: Some("AIDAEXAMPLESUPPORT".into()),
        taken_at: at("2024-09-27T14:08:30Z"),
        attached_policy_arns: vec![],
        active_access_key_ids: vec!["AKIAEXAMPLEKEY1".into()],
        inactive_access_key_ids: vec![],
        login_profile: false,
        mfa_devices: vec![],
        groups: vec!["admins".into()],
        inline_policies: vec![],
        cordon_tags: BTreeMap::new(),
    });
    r.snapshot_at = Some(at("2024-09-27T14:08:30Z"));
    r.release = Some(ReleaseRecord {
        released_at: at("2024-09-27T15:30:00Z"),
        released_by: ReleasedBy {
            name: None,
            ip: None,
            user_agent: Some("cordon-cli/0.0.0".into()),
            via: ReleaseVia::Cli,
            verified: Some(VerifiedIdentity {
                method: "aws".into(),
                issuer: "aws:sts".into(),
                subject: "arn:aws:iam::123456789012:user/alice".into(),
                email: None,
                name: None,
            }),
        },
        reason: Some("false positive: OPS-42".into()),
        user_deleted: false,
        restored: Restored {
            policy_detached: Some(
                "arn:aws:iam::123456789012:policy/AutomatedSecurityQuarantine".into(),
            ),
            policies_detached: vec![
                "arn:aws:iam::123456789012:policy/AutomatedSecurityQuarantine".into(),
            ],
            reactivated_keys: vec![],
            tags_removed: vec!["SecurityStatus".into()],
            tags_restored: BTreeMap::new(),
        },
        manual_actions: vec![],
        drift: vec![],
    });
    let timeline = vec![
        TimelineEntry {
            at: at("2024-09-27T14:06:00.123Z"),
            step: "OpenIncident".into(),
            message: "opened".into(),
            details: None,
        },
        TimelineEntry {
            at: at("2024-09-27T14:08:29Z"),
            step: "Approval".into(),
            message: "decision: approve".into(),
            details: Some(json!({
                "decision": "approve",
                "approvalId": "0123456789abcdef0123456789abcdef",
                "decidedBy": {
                    "ip": null,
                    "userAgent": "cordon-cli/0.0.0",
                    "name": "arn:aws:iam::123456789012:user/bob",
                    "verified": {
                        "method": "aws",
                        "issuer": "aws:sts",
                        "subject": "arn:aws:iam::123456789012:user/bob"
                    }
                },
                "decidedAt": "2024-09-27T14:08:29.000Z"
            })),
        },
        TimelineEntry {
            at: at("2024-09-27T14:08:31Z"),
            step: "Quarantine".into(),
            message: "deny-all policy attached".into(),
            details: None,
        },
    ];
    (r, timeline)
}

#[test]
fn incidents_list_table() {
    let incidents: Vec<IncidentSummary> = [
        record(
            "ct-6b1e0a7e-1f2d-4c3b-9a8e-0d1c2b3a4f5e",
            IncidentStatus::Contained,
            "2024-09-27T14:06:00Z",
        ),
        record(
            "ct-0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b",
            IncidentStatus::AwaitingApproval,
            "2024-09-27T13:01:12Z",
        ),
        IncidentRecord::bare(
            "rej-1c2d3e4f",
            IncidentStatus::Rejected,
            at("2024-09-27T12:00:00Z"),
        ),
    ]
    .iter()
    .map(IncidentSummary::of)
    .collect();
    golden("incidents-list.txt", &render::list_table(&incidents, None));
    golden(
        "incidents-list-80.txt",
        &render::list_table(&incidents, Some(80)),
    );
    golden(
        "incidents-list-40.txt",
        &render::list_table(&incidents, Some(40)),
    );
}

#[test]
fn incidents_show_text() {
    let (r, timeline) = full_incident();
    golden(
        "incidents-show.txt",
        &render::show_text(&IncidentDetail::of(&r, timeline)),
    );
}

#[test]
fn graph_text() {
    let definition = cordon_tests::incident_asl();
    let t = |s: &str| at(s);
    use model::Step::*;
    let steps = vec![
        Entered {
            state: "OpenIncident".into(),
            at: t("2024-09-27T14:06:00.000Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:00.010Z"),
        },
        Exited {
            state: "OpenIncident".into(),
            at: t("2024-09-27T14:06:00.150Z"),
        },
        Entered {
            state: "IsNewIncident".into(),
            at: t("2024-09-27T14:06:00.150Z"),
        },
        Exited {
            state: "IsNewIncident".into(),
            at: t("2024-09-27T14:06:00.151Z"),
        },
        Entered {
            state: "Enrich".into(),
            at: t("2024-09-27T14:06:00.151Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:00.160Z"),
        },
        AttemptFailed {
            error: "Cordon.Transient".into(),
            cause: "{\"errorMessage\":\"Throttling\"}".into(),
            at: t("2024-09-27T14:06:00.300Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:02.300Z"),
        },
        Exited {
            state: "Enrich".into(),
            at: t("2024-09-27T14:06:02.500Z"),
        },
        Entered {
            state: "Route".into(),
            at: t("2024-09-27T14:06:02.500Z"),
        },
        Exited {
            state: "Route".into(),
            at: t("2024-09-27T14:06:02.501Z"),
        },
        Entered {
            state: "Quarantine".into(),
            at: t("2024-09-27T14:06:02.501Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:02.510Z"),
        },
        AttemptFailed {
            error: "Cordon.Aws".into(),
            cause: "{\"errorMessage\":\"AccessDenied: iam:AttachUserPolicy\"}".into(),
            at: t("2024-09-27T14:06:03.000Z"),
        },
        Entered {
            state: "QuarantineFailed".into(),
            at: t("2024-09-27T14:06:03.000Z"),
        },
        Exited {
            state: "QuarantineFailed".into(),
            at: t("2024-09-27T14:06:03.001Z"),
        },
        Entered {
            state: "NotifyFailure".into(),
            at: t("2024-09-27T14:06:03.001Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:03.010Z"),
        },
        Exited {
            state: "NotifyFailure".into(),
            at: t("2024-09-27T14:06:03.400Z"),
        },
        Entered {
            state: "RecordFailure".into(),
            at: t("2024-09-27T14:06:03.400Z"),
        },
        Scheduled {
            at: t("2024-09-27T14:06:03.410Z"),
        },
        Exited {
            state: "RecordFailure".into(),
            at: t("2024-09-27T14:06:03.600Z"),
        },
        Entered {
            state: "Failed".into(),
            at: t("2024-09-27T14:06:03.600Z"),
        },
        ExecutionFailed {
            error: "Cordon.Aws".into(),
            cause: "AccessDenied: iam:AttachUserPolicy".into(),
            at: t("2024-09-27T14:06:03.601Z"),
        },
    ];
    let graph = model::build(
        "arn:aws:states:us-east-1:123456789012:execution:cordon-incident:golden",
        "FAILED",
        &definition,
        &steps,
        t("2024-09-27T14:10:00Z"),
    );
    assert_eq!(
        graph.state("Enrich").map(|s| (s.status, s.retries)),
        Some((model::Status::Succeeded, 1))
    );
    assert_eq!(
        graph.state("Quarantine").map(|s| s.status),
        Some(model::Status::Caught)
    );
    assert_eq!(
        graph.state("Failed").map(|s| s.status),
        Some(model::Status::Failed)
    );
    assert_eq!(
        graph.state("Tag").map(|s| s.status),
        Some(model::Status::NotRun)
    );
    golden("graph.txt", &graph_text::render(&graph, None));
}
