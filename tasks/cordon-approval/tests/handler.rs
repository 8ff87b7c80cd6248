//! Handler tests with the in-memory fakes (link-only mode). Each attack states the safe
//! outcome and asserts it: nothing decided, nothing resumed, nothing released.
mod common;

use chrono::Duration;
use common::*;
use cordon_aws::fakes::Callback;
use cordon_aws::links::{LinkKind, LinkStatus, LinkSummary};
use cordon_core::TaskError;

fn success_outputs(w: &World) -> Vec<serde_json::Value> {
    w.callbacks
        .sent()
        .into_iter()
        .filter_map(|c| match c {
            Callback::Success { output, .. } => Some(output),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn get_head_and_a_link_scanner_prefetch_change_nothing() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    let writes_before = w.store.writes();
    for _ in 0..3 {
        // A scanner fetches without cookies, like a first visit.
        let p = call(&w.deps, get(&path)).await;
        assert_eq!(p.status, 200);
        for shown in [
            INCIDENT,
            TARGET,
            ACTOR,
            "iam.user-created",
            "high",
            "2024-09-27T15:06:00Z",
            "value=\"approve\"",
            "value=\"reject\"",
            "name=\"name\"",
            "method=\"post\"",
            "not authenticated",
        ] {
            assert!(p.body.contains(shown), "{shown} missing from\n{}", p.body);
        }
        // Only what a decision needs: no ARNs, no unique ids, no source IP.
        for hidden in ["arn:aws", ACTOR_ID, TARGET_ID, "123456789012"] {
            assert!(!p.body.contains(hidden), "{hidden} shown on\n{}", p.body);
        }
        assert!(!p.body.contains("<script"), "no JavaScript");
    }
    let head = call(&w.deps, request("HEAD", &path)).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        w.store.writes(),
        writes_before,
        "GET and HEAD wrote nothing"
    );
    assert!(w.callbacks.sent().is_empty(), "GET resumed nothing");
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn a_forged_post_without_this_browsers_csrf_value_is_refused() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    let mut victim = Browser::new();
    let page = victim.get(&w.deps, &path).await;
    let csrf = page.csrf();
    assert_eq!(csrf.len(), 64);
    let wrong = "0".repeat(64);
    // A cross-site form has no cookie; a script without the page has no value.
    for fields in [
        vec![("decision", "approve")],
        vec![("decision", "approve"), ("csrf", "")],
        vec![("decision", "approve"), ("csrf", wrong.as_str())],
        vec![("decision", "approve"), ("csrf", csrf.as_str())],
    ] {
        let p = call(&w.deps, post(&path, &fields)).await;
        assert_eq!(p.status, 403, "{fields:?}");
    }
    // Another browser's value does not work in this one, and the victim's cookie does not
    // make a guessed value right.
    let mut other = Browser::new();
    other.get(&w.deps, &path).await;
    let p = other
        .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 403);
    let p = victim
        .post(
            &w.deps,
            &path,
            &[("decision", "approve"), ("csrf", &csrf[..63])],
        )
        .await;
    assert_eq!(p.status, 403);
    // A repeated field is ambiguous and refused too; an unknown decision as well.
    let p = victim
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "reject"),
                ("decision", "approve"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, 400);
    let p = victim
        .post(&w.deps, &path, &[("decision", "maybe"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 400);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(w.store.count("links:Decide"), 0);
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn approve_resumes_the_workflow_once_and_records_the_delivery() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    let mut b = Browser::new();
    let csrf = b.get(&w.deps, &path).await.csrf();
    w.advance(Duration::seconds(60));
    let p = b
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "approve"),
                ("name", " Alice "),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("approved"), "{}", p.body);
    assert!(p.body.contains("not verified"), "{}", p.body);

    let sent = w.callbacks.sent();
    assert_eq!(sent.len(), 1);
    let Callback::Success { token, output } = &sent[0] else {
        panic!("expected SendTaskSuccess, got {sent:?}");
    };
    assert_eq!(token, TOKEN);
    assert_eq!(output["decision"], "approve");
    // The workflow learns the link by its hash; the id stays in the email.
    assert_eq!(output["approvalId"], a.hash.as_str());
    assert!(!output.to_string().contains(id.expose()));
    assert_eq!(output["decidedBy"]["name"], "Alice");
    assert_eq!(output["decidedBy"]["ip"], IP);
    assert_eq!(output["decidedBy"]["userAgent"], UA);
    assert!(output["decidedBy"].get("verified").is_none());
    assert_eq!(output["decidedAt"], "2024-09-27T14:07:00.000Z");
    let stored = w.store.link(LinkKind::Approval, &a.hash).expect("link");
    assert_eq!(stored.status, LinkStatus::Approved);
    assert!(stored.delivered_at.is_some(), "the delivery is recorded");

    // Replayed: the same form again, and a new page's form.
    let again = b
        .post(&w.deps, &path, &[("decision", "reject"), ("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("Already decided"), "{}", again.body);
    let page = b.get(&w.deps, &path).await;
    assert_eq!(page.status, 409);
    assert_eq!(w.callbacks.sent().len(), 1, "resumed once");
}

#[tokio::test]
async fn reject_sends_a_reject_decision() {
    let w = world();
    let (id, _) = w.approval(summary()).await;
    let p = Browser::new()
        .submit(
            &w.deps,
            &format!("/a/{}", id.expose()),
            &[("decision", "reject"), ("name", "Bob")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let outputs = success_outputs(&w);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["decision"], "reject");
}

#[tokio::test]
async fn concurrent_decisions_exactly_one_wins() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    let mut browsers = Vec::new();
    for _ in 0..8 {
        let mut b = Browser::new();
        let csrf = b.get(&w.deps, &path).await.csrf();
        browsers.push((b, csrf));
    }
    let posts = browsers.into_iter().enumerate().map(|(i, (mut b, csrf))| {
        let deps = w.deps.clone();
        let path = path.clone();
        tokio::spawn(async move {
            let decision = if i % 2 == 0 { "approve" } else { "reject" };
            b.post(&deps, &path, &[("decision", decision), ("csrf", &csrf)])
                .await
                .status
        })
    });
    let mut statuses = Vec::new();
    for p in posts {
        statuses.push(p.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409, 409, 409]);
    let outputs = success_outputs(&w);
    assert_eq!(outputs.len(), 1, "one SendTaskSuccess");
    let status = w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status);
    let expected = match outputs[0]["decision"].as_str() {
        Some("approve") => LinkStatus::Approved,
        _ => LinkStatus::Rejected,
    };
    assert_eq!(
        status,
        Some(expected),
        "the table holds the delivered decision"
    );
}

#[tokio::test]
async fn an_expired_approval_gets_410_and_resumes_nothing() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    let mut b = Browser::new();
    let csrf = b.get(&w.deps, &path).await.csrf();
    w.advance(Duration::seconds(3601));
    let page = b.get(&w.deps, &path).await;
    assert_eq!(page.status, 410);
    let p = b
        .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 410, "{}", p.body);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Expired),
        "an expired link is not decided, and is recorded expired"
    );
}

