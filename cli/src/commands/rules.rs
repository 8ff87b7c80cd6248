//! `cordon rules test | list`: the EventBridge rules, for people who write their own.
//!
//! - `test` answers whether an event pattern matches an event with EventBridge's
//!   semantics, through the matcher the local stack routes with
//!   (`cordon_eventbridge::EventPattern`), as `aws events test-event-pattern` does;
//! - `list` reads the rules of `infra/template.yaml` through the one template reader, as
//!   `cordon local up` deploys them, and says which rule ids each feeds ([`feeds`]).
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args as ClapArgs, Subcommand};
use cordon_core::classify::{self, Classification, DETECTORS, rules};
use cordon_eventbridge::{EventPattern, Rule, RuleState};
use serde_json::{Value, json};

use super::{Context, Format};
use crate::local::{LOCAL_ACCOUNT, LOCAL_REGION, LocalTemplate};
use crate::output::{self, table};

/// The exit code of an invalid pattern or event, as the AWS CLI exits on a service error.
pub const INVALID_EXIT: u8 = 254;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Whether an event pattern matches an event, with EventBridge's semantics (the matcher
    /// the local stack routes with), like `aws events test-event-pattern`. Prints true or
    /// false (`{"Result": …}` with --output json) and exits 0 either way. An invalid
    /// pattern or event is refused as EventBridge refuses it
    /// (InvalidEventPatternException), with exit code 254 as the AWS CLI's.
    Test {
        /// The event pattern (JSON file; `-` reads stdin).
        #[arg(long)]
        pattern: PathBuf,
        /// The event (JSON file; `-` reads stdin): an EventBridge envelope with id,
        /// account, source, time, region and detail-type.
        #[arg(long)]
        event: PathBuf,
    },
    /// Every EventBridge rule of the template, as `cordon local up` deploys it, with the
    /// rule ids it feeds (the detections that can raise an incident from what it routes).
    List {
        /// The SAM template holding the EventBridge rules.
        #[arg(long, default_value = "infra/template.yaml")]
        template: PathBuf,
    },
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    match args.command {
        RulesCommand::Test { pattern, event } => test(&pattern, &event, ctx.format()),
        RulesCommand::List { template } => list(&template, ctx.format()),
    }
}

