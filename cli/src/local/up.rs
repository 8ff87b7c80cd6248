//! `cordon local up`: the local stack as a long-running service, plus the EventBridge
//! PutEvents API ([`cordon_eventbridge::put_events`]) in front of the stack's bus, so
//! anything that speaks EventBridge (aws-sdk-eventbridge, the AWS CLI) can put events, and
//! `cordon simulate` can deliver CloudTrail records as CloudTrail would
//! ([`super::delivery`]; PutEvents refuses `aws.*` sources, as on AWS).
//!
//! What the API accepted, what it started and what matched nothing is said on stderr; so is
//! what the workflow publishes (read back through the topic's SQS tap), with the link of
//! every approval request.
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cordon_eventbridge::{Delivery, DeliveryError, Event, PutEventsObserver, PutEventsServer};
use serde_json::Value;
use tokio::sync::watch;

use super::{LOCAL_ACCOUNT, LOCAL_REGION, LocalStack, LocalStackOptions};

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub stack: LocalStackOptions,
    /// Loopback port of the PutEvents API (0 picks a free one).
    pub events_port: u16,
}

/// Starts the local stack and the PutEvents API, prints the endpoints, and serves until
/// SIGTERM or Ctrl-C; then stops the PutEvents API, the approval pages and the Step
/// Functions service, in that order (waiting executions stay in the database).
pub async fn run(options: UpOptions) -> anyhow::Result<()> {
    let stack = LocalStack::start(&options.stack).await?;
    let events = serve_events(&stack, options.events_port).await?;

    // stdout is `eval`-able: exports, then comments. Written at once through
    // `crate::output`, so a reader that went away (`| head`) ends the command quietly.
    let mut out = vec![
        format!("export AWS_ENDPOINT_URL_SFN={}", stack.sfn.endpoint()),
        format!("export AWS_ENDPOINT_URL_EVENTBRIDGE={}", events.endpoint()),
    ];
    // The stack's settings, as the operator commands read them (crate::stack).
    out.extend(stack.exports());
    out.extend([
        format!("# approvals:     {}", stack.approval.url),
        format!("# state machine: {}", stack.state_machine_arn),
        format!("# table:         {}", stack.resources.table_name),
        format!("# topic:         {}", stack.resources.topic_arn),
        format!(
            "# emulator:      {}",
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "(AWS_ENDPOINT_URL unset)".into())
        ),
        format!("# rules:         {}", stack.rule_names().join(", ")),
    ]);
    crate::output::print(&format!("{}\n", out.join("\n")))?;
    eprintln!(
        "cordon: local stack up ({} execution(s) resumed from {}); Ctrl-C or SIGTERM stops it",
        stack.sfn.resumed_executions(),
        options.stack.db.display()
    );
    let (stop_mail, stop_mail_rx) = watch::channel(false);
    let mail = tokio::spawn(print_notifications(
        stack.sdk.clone(),
        stack.resources.tap_queue_url.clone(),
        format!("{}/a/", stack.approval.url),
        stop_mail_rx,
    ));

    wait_for_signal().await?;
    eprintln!("cordon: shutting down");
    let _ = stop_mail.send(true);
    let _ = mail.await;
    events.shutdown().await;
    let LocalStack { sfn, approval, .. } = stack;
    approval.shutdown().await;
    sfn.shutdown().await;
    Ok(())
}

/// Serves the EventBridge PutEvents API on `127.0.0.1:port` (0 picks a free port) in front
/// of `stack`'s bus, saying on stderr what each accepted entry started.
pub async fn serve_events(stack: &LocalStack, port: u16) -> anyhow::Result<PutEventsServer> {
    let region = stack
        .sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| LOCAL_REGION.to_string());
    let config = cordon_eventbridge::PutEventsConfig {
        port,
        account: LOCAL_ACCOUNT.to_string(),
        region,
        delivery_token: Some(stack.delivery_token.clone()),
    };
    cordon_eventbridge::put_events::serve(stack.bus.clone(), config, Arc::new(StderrReport))
        .await
        .with_context(|| format!("binding the PutEvents API to 127.0.0.1:{port}"))
}

/// Says on stderr what the PutEvents API did with each accepted entry.
struct StderrReport;

impl PutEventsObserver for StderrReport {
    fn delivered(&self, event: &Event, deliveries: &[Delivery]) {
        let what = describe(event);
        if deliveries.is_empty() {
            eprintln!(
                "cordon: PutEvents: no rule matched event {} ({what}); accepted, nothing started",
                event.id()
            );
        }
        for d in deliveries {
            eprintln!(
                "cordon: PutEvents: event {} ({what}) matched {} -> {}",
                event.id(),
                d.rule,
                d.receipt
            );
        }
    }

    fn failed(&self, event: &Event, error: &DeliveryError) {
        eprintln!("cordon: PutEvents: event {:?}: {error}", event.id());
    }
}

fn describe(event: &Event) -> String {
    let mut text = format!("{} / {}", event.source(), event.detail_type());
    if let Some(name) = event.detail()["eventName"].as_str() {
        text.push_str(&format!(" / {name}"));
    }
    text
}

/// Reads what the workflow published to the topic (through the stack's SQS tap, consuming
/// it) and prints each notification, and the link of every approval request, to stderr:
/// locally there is no email.
async fn print_notifications(
    sdk: aws_config::SdkConfig,
    queue_url: String,
    approval_prefix: String,
    mut stop: watch::Receiver<bool>,
) {
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut warned = false;
    loop {
        match sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
        {
            Ok(out) => {
                warned = false;
                for m in out.messages.unwrap_or_default() {
                    let envelope: Value =
                        serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
                    let attribute = |k: &str| {
                        envelope["MessageAttributes"][k]["Value"]
                            .as_str()
                            .unwrap_or("-")
                    };
                    eprintln!(
                        "cordon: notified [{}] {}",
                        attribute("severity"),
                        envelope["Subject"].as_str().unwrap_or_default()
                    );
                    let body = envelope["Message"].as_str().unwrap_or_default();
                    if attribute("kind") == "approvalRequest"
                        && let Some(start) = body.find(&approval_prefix)
                    {
                        let link: String = body[start..]
                            .chars()
                            .take_while(|c| !c.is_whitespace())
                            .collect();
                        eprintln!("cordon: approve or reject at {link}");
                    }
                    if let Some(handle) = m.receipt_handle() {
                        let _ = sqs
                            .delete_message()
                            .queue_url(&queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await;
                    }
                }
            }
            Err(e) if !warned => {
                warned = true;
                eprintln!(
                    "cordon: cannot read the notifications from {queue_url}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            r = tokio::signal::ctrl_c() => r,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
