//! Handler tests with the in-memory fakes.
mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use common::*;
use cordon_aws::fakes::Callback;
use cordon_aws::links::{LinkKind, LinkStatus, LinkSummary};
use cordon_core::TaskError;
use serde_json::json;

#[tokio::test]
async fn get_shows_the_page_and_changes_nothing() {
    let w = world();
    let a = w.approval(summary()).await;
    let writes_before = w.store.writes();
    for _ in 0..3 {
        let p = call(&w.deps, get(&format!("/a/{}", a.id))).await;
        assert_eq!(p.status, 200);
        for shown in [
            "ct-0001",
            "arn:aws:iam::123456789012:user&#x2F;backdoor",
            "arn:aws:iam::123456789012:user&#x2F;jdoe",
            "iam.user-created",
            "high",
            "backdoor",
            "2024-09-27T15:06:00Z",
            "value=\"approve\"",
            "value=\"reject\"",
            "name=\"name\"",
            "method=\"post\"",
        ] {
            assert!(p.body.contains(shown), "{shown} missing from\n{}", p.body);
        }
        assert_eq!(csrf_of(&p.body), a.csrf.expose());
        assert!(!p.body.contains("<script"), "no JavaScript");
    }
    let head = call(&w.deps, request("HEAD", &format!("/a/{}", a.id))).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        w.store.writes(),
        writes_before,
        "GET and HEAD wrote nothing"
    );
    assert!(w.callbacks.sent().is_empty(), "GET resumed nothing");
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn a_post_without_the_right_csrf_value_is_refused() {
    let w = world();
    let a = w.approval(summary()).await;
    let path = format!("/a/{}", a.id);
    let wrong = "0".repeat(64);
    for fields in [
        vec![("decision", "approve")],
        vec![("decision", "approve"), ("csrf", "")],
        vec![("decision", "approve"), ("csrf", wrong.as_str())],
        vec![("decision", "approve"), ("csrf", &a.csrf.expose()[..63])],
    ] {
        let p = call(&w.deps, post(&path, &fields)).await;
        assert_eq!(p.status, 403, "{fields:?}");
    }
    // A repeated field is ambiguous and refused too.
    let p = call(
        &w.deps,
        post(
            &path,
            &[
                ("decision", "reject"),
                ("decision", "approve"),
                ("csrf", a.csrf.expose()),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, 400);
    let p = call(
        &w.deps,
        post(&path, &[("decision", "maybe"), ("csrf", a.csrf.expose())]),
    )
    .await;
    assert_eq!(p.status, 400);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(w.store.count("links:Decide"), 0);
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn approve_resumes_the_workflow_once() {
    let w = world();
    let a = w.approval(summary()).await;
    let path = format!("/a/{}", a.id);
    let page = call(&w.deps, get(&path)).await;
    let csrf = csrf_of(&page.body);
    w.advance(Duration::seconds(60));
    let p = call(
        &w.deps,
        post(
            &path,
            &[
                ("decision", "approve"),
                ("csrf", &csrf),
                ("name", " Alice "),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("approved"), "{}", p.body);

    let sent = w.callbacks.sent();
    assert_eq!(sent.len(), 1);
    let Callback::Success { token, output } = &sent[0] else {
        panic!("expected SendTaskSuccess: {sent:?}");
    };
    assert_eq!(token, TOKEN);
    assert_eq!(
        output,
        &json!({
            "decision": "approve",
            "approvalId": a.id,
            "decidedBy": {"ip": IP, "userAgent": UA, "name": "Alice"},
            "decidedAt": "2024-09-27T14:07:00.000Z"
        })
    );
    let stored = w.store.link(LinkKind::Approval, &a.id).expect("link");
    assert_eq!(stored.status, LinkStatus::Approved);
    assert_eq!(
        stored.decided_by.and_then(|b| b.name).as_deref(),
        Some("Alice")
    );

    // Second POST (double click, replay, another approver): refused.
    let again = call(
        &w.deps,
        post(&path, &[("decision", "reject"), ("csrf", &csrf)]),
    )
    .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("Already decided"), "{}", again.body);
    assert!(again.body.contains("Alice"), "{}", again.body);
    assert_eq!(w.callbacks.sent().len(), 1);
    // And the page no longer offers the form.
    let after = call(&w.deps, get(&path)).await;
    assert_eq!(after.status, 409);
    assert!(!after.body.contains("csrf"));
}

#[tokio::test]
async fn reject_sends_a_reject_decision() {
    let w = world();
    let a = w.approval(summary()).await;
    let p = call(
        &w.deps,
        post(
            &format!("/a/{}", a.id),
            &[("decision", "reject"), ("csrf", a.csrf.expose())],
        ),
    )
    .await;
    assert_eq!(p.status, 200);
    let Callback::Success { output, .. } = &w.callbacks.sent()[0] else {
        panic!("expected SendTaskSuccess");
    };
    assert_eq!(output["decision"], "reject");
    assert_eq!(output["decidedBy"]["name"], serde_json::Value::Null);
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Rejected)
    );
}

#[tokio::test]
async fn an_expired_approval_gets_410_and_resumes_nothing() {
    let w = world();
    let a = w.approval(summary()).await;
    let path = format!("/a/{}", a.id);
    w.advance(Duration::seconds(3600));
    let g = call(&w.deps, get(&path)).await;
    assert_eq!(g.status, 410);
    assert!(g.body.contains("expired"), "{}", g.body);
    assert!(!g.body.contains("csrf"));
    let p = call(
        &w.deps,
        post(&path, &[("decision", "approve"), ("csrf", a.csrf.expose())]),
    )
    .await;
    assert_eq!(p.status, 410);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Expired)
    );
}