#[tokio::test]
async fn unknown_forged_and_cross_kind_ids_get_the_same_404_page() {
    let w = world();
    let (id, _) = w.approval(summary()).await;
    let real = id.expose().to_string();
    let mut forged = real.clone();
    forged.replace_range(..1, if real.starts_with('0') { "1" } else { "0" });
    let ids = [
        "0123456789abcdef0123456789abcdef".to_string(),
        forged,
        real.to_uppercase(),
        "not-an-id".into(),
        "%3Cscript%3E".into(),
        format!("{real}0"),
        String::new(),
    ];
    let reference = call(&w.deps, get(&format!("/a/{}", ids[0]))).await;
    assert_eq!(reference.status, 404);
    let mut b = Browser::new();
    let csrf = b.get(&w.deps, &format!("/a/{real}")).await.csrf();
    for bad in &ids {
        for kind in ["a", "r"] {
            let path = format!("/{kind}/{bad}");
            let g = call(&w.deps, get(&path)).await;
            assert_eq!((g.status, &g.body), (404, &reference.body), "GET {path}");
            let p = b
                .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
                .await;
            assert_eq!((p.status, &p.body), (404, &reference.body), "POST {path}");
        }
    }
    // An approval id is not a release id.
    let r = b
        .post(
            &w.deps,
            &format!("/r/{real}"),
            &[("decision", "release"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!((r.status, &r.body), (404, &reference.body));
    for path in [
        "/",
        "/a",
        "/x/abc",
        "/a/b/c",
        "/favicon.ico",
        "/oidc/callback",
    ] {
        let p = call(&w.deps, get(path)).await;
        assert_eq!((p.status, &p.body), (404, &reference.body), "{path}");
    }
    assert!(w.callbacks.sent().is_empty());
}

#[tokio::test]
async fn a_csrf_value_of_one_link_does_not_decide_another() {
    let w = world();
    let (first, _) = w.approval(summary()).await;
    let (second, b_rec) = w.approval_for("ct-0002", "another-token", summary()).await;
    let mut b = Browser::new();
    let csrf_first = b
        .get(&w.deps, &format!("/a/{}", first.expose()))
        .await
        .csrf();
    b.get(&w.deps, &format!("/a/{}", second.expose())).await;
    let p = b
        .post(
            &w.deps,
            &format!("/a/{}", second.expose()),
            &[("decision", "approve"), ("csrf", &csrf_first)],
        )
        .await;
    assert_eq!(p.status, 403);
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(
        w.store
            .link(LinkKind::Approval, &b_rec.hash)
            .map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn other_methods_get_405() {
    let w = world();
    let (id, _) = w.approval(summary()).await;
    for m in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let p = call(&w.deps, request(m, &format!("/a/{}", id.expose()))).await;
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
        message: format!("{code}: Task Token '{TOKEN}' is no longer valid"),
    }
}

#[tokio::test]
async fn a_timed_out_task_gets_the_expired_page() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    w.callbacks
        .fail_on("states:SendTaskSuccess", aws("TaskTimedOut"));
    let p = Browser::new()
        .submit(
            &w.deps,
            &format!("/a/{}", id.expose()),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(p.status, 410, "{}", p.body);
    assert!(!p.body.contains(TOKEN));
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Expired)
    );
}

#[tokio::test]
async fn an_invalid_token_gets_the_already_completed_page() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    w.callbacks
        .fail_on("states:SendTaskSuccess", aws("InvalidToken"));
    let p = Browser::new()
        .submit(
            &w.deps,
            &format!("/a/{}", id.expose()),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("no longer waiting"), "{}", p.body);
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Closed)
    );
}

