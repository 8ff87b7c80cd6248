//! The reverse check: every `Allow` entry of every function's policies is needed by some
//! call the function made. An action entry is needed when a recorded request of that
//! function matches it and its statement applies to that request; a resource entry, when
//! a request the statement applies to matches it.
use cordon::local::LocalTemplate;
use cordon_aws::access::{CallLog, Mode, RecordedCall};
use cordon_core::iam::evaluate::applies;
use cordon_core::iam::pattern::{action_matches, arn_matches};
use cordon_core::iam::{Effect, Request};

/// `<statement>: <what> is not needed` for every unneeded entry.
pub fn wider_than_needed(template: &LocalTemplate, calls: &[RecordedCall]) -> Vec<String> {
    let mut out = Vec::new();
    let log = CallLog::new();
    for function in template.template.functions() {
        let Some(binary) = function.binary.as_deref() else {
            continue;
        };
        let local = template
            .function(binary, Mode::Record, &log)
            .unwrap_or_else(|e| panic!("{e:#}"));
        let requests: Vec<&Request> = calls
            .iter()
            .filter(|c| c.function == function.logical_id && c.decision.is_allowed())
            .map(|c| &c.request)
            .collect();
        for statement in local.access.policies.statements() {
            if statement.effect != Effect::Allow {
                continue;
            }
            let used: Vec<&&Request> = requests.iter().filter(|r| applies(statement, r)).collect();
            if used.is_empty() {
                out.push(format!(
                    "{}: no call of {} needs this statement",
                    statement.label, function.logical_id
                ));
                continue;
            }
            if !statement.not_action {
                for action in &statement.actions {
                    if !used.iter().any(|r| action_matches(action, &r.action)) {
                        out.push(format!(
                            "{}: action {action} is not needed by any call of {}",
                            statement.label, function.logical_id
                        ));
                    }
                }
            }
            if !statement.not_resource {
                for resource in &statement.resources {
                    if !used.iter().any(|r| arn_matches(resource, &r.resource)) {
                        out.push(format!(
                            "{}: resource {resource} is not needed by any call of {}",
                            statement.label, function.logical_id
                        ));
                    }
                }
            }
        }
    }
    out
}