#[tokio::test]
async fn unknown_and_forged_ids_get_the_same_404_page() {
    let w = world();
    let a = w.approval(summary()).await;
    let mut forged = a.id.clone();
    forged.replace_range(..1, if a.id.starts_with('0') { "1" } else { "0" });
    let ids = [
        "0123456789abcdef0123456789abcdef".to_string(),
        forged,
        a.id.to_uppercase(),
        "not-an-id".into(),
        "%3Cscript%3E".into(),
        format!("{}0", a.id),
        String::new(),
    ];
    let reference = call(&w.deps, get(&format!("/a/{}", ids[0]))).await;
    assert_eq!(reference.status, 404);
    for id in &ids {
        for kind in ["a", "r"] {
            let path = format!("/{kind}/{id}");
            let g = call(&w.deps, get(&path)).await;
            assert_eq!((g.status, &g.body), (404, &reference.body), "GET {path}");
            let p = call(
                &w.deps,
                post(&path, &[("decision", "approve"), ("csrf", a.csrf.expose())]),
            )
            .await;
            assert_eq!((p.status, &p.body), (404, &reference.body), "POST {path}");
        }
    }
    // An approval id is not a release id.
    let r = call(&w.deps, get(&format!("/r/{}", a.id))).await;
    assert_eq!((r.status, &r.body), (404, &reference.body));
    for path in ["/", "/a", "/x/abc", "/a/b/c", "/favicon.ico"] {
        let p = call(&w.deps, get(path)).await;
        assert_eq!((p.status, &p.body), (404, &reference.body), "{path}");
    }
    assert!(w.callbacks.sent().is_empty());
}

#[tokio::test]
async fn other_methods_get_405() {
    let w = world();
    let a = w.approval(summary()).await;
    for m in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let p = call(&w.deps, request(m, &format!("/a/{}", a.id))).await;
        assert_eq!(p.status, 405, "{m}");
        assert_eq!(
            p.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("GET, HEAD, POST")
        );
    }
    assert!(w.store.writes().iter().all(|c| c == "links:Create"));
}

fn aws(code: &str) -> TaskError {
    TaskError::Aws {
        operation: "states:SendTaskSuccess".into(),
        code: code.into(),
        message: format!("{code} for token {TOKEN}"),
    }
}

#[tokio::test]
async fn a_timed_out_task_gets_the_expired_page() {
    let w = world();
    let a = w.approval(summary()).await;
    w.callbacks
        .fail_on("states:SendTaskSuccess", aws("TaskTimedOut"));
    let p = call(
        &w.deps,
        post(
            &format!("/a/{}", a.id),
            &[("decision", "approve"), ("csrf", a.csrf.expose())],
        ),
    )
    .await;
    assert_eq!(p.status, 410);
    assert!(p.body.contains("expired"), "{}", p.body);
    assert!(!p.body.contains(TOKEN));
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Expired)
    );
}

#[tokio::test]
async fn an_invalid_token_gets_the_already_completed_page() {
    for code in ["InvalidToken", "TaskDoesNotExist"] {
        let w = world();
        let a = w.approval(summary()).await;
        w.callbacks.fail_on("states:SendTaskSuccess", aws(code));
        let p = call(
            &w.deps,
            post(
                &format!("/a/{}", a.id),
                &[("decision", "approve"), ("csrf", a.csrf.expose())],
            ),
        )
        .await;
        assert_eq!(p.status, 409, "{code}");
        assert!(p.body.contains("already completed"), "{}", p.body);
        assert!(!p.body.contains(TOKEN));
        assert_eq!(
            w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
            Some(LinkStatus::Closed)
        );
    }
}

#[tokio::test]
async fn an_unreachable_step_functions_undoes_the_decision_so_it_can_be_retried() {
    let w = world();
    let a = w.approval(summary()).await;
    let path = format!("/a/{}", a.id);
    let fields = [("decision", "approve"), ("csrf", a.csrf.expose())];
    w.callbacks.fail_on(
        "states:SendTaskSuccess",
        TaskError::transient("states:SendTaskSuccess", "ServiceUnavailable"),
    );
    let p = call(&w.deps, post(&path, &fields)).await;
    assert_eq!(p.status, 503);
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.id).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
    w.callbacks.heal("states:SendTaskSuccess");
    let p = call(&w.deps, post(&path, &fields)).await;
    assert_eq!(p.status, 200);
    assert_eq!(w.callbacks.sent().len(), 1);
}

