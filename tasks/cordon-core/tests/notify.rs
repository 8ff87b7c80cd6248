//! Notification rendering under friendly and hostile input.
mod common;

use cordon_core::classify::{Classification, classify};
use cordon_core::notify::{MAX_SUBJECT_LEN, NotificationContext, NotificationKind, render};
use cordon_core::{Detection, ResponsePolicy};

const KINDS: [NotificationKind; 7] = [
    NotificationKind::Alert,
    NotificationKind::ApprovalRequest,
    NotificationKind::Contained,
    NotificationKind::Dismissed,
    NotificationKind::Failure,
    NotificationKind::Rejected,
    NotificationKind::Released,
];

fn incident(name: &str) -> Detection {
    match classify(&common::shared(name), &common::home()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{name}: {other:?}"),
    }
}

fn ctx(d: &Detection) -> NotificationContext {
    NotificationContext {
        incident_id: d.incident_id.clone(),
        detection: Some(d.clone()),
        assessment: Some(ResponsePolicy::default().assess(
            d,
            None,
            &cordon_core::policy::TrustedIds::none(),
        )),
        approval_url: Some(
            "https://abc.lambda-url.us-east-1.on.aws/approve/5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f"
                .into(),
        ),
        release_url: Some("https://abc.lambda-url.us-east-1.on.aws/release/ct-1".into()),
        ..Default::default()
    }
}

fn assert_subject_ok(s: &str) {
    assert!(!s.is_empty());
    assert!(
        s.len() <= MAX_SUBJECT_LEN && s.len() <= 100,
        "{} chars: {s}",
        s.len()
    );
    assert!(
        s.chars().all(|c| (' '..='~').contains(&c)),
        "non-printable: {s:?}"
    );
    assert!(!s.starts_with(' '));
}

#[test]
fn subjects_are_short_printable_ascii_for_every_fixture_and_kind() {
    let files = common::json_files(&common::shared_fixtures_dir())
        .into_iter()
        .chain(common::json_files(&common::own_fixtures_dir()));
    for file in files {
        if let Ok(Classification::Incident(d)) = classify(&common::load(&file), &common::home()) {
            for kind in KINDS {
                let n = render(kind, &ctx(&d));
                assert_subject_ok(&n.subject);
            }
        }
    }
}

#[test]
fn hostile_input_is_sanitized() {
    let mut d = incident("iam-create-user-by-iam-user.json");
    let evil = format!(
        "\u{430}dmin\r\nBcc: victim@example.com\u{0}\u{202e}{}",
        "n".repeat(500)
    );
    d.title = format!("IAM user {evil} created by jdoe");
    d.incident_id = "ct-\u{1F600}\n".repeat(50);
    if let Some(p) = d.principal.as_mut() {
        p.name = Some(evil.clone());
    }
    d.user_agent = Some("curl\n\nX-Injected: 1".into());
    d.evidence.insert("userName".into(), evil.clone().into());
    let c = ctx(&d);
    for kind in KINDS {
        let n = render(kind, &c);
        assert_subject_ok(&n.subject);
        assert!(n.subject.ends_with("..."), "{}", n.subject);
        for line in n.body.lines() {
            assert!(
                !line.starts_with("Bcc:"),
                "header injection survived: {line}"
            );
            assert!(!line.starts_with("X-Injected"), "{line}");
            assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
        }
        for v in n.attributes.values() {
            assert!(!v.is_empty() && v.is_ascii() && !v.contains('\n'), "{v:?}");
        }
    }
}

/// Characters that change how text reads without being seen: bidi controls, line and
/// paragraph separators, zero-width characters, the BOM and tag characters.
const DECEPTIVE: &[char] = &[
    '\u{202E}',
    '\u{202D}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200E}',
    '\u{200F}',
    '\u{061C}',
    '\u{2028}',
    '\u{2029}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{E0041}',
];

#[test]
fn deceptive_unicode_never_reaches_an_email_from_any_field() {
    let mut d = incident("iam-create-user-by-iam-user.json");
    let hostile: String = DECEPTIVE
        .iter()
        .map(|c| format!("x{c}"))
        .collect::<String>()
        + "\u{2028}Decided by: security-team";
    d.title = format!("IAM user {hostile} created");
    d.user_agent = Some(format!("Mozilla/5.0 {hostile}"));
    d.source_ip = Some(hostile.clone());
    d.actor.name = Some(hostile.clone());
    d.actor.session_issuer_arn = Some(hostile.clone());
    if let Some(p) = d.principal.as_mut() {
        p.name = Some(hostile.clone());
        p.arn = Some(hostile.clone());
    }
    d.evidence.insert("tagValue".into(), hostile.clone().into());
    d.evidence.insert(hostile.clone(), "k".into());
    let mut c = ctx(&d);
    c.decided_by = Some(hostile.clone());
    c.note = Some(hostile.clone());
    c.error = Some(hostile.clone());
    c.actions_taken = vec![hostile.clone()];
    for kind in KINDS {
        let n = render(kind, &c);
        for text in [&n.subject, &n.body] {
            for bad in DECEPTIVE {
                assert!(
                    !text.contains(*bad),
                    "{kind:?}: {:?} survived in {text:?}",
                    bad
                );
            }
        }
        assert!(
            !n.body
                .lines()
                .any(|l| l.starts_with("Decided by: security-team")),
            "a separator faked a line:\n{}",
            n.body
        );
        // Made visible, not silently dropped: the reader sees something was there.
        if kind != NotificationKind::Rejected {
            assert!(n.body.contains("[U+202E]"), "{kind:?}:\n{}", n.body);
        }
    }
}

