//! `cordon demo`: the main job, end to end, on the local stack. An attacker (the compromised
//! IAM user `jdoe`) really creates a backdoor user in the emulated IAM; the CloudTrail event
//! is delivered through the template's EventBridge rules; the workflow runs on the engine
//! with the real task handlers; a human approves from the emailed link; and the demo ends
//! by reading back the quarantined user, the notifications and the audit record.
use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use cordon_loopback::Client;
use serde_json::Value;

use crate::local::{LocalStack, LocalStackOptions};
use crate::simulate;

/// Prints a line of the story. A closed pipe (`cordon demo | head`) is not an error: the
/// demo still runs to its end (and stops what it started) and prints nothing more.
macro_rules! say {
    ($($arg:tt)*) => {
        let _ = crate::output::line(&format!($($arg)*));
    };
}

pub struct DemoOptions {
    pub stack: LocalStackOptions,
    /// Approve from the emailed link with an HTTP POST, as a browser would.
    pub approve: bool,
    /// How long to wait for a human when not approving automatically.
    pub approval_wait: Duration,
}

fn line(label: &str, text: impl std::fmt::Display) {
    say!("  {label:<12} {text}");
}

fn heading(text: &str) {
    say!("\n== {text}");
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    heading("Local stack");
    let stack = LocalStack::start(&options.stack).await?;
    line(
        "emulator",
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "(AWS_ENDPOINT_URL unset)".into()),
    );
    line(
        "engine",
        format!("Step Functions API on {}", stack.sfn.endpoint()),
    );
    line("approvals", &stack.approval.url);
    line("table", &stack.resources.table_name);
    line("topic", &stack.resources.topic_arn);
    line("rules", stack.rule_names().join(", "));

    heading("Attack: the compromised user jdoe creates a backdoor user");
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let attacker = simulate::compromised_jdoe(&iam, crate::local::LOCAL_ACCOUNT).await?;
    let name = simulate::free_user_name(&iam, "support-admin").await?;
    let created = simulate::create_backdoor_user(&iam, &name).await?;
    line("created", format!("{} ({})", created.arn, created.user_id));
    let event = simulate::create_user_event(&attacker, &created, chrono::Utc::now());
    line(
        "event",
        format!(
            "{} / {} by {} from {}",
            event["detail-type"].as_str().unwrap_or(""),
            event["detail"]["eventName"].as_str().unwrap_or(""),
            attacker.user_name,
            attacker.source_ip
        ),
    );

    heading("EventBridge");
    let started = stack.put_event(&event).await?;
    if started.is_empty() {
        bail!("no rule in infra/template.yaml matched the simulated event");
    }
    for s in &started {
        line("matched", format!("{} -> {}", s.rule, s.execution_arn));
    }
    let execution_arn = started[0].execution_arn.clone();

    heading("Workflow");
    let status = follow(&stack, &execution_arn, &options).await?;
    line("status", &status);

    let incident_id = cordon_core::incident::incident_id_for_event(
        event["detail"]["eventID"].as_str().unwrap_or_default(),
    );
    show_user(&stack, &name).await?;
    show_messages(&stack).await?;
    show_record(&stack, &incident_id).await?;
    if status != "SUCCEEDED" {
        bail!("the workflow ended {status}");
    }
    Ok(())
}