#[tokio::test]
async fn a_store_failure_is_a_503_page_without_details() {
    let w = world();
    let a = w.approval(summary()).await;
    w.store.fail_on(
        "links:Get",
        TaskError::transient(
            "dynamodb:GetItem",
            "ProvisionedThroughputExceeded internal detail",
        ),
    );
    let p = call(&w.deps, get(&format!("/a/{}", a.id))).await;
    assert_eq!(p.status, 503);
    assert!(!p.body.contains("internal detail"));
    assert!(!p.body.contains("dynamodb"));
}

#[tokio::test]
async fn hostile_evidence_is_escaped() {
    let w = world();
    let hostile = r#"<script>alert("pwned")</script>"#;
    let a = w
        .approval(LinkSummary {
            title: Some(format!("user {hostile} created")),
            principal: Some(r#"arn:aws:iam::1:user/"><img src=x onerror=alert(1)>"#.into()),
            actor: Some("O'Brien & <b>co</b>".into()),
            evidence: BTreeMap::from([
                (format!("key{hostile}"), json!(hostile)),
                ("policy".into(), json!({"a": "</td><script>x</script>"})),
            ]),
            reasons: vec![hostile.into()],
            ..summary()
        })
        .await;
    let p = call(&w.deps, get(&format!("/a/{}", a.id))).await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains("<script"), "{}", p.body);
    assert!(!p.body.contains("<img"), "{}", p.body);
    assert!(!p.body.contains("<b>co"), "{}", p.body);
    assert!(!p.body.contains("\"><img"), "{}", p.body);
    assert!(
        p.body.contains("&lt;script&gt;alert(&quot;pwned&quot;)"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("O&#x27;Brien &amp; &lt;b&gt;co"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn a_release_link_releases_once() {
    let w = world();
    let r = w.release_link().await;
    let path = format!("/r/{}", r.id);
    let g = call(&w.deps, get(&path)).await;
    assert_eq!(g.status, 200);
    assert!(g.body.contains("value=\"release\""));
    assert!(
        w.release.calls.lock().expect("lock").is_empty(),
        "GET released nothing"
    );

    let bad = call(
        &w.deps,
        post(&path, &[("decision", "release"), ("csrf", "x")]),
    )
    .await;
    assert_eq!(bad.status, 403);
    let wrong = call(
        &w.deps,
        post(
            &path,
            &[("decision", "approve"), ("csrf", &csrf_of(&g.body))],
        ),
    )
    .await;
    assert_eq!(wrong.status, 400, "a release link cannot approve");

    let p = call(
        &w.deps,
        post(
            &path,
            &[
                ("decision", "release"),
                ("csrf", &csrf_of(&g.body)),
                ("name", "Bob"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("released backdoor"), "{}", p.body);
    {
        let calls = w.release.calls.lock().expect("lock");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, "ct-0001");
        assert_eq!(calls[0].1.name.as_deref(), Some("Bob"));
        assert_eq!(calls[0].1.ip.as_deref(), Some(IP));
    }
    let again = call(
        &w.deps,
        post(
            &path,
            &[("decision", "release"), ("csrf", &csrf_of(&g.body))],
        ),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(w.release.calls.lock().expect("lock").len(), 1);
    assert!(w.callbacks.sent().is_empty());

    w.advance(Duration::days(8));
    let late = call(&w.deps, get(&path)).await;
    assert_eq!(late.status, 409, "used links say so even after expiry");
}

#[tokio::test]
async fn a_failed_release_leaves_the_link_usable() {
    let w = world();
    let r = w.release_link().await;
    *w.release.fail.lock().expect("lock") =
        Some(TaskError::transient("iam:DetachUserPolicy", "Throttling"));
    let path = format!("/r/{}", r.id);
    let fields = [("decision", "release"), ("csrf", r.csrf.expose())];
    let p = call(&w.deps, post(&path, &fields)).await;
    assert_eq!(p.status, 503);
    assert_eq!(
        w.store.link(LinkKind::Release, &r.id).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
    *w.release.fail.lock().expect("lock") = None;
    let p = call(&w.deps, post(&path, &fields)).await;
    assert_eq!(p.status, 200);
}

#[test]
fn the_source_ip_falls_back_to_x_forwarded_for() {
    let req = lambda_http::http::Request::builder()
        .uri("/a/x")
        .header("x-forwarded-for", "198.51.100.4, 10.0.0.1")
        .body(lambda_http::Body::Empty)
        .expect("request");
    let req = cordon_approval::with_source_ip(req, None);
    assert_eq!(
        cordon_approval::requester(&req, None).ip.as_deref(),
        Some("198.51.100.4")
    );
    let req = cordon_approval::with_source_ip(req, Some(IP.into()));
    assert_eq!(
        cordon_approval::requester(&req, Some("  Eve\u{7}  ".into())),
        cordon_aws::links::DecidedBy {
            ip: Some(IP.into()),
            user_agent: None,
            name: Some("Eve".into()),
            verified: None,
        },
        "the Function URL's source IP wins over a client-supplied header"
    );
}