#[tokio::test]
async fn a_decision_that_was_not_delivered_is_delivered_by_the_next_request_unchanged() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    w.callbacks.fail_on(
        "states:SendTaskSuccess",
        TaskError::transient("states:SendTaskSuccess", "connection reset"),
    );
    let mut alice = Browser::new();
    let alice_csrf = alice.get(&w.deps, &path).await.csrf();
    let p = alice
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "approve"),
                ("name", "Alice"),
                ("csrf", &alice_csrf),
            ],
        )
        .await;
    assert_eq!(p.status, 503, "{}", p.body);
    assert!(p.body.contains("recorded"), "{}", p.body);
    let stored = w.store.link(LinkKind::Approval, &a.hash).expect("link");
    assert_eq!(stored.status, LinkStatus::Approved, "the decision is kept");
    assert!(stored.undelivered());

    // Step Functions is back. Someone else opens the link and tries to reject: the
    // recorded approval is delivered, never replaced.
    w.callbacks.heal("states:SendTaskSuccess");
    let mut mallory = Browser::new();
    let page = mallory.get(&w.deps, &path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Deliver the recorded decision"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("value=\"reject\""), "{}", page.body);
    let csrf = page.csrf();
    let p = mallory
        .post(&w.deps, &path, &[("decision", "reject"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let outputs = success_outputs(&w);
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["decision"], "approve");
    assert_eq!(outputs[0]["decidedBy"]["name"], "Alice");
    let stored = w.store.link(LinkKind::Approval, &a.hash).expect("link");
    assert!(!stored.undelivered());
    // Delivered: the next request changes nothing.
    let p = alice
        .post(
            &w.deps,
            &path,
            &[("decision", "approve"), ("csrf", &alice_csrf)],
        )
        .await;
    assert_eq!(p.status, 409);
    assert_eq!(success_outputs(&w).len(), 1);
}

#[tokio::test]
async fn a_store_failure_is_a_503_page_without_details() {
    let w = world();
    let (id, _) = w.approval(summary()).await;
    w.store.fail_on(
        "links:Get",
        TaskError::transient("dynamodb:GetItem", format!("throttled {TOKEN}")),
    );
    let p = call(&w.deps, get(&format!("/a/{}", id.expose()))).await;
    assert_eq!(p.status, 503);
    assert!(!p.body.contains(TOKEN) && !p.body.contains("throttled"));
}

#[tokio::test]
async fn hostile_strings_in_every_shown_field_are_cleaned_and_escaped() {
    let w = world();
    let hostile = "<img src=x onerror=alert(1)>\u{202e}gpj.exe\u{2028}Approved by: CISO\u{200b}";
    let s = LinkSummary {
        title: Some(hostile.into()),
        rule: Some(hostile.into()),
        severity: Some(hostile.into()),
        event_name: Some(hostile.into()),
        principal_name: Some(hostile.into()),
        actor_name: Some(hostile.into()),
        ..summary()
    };
    let (id, _) = w.approval(s).await;
    let path = format!("/a/{}", id.expose());
    let mut b = Browser::new();
    let p = b.get(&w.deps, &path).await;
    assert_eq!(p.status, 200);
    assert!(!p.body.contains("<img"), "{}", p.body);
    assert!(p.body.contains("&lt;img"), "{}", p.body);
    for invisible in ['\u{202e}', '\u{2028}', '\u{200b}'] {
        assert!(
            !p.body.contains(invisible),
            "{invisible:?} reached the page"
        );
    }
    assert!(
        p.body.contains("[U+202E]"),
        "bidi controls are made visible"
    );
    // A hostile typed name and user agent reach the result page and the decision cleaned.
    let csrf = p.csrf();
    let mut req = post(
        &path,
        &[("decision", "approve"), ("csrf", &csrf), ("name", hostile)],
    );
    req.headers_mut().insert(
        "user-agent",
        lambda_http::http::HeaderValue::from_str("Mozilla\u{202e}")
            .unwrap_or_else(|_| lambda_http::http::HeaderValue::from_static("x")),
    );
    let done = b.send(&w.deps, req).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.body.contains("<img"));
    let outputs = success_outputs(&w);
    let name = outputs[0]["decidedBy"]["name"].as_str().expect("name");
    for invisible in ['\u{202e}', '\u{2028}', '\u{200b}'] {
        assert!(
            !name.contains(invisible),
            "{invisible:?} reached the decision: {name}"
        );
    }
}

