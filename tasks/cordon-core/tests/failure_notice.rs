//! The failure notification: it names the incident and the failed step, says where the
//! response stands, and which recovery applies, with or without a detection.
mod common;

use cordon_core::classify::{Classification, classify};
use cordon_core::event::EventEssentials;
use cordon_core::model::CaughtError;
use cordon_core::notify::{
    FailureReport, MAX_SUBJECT_LEN, NotificationContext, NotificationKind, render,
};
use cordon_core::{Detection, ResponsePolicy};

const EXECUTION: &str = "arn:aws:states:us-east-1:111122223333:execution:cordon-incident:ex-1";
const MACHINE: &str = "arn:aws:states:us-east-1:111122223333:stateMachine:cordon-incident";
const POLICY: &str = "arn:aws:iam::111122223333:policy/cordon-AutomatedSecurityQuarantine";

fn incident(name: &str) -> Detection {
    match classify(&common::shared(name), &common::home()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{name}: {other:?}"),
    }
}

fn report(step: &str, error: &str, cause: &str) -> FailureReport {
    FailureReport {
        step: step.into(),
        error: CaughtError::new(error, cause),
        execution_arn: Some(EXECUTION.into()),
        state_machine_arn: Some(MACHINE.into()),
        quarantine_policy_arn: Some(POLICY.into()),
    }
}

fn with_detection(d: &Detection, report: FailureReport) -> NotificationContext {
    NotificationContext {
        incident_id: d.incident_id.clone(),
        detection: Some(d.clone()),
        assessment: Some(ResponsePolicy::default().assess(
            d,
            None,
            &cordon_core::policy::TrustedIds::none(),
        )),
        error: Some(report.error.summary()),
        failure: Some(report),
        ..Default::default()
    }
}

fn section<'a>(body: &'a str, title: &str) -> &'a str {
    let start = body
        .find(&format!("\n{title}\n"))
        .unwrap_or_else(|| panic!("no {title} section in:\n{body}"));
    let rest = &body[start + title.len() + 2..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn a_failure_names_the_incident_the_step_and_what_to_do() {
    let d = incident("iam-create-user-by-iam-user.json");
    let user = d
        .principal
        .as_ref()
        .and_then(|p| p.name.clone())
        .expect("a target user");
    let ctx = with_detection(
        &d,
        report(
            "Quarantine",
            "Cordon.AwsError",
            r#"{"errorMessage":"AWS call iam:AttachUserPolicy failed (AccessDenied): not authorized","errorType":"Cordon.AwsError"}"#,
        ),
    );
    let n = render(NotificationKind::Failure, &ctx);
    assert!(n.subject.contains("FAILED at Quarantine"), "{}", n.subject);
    assert!(n.subject.len() <= MAX_SUBJECT_LEN);
    assert!(n.body.contains(&format!("Incident:    {}", d.incident_id)));
    assert!(n.body.contains("Failed step: Quarantine"));
    assert!(
        n.body
            .contains("Cordon.AwsError: AWS call iam:AttachUserPolicy failed (AccessDenied)"),
        "the error is unwrapped from the Lambda cause:\n{}",
        n.body
    );
    let stands = section(&n.body, "WHERE IT STANDS");
    assert!(stands.contains("part-way"), "{stands}");
    let todo = section(&n.body, "WHAT TO DO NOW");
    assert!(
        todo.contains(&format!(
            "aws iam attach-user-policy --user-name {user} --policy-arn {POLICY}"
        )),
        "containing by hand is spelled out:\n{todo}"
    );
    assert!(
        todo.contains("fix its policy"),
        "AccessDenied: the policy:\n{todo}"
    );
    assert!(
        todo.contains(&format!("--state-machine-arn {MACHINE}"))
            && todo.contains(&format!("--execution-arn {EXECUTION} --query input")),
        "the replay command is complete:\n{todo}"
    );
    assert!(todo.contains("Do not redrive"), "{todo}");
    assert_eq!(
        n.attributes.get("kind").map(String::as_str),
        Some("failure")
    );
    assert_eq!(
        n.attributes.get("incident_id"),
        Some(&d.incident_id),
        "subscribers can filter on the incident"
    );
}

#[test]
fn a_failure_after_containment_says_the_user_is_contained() {
    let d = incident("iam-create-user-by-iam-user.json");
    let n = render(
        NotificationKind::Failure,
        &with_detection(
            &d,
            report(
                "Tag",
                "Cordon.Transient",
                "transient failure in iam:TagUser: ServiceUnavailable",
            ),
        ),
    );
    let stands = section(&n.body, "WHERE IT STANDS");
    assert!(stands.contains("IS quarantined"), "{stands}");
    let todo = section(&n.body, "WHAT TO DO NOW");
    assert!(!todo.contains("attach-user-policy"), "{todo}");
    assert!(todo.contains("every retry"), "{todo}");
}

#[test]
fn a_configuration_error_says_to_fix_the_parameter() {
    let d = incident("iam-create-user-by-iam-user.json");
    let n = render(
        NotificationKind::Failure,
        &with_detection(
            &d,
            report(
                "Enrich",
                "Cordon.Config",
                "configuration error: CORDON_RESPONSE_POLICY is not a valid response policy",
            ),
        ),
    );
    assert!(n.body.contains("CORDON_RESPONSE_POLICY"));
    let todo = section(&n.body, "WHAT TO DO NOW");
    assert!(
        todo.contains("EnrichFunction") && todo.contains("redeploy"),
        "{todo}"
    );
    assert!(todo.contains("has NOT contained"), "{todo}");
}

#[test]
fn without_a_detection_the_raw_event_tells_what_happened() {
    let raw = common::shared("iam-create-user-by-iam-user.json");
    let essentials = EventEssentials::from_event(&raw);
    let event_id = essentials.event_id.clone().expect("an eventID");
    let ctx = NotificationContext {
        incident_id: cordon_core::incident::incident_id_for_raw_event(&raw),
        event: Some(essentials.clone()),
        error: Some("Cordon.AwsError: table not found".into()),
        failure: Some(report("OpenIncident", "Cordon.AwsError", "table not found")),
        ..Default::default()
    };
    let n = render(NotificationKind::Failure, &ctx);
    assert!(
        n.subject.contains("FAILED at OpenIncident") && n.subject.contains("CreateUser"),
        "{}",
        n.subject
    );
    let happened = section(
        &n.body,
        "WHAT HAPPENED (from the raw event; it was not classified)",
    );
    for value in [
        Some(&event_id),
        essentials.event_name.as_ref(),
        essentials.actor.as_ref(),
        essentials.target.as_ref(),
        essentials.time.as_ref(),
    ] {
        let value = value.expect("the fixture has it");
        assert!(happened.contains(value.as_str()), "{value} in:\n{happened}");
    }
    let todo = section(&n.body, "WHAT TO DO NOW");
    assert!(todo.contains("has NOT contained anyone"), "{todo}");
    let actions = section(&n.body, "RECOMMENDED ACTIONS");
    assert!(
        actions.contains(&format!("AttributeValue={event_id}")),
        "{actions}"
    );
    assert!(
        !actions.contains("rejected"),
        "not the rejected-event advice"
    );
}
