//! The task token never appears in a log line, a page or the email, over a full approval
//! (notify → email → GET → POST → SendTaskSuccess) and its error paths.
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use cordon_aws::fakes::{Callback, FakeIncidentStore, FakeNotifier};
use cordon_aws::links::LinkKind;
use cordon_core::TaskError;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into {what}:\n{text}");
    }
}

#[tokio::test]
async fn the_token_and_the_link_id_never_reach_logs_pages_or_the_workflow() {
    let logs = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let json_logs = Buffer::default();

    let w = world();
    let notifier = Arc::new(FakeNotifier::new());
    let notify = cordon_notify::Deps {
        notifier: notifier.clone(),
        store: Arc::new(FakeIncidentStore::new()),
        links: w.store.clone(),
        topic_arn: "arn:aws:sns:us-east-1:123456789012:cordon".into(),
        approval_url: Some("https://approve.example.com".into()),
        approval_timeout_seconds: 3600,
        quarantine_policy_arn: None,
        release_link_valid_for: chrono::Duration::hours(24),
        clock: w.deps.clock.clone(),
    };
    let input: cordon_notify::Input = serde_json::from_value(json!({
        "kind": "approvalRequest",
        "incidentId": "ct-secret-test",
        "taskToken": TOKEN,
        "timeoutSeconds": 600
    }))
    .expect("input");
    tracing::info!(input = ?input, "the notify input, as a careless log line would show it");
    let out = cordon_notify::handle(input.clone(), &notify)
        .await
        .expect("notify");
    tracing::info!(output = ?out, "notify output");
    cordon_notify::handle(input, &notify).await.expect("retry");

    let email = &notifier.published()[0];
    let link = w.store.links().into_iter().next().expect("approval");
    let marker = "https://approve.example.com/a/";
    let start = email.body.find(marker).expect("the link in the email") + marker.len();
    let id: String = email.body[start..].chars().take(32).collect();
    let link_id = cordon_aws::links::LinkId::parse(&id).expect("a link id");
    assert_eq!(
        link_id.hash(),
        link.hash,
        "the table holds only the hash of the id"
    );
    let path = format!("/a/{id}");

    // Also log the JSON way main does, for the stored record and the id (Debug redacts).
    {
        let json_sub = tracing_subscriber::fmt()
            .json()
            .with_writer(json_logs.clone())
            .finish();
        tracing::subscriber::with_default(json_sub, || {
            tracing::info!(record = ?link, id = ?link_id, "a stored link");
        });
    }

    let mut pages = Vec::new();
    let mut b = Browser::new();
    let page = b.get(&w.deps, &path).await;
    let csrf = page.csrf();
    pages.push(page.body.clone());
    let decided = b
        .post(
            &w.deps,
            &path,
            &[("decision", "approve"), ("csrf", &csrf), ("name", "Alice")],
        )
        .await;
    assert_eq!(decided.status, 200);
    pages.push(decided.body);
    pages.push(
        b.post(&w.deps, &path, &[("decision", "approve"), ("csrf", &csrf)])
            .await
            .body,
    );
    let sent = w.callbacks.sent();
    let Callback::Success { token, output } = &sent[0] else {
        panic!("expected SendTaskSuccess: {sent:?}");
    };
    assert_eq!(token, TOKEN);
    assert_no_secret(
        "the workflow's decision",
        &output.to_string(),
        &[TOKEN, &id, &csrf],
    );

    // Error paths, with AWS errors whose messages echo the token.
    for (code, transient) in [
        ("TaskTimedOut", false),
        ("InvalidToken", false),
        ("X", true),
    ] {
        let w2 = world();
        let (id2, a) = w2.approval(summary()).await;
        let e = if transient {
            TaskError::transient("states:SendTaskSuccess", format!("timeout for {TOKEN}"))
        } else {
            TaskError::Aws {
                operation: "states:SendTaskSuccess".into(),
                code: code.into(),
                message: format!("Invalid Token: '{TOKEN}'"),
            }
        };
        w2.callbacks.fail_on("states:SendTaskSuccess", e);
        let p = Browser::new()
            .submit(
                &w2.deps,
                &format!("/a/{}", id2.expose()),
                &[("decision", "approve")],
            )
            .await;
        pages.push(p.body);
        assert!(w2.store.link(LinkKind::Approval, &a.hash).is_some());
    }

    let log_text = logs.text();
    assert!(
        log_text.contains("outcome=\"decided\"") || log_text.contains("outcome=decided"),
        "{log_text}"
    );
    assert_no_secret("the logs", &log_text, &[TOKEN, &csrf, &id]);
    assert_no_secret("the JSON logs", &json_logs.text(), &[TOKEN, &csrf, &id]);
    assert_no_secret(
        "the email",
        &format!("{} {}", email.subject, email.body),
        &[TOKEN, &csrf],
    );
    for p in &pages {
        assert_no_secret("a page", p, &[TOKEN]);
    }
    // Only the confirmation page carries the anti-CSRF value.
    assert!(pages[0].contains(&csrf));
    for p in &pages[1..] {
        assert_no_secret("a result page", p, &[&csrf]);
    }
}