#[tokio::test]
async fn the_incidents_actor_and_target_cannot_decide_it_by_name() {
    let w = world();
    let (id, a) = w.approval(summary()).await;
    let path = format!("/a/{}", id.expose());
    for who in [ACTOR, "JDoe", TARGET] {
        let p = Browser::new()
            .submit(&w.deps, &path, &[("decision", "reject"), ("name", who)])
            .await;
        assert_eq!(p.status, 403, "{who}: {}", p.body);
        assert!(p.body.contains("part of"), "{}", p.body);
    }
    assert!(w.callbacks.sent().is_empty());
    assert_eq!(
        w.store.link(LinkKind::Approval, &a.hash).map(|l| l.status),
        Some(LinkStatus::Pending)
    );
}

#[tokio::test]
async fn a_release_link_asks_for_the_user_name_and_starts_the_release_workflow_once() {
    let w = world();
    let (id, r) = w.release_link().await;
    let path = format!("/r/{}", id.expose());
    let mut b = Browser::new();
    let page = b.get(&w.deps, &path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"confirm\""), "{}", page.body);
    assert!(page.body.contains("name=\"reason\""), "{}", page.body);
    assert!(page.body.contains("value=\"release\""));
    let csrf = page.csrf();

    // Without the user name typed back, nothing happens.
    for confirm in ["", "someone-else", "backdoo"] {
        let p = b
            .post(
                &w.deps,
                &path,
                &[
                    ("decision", "release"),
                    ("csrf", &csrf),
                    ("confirm", confirm),
                    ("reason", "fp"),
                ],
            )
            .await;
        assert_eq!(p.status, 400, "{confirm:?}: {}", p.body);
    }
    // A release link cannot approve.
    let p = b
        .post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
        .await;
    assert_eq!(p.status, 400);
    assert!(w.callbacks.sent().is_empty());

    let p = b
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "release"),
                ("csrf", &csrf),
                ("confirm", " BackDoor "),
                ("reason", "false positive: OPS-42"),
                ("name", "Alice"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Release started"), "{}", p.body);
    let sent = w.callbacks.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let Callback::Start {
        state_machine_arn,
        name,
        input,
    } = &sent[0]
    else {
        panic!("expected StartExecution, got {sent:?}");
    };
    assert_eq!(state_machine_arn, RELEASE_MACHINE);
    assert_eq!(name, &format!("release-{}", r.hash));
    assert!(
        name.len() <= 80,
        "execution names are at most 80 characters"
    );
    assert_eq!(input["incidentId"], INCIDENT);
    assert_eq!(input["releasedBy"]["name"], "Alice");
    assert_eq!(input["releasedBy"]["via"], "approval-link");
    assert_eq!(input["releasedBy"]["ip"], IP);
    assert_eq!(input["reason"], "false positive: OPS-42");
    let stored = w.store.link(LinkKind::Release, &r.hash).expect("link");
    assert_eq!(stored.status, LinkStatus::Released);
    assert!(stored.delivered_at.is_some());

    let again = b
        .post(
            &w.deps,
            &path,
            &[
                ("decision", "release"),
                ("csrf", &csrf),
                ("confirm", TARGET),
                ("reason", "again"),
            ],
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(w.callbacks.sent().len(), 1, "released once");
}

#[tokio::test]
async fn a_release_that_could_not_start_is_started_by_the_next_request() {
    let w = world();
    let (id, r) = w.release_link().await;
    let path = format!("/r/{}", id.expose());
    w.callbacks.fail_on(
        "states:StartExecution",
        TaskError::transient("states:StartExecution", "throttled"),
    );
    let fields = [
        ("decision", "release"),
        ("confirm", TARGET),
        ("reason", "fp"),
    ];
    let mut b = Browser::new();
    let p = b.submit(&w.deps, &path, &fields).await;
    assert_eq!(p.status, 503, "{}", p.body);
    assert!(w.callbacks.sent().is_empty());
    w.callbacks.heal("states:StartExecution");
    let p = b.submit(&w.deps, &path, &[("decision", "deliver")]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(w.callbacks.sent().len(), 1);
    assert!(
        !w.store
            .link(LinkKind::Release, &r.hash)
            .expect("link")
            .undelivered()
    );
}

#[test]
fn the_source_ip_falls_back_to_x_forwarded_for_and_the_function_url_wins() {
    let req = lambda_http::http::Request::builder()
        .uri("/a/x")
        .header("x-forwarded-for", "198.51.100.4, 10.0.0.1")
        .header("user-agent", "  Eve\tBot  ")
        .body(lambda_http::Body::Empty)
        .expect("request");
    let req = cordon_approval::with_source_ip(req, None);
    assert_eq!(
        cordon_approval::requester(&req).0.as_deref(),
        Some("198.51.100.4")
    );
    let req = cordon_approval::with_source_ip(req, Some(IP.into()));
    let (ip, ua) = cordon_approval::requester(&req);
    assert_eq!(
        ip.as_deref(),
        Some(IP),
        "the Function URL's source IP wins over a client-supplied header"
    );
    assert_eq!(
        ua.as_deref(),
        Some("Eve Bot"),
        "control characters are cleaned"
    );
}