#[test]
fn body_has_context_evidence_and_recommended_actions() {
    let d = incident("iam-attach-user-policy-administrator-access.json");
    let n = render(NotificationKind::Contained, &ctx(&d));
    for want in [
        &d.incident_id[..],
        "support-admin",
        "jdoe",
        "203.0.113.66",
        "us-east-1",
        "111122223333",
        "AttachUserPolicy",
        "2024-09-27T",
        "EVIDENCE",
        "policyArn: arn:aws:iam::aws:policy/AdministratorAccess",
        "RECOMMENDED ACTIONS",
        "aws iam detach-user-policy --user-name support-admin --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        "ASSESSMENT",
        "/release/",
    ] {
        assert!(n.body.contains(want), "body lacks {want:?}:\n{}", n.body);
    }
    assert!(
        n.subject.contains("Contained support-admin"),
        "{}",
        n.subject
    );

    let d = incident("cloudtrail-stop-logging.json");
    let n = render(NotificationKind::Alert, &ctx(&d));
    assert!(n.body.contains("aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:111122223333:trail/org-management-events"), "{}", n.body);

    let d = incident("iam-create-user-by-iam-user.json");
    let n = render(NotificationKind::ApprovalRequest, &ctx(&d));
    assert!(n.body.contains("/approve/5f0c1d2e"), "{}", n.body);
    assert!(n.subject.contains("Approval needed"), "{}", n.subject);
}

#[test]
fn every_incident_rule_has_specific_recommendations() {
    let mut seen = std::collections::BTreeSet::new();
    let files = common::json_files(&common::shared_fixtures_dir())
        .into_iter()
        .chain(common::json_files(&common::own_fixtures_dir()));
    for file in files {
        if let Ok(Classification::Incident(d)) = classify(&common::load(&file), &common::home()) {
            let n = render(NotificationKind::Alert, &ctx(&d));
            let section = n.body.split("RECOMMENDED ACTIONS").nth(1).unwrap_or("");
            assert!(section.contains("  1. "), "{}: {}", file.display(), n.body);
            // The generic fallback is for rules the notifier does not know yet.
            assert!(
                !section.contains("call in CloudTrail (eventID"),
                "{}: {} has only the generic recommendation",
                file.display(),
                d.rule
            );
            seen.insert(d.rule.clone());
        }
    }
    for rule in [
        cordon_core::classify::rules::TRAIL_WEAKENED,
        cordon_core::classify::rules::TRAIL_CHANGED,
        cordon_core::classify::rules::ROOT_API_CALL,
    ] {
        assert!(seen.contains(rule), "no fixture raises {rule}");
    }
}

#[test]
fn attributes_are_present() {
    let d = incident("iam-create-user-by-iam-user.json");
    let n = render(NotificationKind::ApprovalRequest, &ctx(&d));
    assert_eq!(n.attributes["rule"], "iam.user-created");
    assert_eq!(n.attributes["incident_id"], d.incident_id);
    assert_eq!(n.attributes["severity"], "critical");
    assert_eq!(n.attributes["disposition"], "approve");
    assert_eq!(n.attributes["kind"], "approvalRequest");

    // Rejected events have no detection.
    let raw = common::shared("malformed-detail-not-object.json");
    let err = classify(&raw, &common::home()).err().map(|e| e.to_string());
    let n = render(
        NotificationKind::Rejected,
        &NotificationContext {
            incident_id: cordon_core::incident::rejected_incident_id(&raw),
            error: err,
            ..Default::default()
        },
    );
    for key in ["severity", "rule", "incident_id", "disposition"] {
        assert!(n.attributes.contains_key(key), "{key}");
    }
    assert_eq!(n.attributes["rule"], "invalid-event");
    assert!(
        n.body.contains("must be a JSON object, got a string"),
        "{}",
        n.body
    );
    assert_subject_ok(&n.subject);
}

#[test]
fn no_secrets_in_notifications() {
    let mut raw = common::shared("iam-create-login-profile.json");
    raw["detail"]["requestParameters"]["password"] = "Hunter2-S3cret!".into();
    let mut d = match classify(&raw, &common::home()) {
        Ok(Classification::Incident(d)) => d,
        other => panic!("{other:?}"),
    };
    // Even if a caller put a secret into the evidence, it is redacted.
    d.evidence
        .insert("sessionToken".into(), "IQoJb3JpZ2luX2VjEXAMPLE".into());
    let mut c = ctx(&d);
    c.approval_url = Some("https://x.on.aws/approve?taskToken=AAAAKgAAAAIAAAAAAAAAAQ".into());
    let n = render(NotificationKind::ApprovalRequest, &c);
    let all = format!("{} {} {:?}", n.subject, n.body, n.attributes);
    assert!(!all.contains("Hunter2"), "{all}");
    assert!(!all.contains("IQoJb3JpZ2lu"), "{all}");
    assert!(!all.contains("AAAAKgAAAAIAAAAAAAAAAQ"), "{all}");
    assert!(all.contains("[redacted]"));
    assert!(all.contains("link withheld"));
}