/// Reads `path`, or stdin for `-`.
pub fn read_input(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .with_context(|| format!("reading the {what} from stdin"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

/// The fields `TestEventPattern` requires of an event (`resources` is documented as
/// required too, but EventBridge accepts an event without it).
const REQUIRED_EVENT_FIELDS: &[&str] =
    &["id", "account", "source", "time", "region", "detail-type"];

fn refuse(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!(
        "An error occurred (InvalidEventPatternException) when calling the TestEventPattern \
         operation: {message}"
    );
    Ok(ExitCode::from(INVALID_EXIT))
}

fn test(pattern: &PathBuf, event: &PathBuf, format: Format) -> anyhow::Result<ExitCode> {
    let pattern_text = read_input(pattern, "pattern")?;
    let event_text = read_input(event, "event")?;
    let pattern = match EventPattern::parse_str(&pattern_text) {
        Ok(p) => p,
        Err(e) => return refuse(&format!("Event pattern is not valid. Reason: {e}")),
    };
    let event: Value = match serde_json::from_str(&event_text) {
        Ok(v @ Value::Object(_)) => v,
        _ => return refuse("Parameter Event is not valid."),
    };
    if REQUIRED_EVENT_FIELDS.iter().any(|f| event.get(f).is_none()) {
        return refuse("Parameter Event is not valid.");
    }
    let matched = pattern.matches(&event);
    match format {
        Format::Json => output::json(&json!({ "Result": matched }))?,
        Format::Table => output::line(if matched { "true" } else { "false" })?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The name `State` has in the template.
fn state_name(state: RuleState) -> &'static str {
    match state {
        RuleState::Enabled => "ENABLED",
        RuleState::Disabled => "DISABLED",
        RuleState::EnabledWithAllCloudTrailManagementEvents => {
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
        }
    }
}

/// `aws.iam` for `iam.amazonaws.com`: the EventBridge source of a CloudTrail event source.
fn source_of(event_source: &str) -> String {
    format!(
        "aws.{}",
        event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(event_source)
    )
}

/// A CloudTrail record of the call `event_name` to `event_source` by an identity of type
/// `identity`, in `account`: what a rule is asked whether it can route.
fn probe(account: &str, event_source: &str, event_name: &str, identity: &str) -> Value {
    let detail_type = if event_source.starts_with("signin.") {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000000",
        "detail-type": detail_type,
        "source": source_of(event_source),
        "account": account,
        "time": "2024-09-27T14:05:02Z",
        "region": LOCAL_REGION,
        "resources": [],
        "detail": {
            "eventSource": event_source,
            "eventName": event_name,
            "userIdentity": {"type": identity},
            "readOnly": false,
            "managementEvent": true,
            "eventCategory": "Management",
            "recipientAccountId": account,
        }
    })
}

/// Whether `rule` routes some event of the call `probe` names (the same source, call and
/// identity type), however the rest of the event looks: one of the pattern's examples
/// made from it keeps them.
fn routes_call(rule: &Rule, probe: &Value) -> bool {
    let keeps = |e: &Value| {
        e["source"] == probe["source"]
            && e["detail"]["eventSource"] == probe["detail"]["eventSource"]
            && e["detail"]["eventName"] == probe["detail"]["eventName"]
            && e["detail"]["userIdentity"]["type"] == probe["detail"]["userIdentity"]["type"]
    };
    rule.pattern
        .examples(probe)
        .iter()
        .any(|x| keeps(&x.event) && rule.receives(&x.event))
}

/// A call to a service no detector watches, for root's writes (`root.api-call`).
const UNWATCHED_SERVICE: &str = "s3.amazonaws.com";
/// A call no detector claims.
const UNCLAIMED_CALL: &str = "PutBucketPolicy";

/// The rule ids `rule` (resolved for `account`) feeds: those of every detector
/// (`cordon_core::classify::DETECTORS`) whose calls it can route, by an IAM user or by
/// root; `root.api-call` when it routes root's writes that no detector claims; and, where
/// it routes console sign-ins, the failed sign-in counter's
/// `signin.console-login-after-failures`.
pub fn feeds(rule: &Rule, account: &str) -> BTreeSet<&'static str> {
    let mut ids = BTreeSet::new();
    for detector in DETECTORS {
        for name in detector.event_names {
            let routed = ["IAMUser", "Root"]
                .iter()
                .any(|who| routes_call(rule, &probe(account, detector.event_source, name, who)));
            if routed {
                ids.extend(detector.rules.iter().copied());
                if *name == "ConsoleLogin" {
                    ids.insert(rules::CONSOLE_LOGIN_AFTER_FAILURES);
                }
            }
        }
    }
    let sources: BTreeSet<&str> = DETECTORS
        .iter()
        .map(|d| d.event_source)
        .filter(|s| !s.starts_with("signin."))
        .chain([UNWATCHED_SERVICE])
        .collect();
    let root_writes = sources.iter().any(|source| {
        let name = if *source == UNWATCHED_SERVICE {
            UNCLAIMED_CALL
        } else {
            "UnclaimedWriteCall"
        };
        classify::detector_for(source, name).is_none()
            && routes_call(rule, &probe(account, source, name, "Root"))
    });
    if root_writes {
        ids.insert(rules::ROOT_API_CALL);
    }
    ids
}

/// The rule ids a schedule feeds: the classifier's decision on its event (the MFA audit's
/// trigger), and the findings the audit raises.
fn schedule_feeds(logical_id: &str) -> Vec<&'static str> {
    let event = json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": "2024-09-28T06:00:00Z",
        "region": LOCAL_REGION,
        "resources": [format!("arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT}:rule/{logical_id}")],
        "detail": {},
    });
    let home = cordon_core::model::AccountId::parse(LOCAL_ACCOUNT).expect("the local account");
    match classify::classify(&event, &home) {
        Ok(Classification::AuditTrigger { .. }) => std::iter::once(rules::SCHEDULED_MFA_AUDIT)
            .chain(rules::AUDIT_RULES.iter().copied())
            .collect(),
        _ => Vec::new(),
    }
}

/// One row of `cordon rules list`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub rule: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub targets: Vec<String>,
    pub rule_ids: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Every rule of the template at `path`, as the local stack deploys it, with what it feeds.
pub fn listed(path: &std::path::Path) -> anyhow::Result<Vec<Listed>> {
    let local = LocalTemplate::load(path, &Default::default())
        .with_context(|| format!("reading the rules of {} (pass --template)", path.display()))?;
    let all = cordon_eventbridge::Rules::from_template(&local.template, &local.values)?;
    let targets = |t: &[cordon_eventbridge::RuleTarget]| -> Vec<String> {
        t.iter()
            .filter_map(|t| t.logical_id().map(str::to_string))
            .collect()
    };
    let mut out: Vec<Listed> = all
        .rules
        .iter()
        .map(|r| Listed {
            rule: r.logical_id.clone(),
            state: state_name(r.state),
            schedule: r.schedule_expression.clone(),
            targets: targets(&r.targets),
            rule_ids: feeds(r, LOCAL_ACCOUNT).into_iter().collect(),
            description: r.description.clone(),
        })
        .collect();
    out.extend(all.schedules.iter().map(|s| Listed {
        rule: s.logical_id.clone(),
        state: state_name(s.state),
        schedule: Some(s.schedule_expression.clone()),
        targets: targets(&s.targets),
        rule_ids: schedule_feeds(&s.logical_id),
        description: s.description.clone(),
    }));
    Ok(out)
}

fn list(path: &std::path::Path, format: Format) -> anyhow::Result<ExitCode> {
    let rows = listed(path)?;
    if format == Format::Json {
        output::json(&json!({ "rules": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table::Table::new(vec![
        table::Column::new("RULE", 12),
        table::Column::optional("STATE", 7),
        table::Column::optional("SCHEDULE", 8),
        table::Column::new("RULE IDS", 20),
    ]);
    for r in rows {
        t.push(vec![
            r.rule,
            r.state.to_string(),
            r.schedule.unwrap_or_else(|| "-".into()),
            r.rule_ids.join(", "),
        ]);
    }
    output::print(&t.render(output::width()))?;
    Ok(ExitCode::SUCCESS)
}