/// Prints a line per state as it happens; handles the approval when the workflow waits.
async fn follow(
    stack: &LocalStack,
    execution_arn: &str,
    options: &DemoOptions,
) -> anyhow::Result<String> {
    let mut seen = 0usize;
    let mut approval_handled = false;
    let deadline = tokio::time::Instant::now() + options.approval_wait + Duration::from_secs(120);
    loop {
        let history = stack
            .sfn_client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .send()
            .await
            .context("reading the execution history")?;
        let events = history.events();
        for e in events.iter().skip(seen) {
            let t = e.timestamp.secs();
            let time = chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%H:%M:%S").to_string())
                .unwrap_or_default();
            if let Some(d) = e.state_entered_event_details() {
                say!("  {time}  -> {}", d.name());
            } else if let Some(d) = e.task_failed_event_details() {
                say!("  {time}     task failed: {} ", d.error().unwrap_or(""));
            } else if let Some(d) = e.execution_failed_event_details() {
                say!(
                    "  {time}  x  execution failed: {} {}",
                    d.error().unwrap_or(""),
                    d.cause().unwrap_or("")
                );
            } else if e.r#type().as_str() == "ExecutionSucceeded" {
                say!("  {time}  ok execution succeeded");
            }
        }
        seen = events.len();
        let described = stack
            .sfn_client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .context("describing the execution")?;
        let status = described.status().as_str().to_string();
        if status != "RUNNING" {
            return Ok(status);
        }
        let waiting_for_approval = events
            .iter()
            .rev()
            .find_map(|e| {
                e.state_entered_event_details()
                    .map(|d| d.name().to_string())
            })
            .is_some_and(|name| name == "RequestApproval");
        if waiting_for_approval
            && !approval_handled
            && let Some(link) = approval_link(stack).await?
        {
            approval_handled = true;
            line("approve at", &link);
            if options.approve {
                approve_like_a_browser(&link).await?;
            } else {
                say!(
                    "  waiting up to {}s for someone to open the link and approve...",
                    options.approval_wait.as_secs()
                );
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the workflow is still running after the demo's time limit");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The approval link from the approval-request email, read back through the tap queue.
async fn approval_link(stack: &LocalStack) -> anyhow::Result<Option<String>> {
    for message in messages(stack, false).await? {
        if message.kind.as_deref() != Some("approvalRequest") {
            continue;
        }
        let prefix = format!("{}/a/", stack.approval.url);
        if let Some(start) = message.body.find(&prefix) {
            let link: String = message.body[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            return Ok(Some(link));
        }
    }
    Ok(None)
}

/// Decides through the page as a browser would (`local::browser`), printing both steps.
async fn approve_like_a_browser(link: &str) -> anyhow::Result<()> {
    let decided = crate::local::browser::decide(
        &Client::new(),
        link,
        "approve",
        "demo-operator",
        "cordon-demo (like a browser)",
    )
    .await?;
    line(
        "GET",
        format!(
            "{} ({} bytes of confirmation page)",
            decided.page_status, decided.page_bytes
        ),
    );
    line(
        "POST",
        format!("{} {}", decided.answer.status, decided.title()),
    );
    if decided.answer.status != 200 {
        bail!("the approval was refused ({})", decided.answer.status);
    }
    Ok(())
}

struct Published {
    subject: String,
    body: String,
    kind: Option<String>,
    severity: Option<String>,
}

/// Messages published to the topic so far. With `consume`, they are deleted from the tap.
async fn messages(stack: &LocalStack, consume: bool) -> anyhow::Result<Vec<Published>> {
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&stack.resources.tap_queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(if consume { 30 } else { 0 })
            .send()
            .await
            .context("reading the topic's tap queue")?;
        let batch = received.messages.unwrap_or_default();
        let mut fresh = 0;
        for m in batch {
            let id = m.message_id().unwrap_or_default().to_string();
            if !seen.insert(id) {
                continue;
            }
            fresh += 1;
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null);
            let attribute = |k: &str| {
                envelope["MessageAttributes"][k]["Value"]
                    .as_str()
                    .map(str::to_string)
            };
            out.push(Published {
                subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                body: envelope["Message"].as_str().unwrap_or_default().to_string(),
                kind: attribute("kind"),
                severity: attribute("severity"),
            });
            if consume && let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&stack.resources.tap_queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .context("deleting a read message")?;
            }
        }
        if fresh == 0 {
            break;
        }
    }
    Ok(out)
}

async fn show_user(stack: &LocalStack, name: &str) -> anyhow::Result<()> {
    heading(&format!("IAM: the backdoor user {name}, read back"));
    let iam = aws_sdk_iam::Client::new(&stack.sdk);
    let attached = iam
        .list_attached_user_policies()
        .user_name(name)
        .send()
        .await
        .context("listing policies")?;
    for p in attached.attached_policies() {
        line(
            "policy",
            format!(
                "{} ({})",
                p.policy_name().unwrap_or(""),
                p.policy_arn().unwrap_or("")
            ),
        );
    }
    let tags = iam
        .list_user_tags()
        .user_name(name)
        .send()
        .await
        .context("listing tags")?;
    for t in tags.tags() {
        line("tag", format!("{}={}", t.key(), t.value()));
    }
    Ok(())
}

async fn show_messages(stack: &LocalStack) -> anyhow::Result<()> {
    heading("SNS: what the security team received");
    for m in messages(stack, true).await? {
        line(
            m.kind.as_deref().unwrap_or("message"),
            format!("[{}] {}", m.severity.as_deref().unwrap_or("-"), m.subject),
        );
        for body_line in m.body.lines().take(14) {
            say!("               | {body_line}");
        }
    }
    Ok(())
}

async fn show_record(stack: &LocalStack, incident_id: &str) -> anyhow::Result<()> {
    use cordon_aws::IncidentStore;
    heading(&format!("DynamoDB: the audit record {incident_id}"));
    let store =
        cordon_aws::Aws::new(stack.sdk.clone()).incident_store(stack.resources.table_name.clone());
    let record = store
        .get(incident_id)
        .await?
        .context("the incident is not in the audit table")?;
    line("status", record.status.as_str());
    line("rule", record.rule.as_deref().unwrap_or("-"));
    line(
        "severity",
        record
            .severity
            .map(|s| format!("{s:?}").to_lowercase())
            .unwrap_or_default(),
    );
    line(
        "principal",
        record
            .principal
            .as_ref()
            .and_then(|p| p.arn.clone())
            .unwrap_or_default(),
    );
    line(
        "actor",
        record
            .actor
            .as_ref()
            .and_then(|a| a.arn.clone())
            .unwrap_or_default(),
    );
    if let Some(approval) = &record.approval {
        line("approval", serde_json::to_value(approval)?);
    }
    for entry in store.timeline(incident_id).await? {
        let mut text = format!(
            "{}  {:<12} {}",
            entry.at.format("%H:%M:%S%.3f"),
            entry.step,
            entry.message
        );
        if let Some(by) = entry.details.as_ref().and_then(|d| d.get("decidedBy")) {
            text.push_str(&format!(" (by {by})"));
        }
        line("timeline", text);
    }
    Ok(())
}
